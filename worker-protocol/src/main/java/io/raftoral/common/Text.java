package io.raftoral.common;

/**
 * Checks on text that names things (workflow ids, types, checkpoint keys). Every surface sends
 * text as UTF-8; a Java string with an unpaired surrogate has no UTF-8 form, and encoding it
 * silently turns that char into '?', so such a name would be stored as another one.
 */
public final class Text {
  private Text() {}

  /**
   * Returns {@code s} when it is well-formed UTF-16 (every surrogate paired).
   *
   * @throws Errors.InvalidArgumentException naming {@code what} and the first bad index
   */
  public static String requireWellFormed(String what, String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new Errors.InvalidArgumentException(what + " is not valid Unicode: an unpaired surrogate at index " + i);
      }
    }
    return s;
  }
}
