package io.raftoral.conformance;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * Bytes that are not UTF-8 as Java text. A scenario gives such a string as hex
 * ({@code "key_hex": "6b2dff"}); Java's nearest form of it is the string in which each byte
 * that is not part of valid UTF-8 becomes the lone surrogate U+DC00 + byte (Python's
 * "surrogateescape"): text no UTF-8 encoder can encode, which the API should refuse.
 */
public final class Strings {
  private Strings() {}

  public static String fromHexEscaped(String hex) {
    byte[] bytes = HexFormat.of().parseHex(hex);
    StringBuilder out = new StringBuilder();
    CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(bytes);
    CharBuffer chars = CharBuffer.allocate(bytes.length * 2 + 2);
    while (in.hasRemaining()) {
      var result = decoder.decode(in, chars, true);
      if (result.isError()) {
        for (int i = 0; i < result.length(); i++) {
          chars.put((char) (0xDC00 + (in.get() & 0xFF)));
        }
      } else {
        break;
      }
    }
    decoder.flush(chars);
    out.append(chars.flip());
    return out.toString();
  }

  /** The inverse of {@link #fromHexEscaped}, as hex. */
  public static String hex(String text) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c >= 0xDC80 && c <= 0xDCFF && !(i > 0 && Character.isHighSurrogate(text.charAt(i - 1)))) {
        out.write(c - 0xDC00);
      } else {
        int cp = text.codePointAt(i);
        out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
        i += Character.charCount(cp) - 1;
      }
    }
    return HexFormat.of().formatHex(out.toByteArray());
  }

  /** Whether {@code text} has no lone surrogate, i.e. can be encoded as UTF-8. */
  public static boolean isWellFormed(String text) {
    try {
      StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT).encode(CharBuffer.wrap(text));
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }
}
