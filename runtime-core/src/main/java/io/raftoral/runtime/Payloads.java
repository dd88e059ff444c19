package io.raftoral.runtime;

import io.raftoral.common.Errors;
import io.raftoral.workflow.PayloadCodec;

/** Encodes user values with the node's codec (raw for {@code byte[]}) and enforces the size limit. */
public record Payloads(PayloadCodec codec, int limitBytes) {

  public byte[] encode(String what, Object value, Class<?> type) {
    byte[] bytes = type == byte[].class ? (byte[]) value : codec.encode(value);
    if (bytes == null) {
      throw new Errors.InvalidArgumentException(what + " must not be null");
    }
    check(what, bytes);
    return bytes;
  }

  @SuppressWarnings("unchecked")
  public <T> T decode(byte[] bytes, Class<T> type) {
    return type == byte[].class ? (T) bytes : codec.decode(bytes, type);
  }

  public void check(String what, byte[] bytes) {
    if (bytes.length > limitBytes) {
      throw new Errors.PayloadTooLargeException(what, bytes.length, limitBytes);
    }
  }
}
