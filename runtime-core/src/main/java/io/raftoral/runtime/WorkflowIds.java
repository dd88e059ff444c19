package io.raftoral.runtime;

import java.util.UUID;

/**
 * Generated workflow ids carry the index of the execution group their start was placed in:
 * {@code g<index>-<uuid>} (decimal index without leading zeros, lowercase canonical UUID), so
 * a lookup finds the group from the id alone. A caller-chosen id that happens to have this form
 * is still claimed like any other (its claim wins over the index it seems to carry), so a
 * foreign id never routes a call to a group that does not hold it.
 */
final class WorkflowIds {
  /** The highest group index an id may carry (indices are small; this bounds the parse). */
  static final int MAX_INDEX = 999_999;
  private static final int UUID_LENGTH = 36;

  private WorkflowIds() {}

  /** A new id for a workflow placed in group {@code index}. */
  static String generate(int index) {
    if (index < 0 || index > MAX_INDEX) {
      throw new IllegalArgumentException("group index out of range: " + index);
    }
    return "g" + index + "-" + UUID.randomUUID();
  }

  /** The group index a generated id carries, or -1 when {@code id} does not have the generated form. */
  static int groupIndex(String id) {
    if (id == null || id.length() < 3 + UUID_LENGTH || id.charAt(0) != 'g') {
      return -1;
    }
    int dash = id.length() - UUID_LENGTH - 1;
    if (id.charAt(dash) != '-' || dash < 2 || dash > 7) {
      return -1; // 1 to 6 digits
    }
    String digits = id.substring(1, dash);
    if (digits.length() > 1 && digits.charAt(0) == '0') {
      return -1;
    }
    int index = 0;
    for (int i = 0; i < digits.length(); i++) {
      char c = digits.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      index = index * 10 + (c - '0');
    }
    return isCanonicalUuid(id.substring(dash + 1)) ? index : -1;
  }

  /** Exactly 8-4-4-4-12 lowercase hex digits, as {@link UUID#toString()} writes them. */
  private static boolean isCanonicalUuid(String s) {
    for (int i = 0; i < UUID_LENGTH; i++) {
      char c = s.charAt(i);
      boolean dash = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }
}
