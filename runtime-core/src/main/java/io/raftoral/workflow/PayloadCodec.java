package io.raftoral.workflow;

/**
 * Turns workflow inputs, checkpoint values and results into bytes and back. Encoding must be
 * deterministic: equal values give equal bytes (idempotent start compares inputs as bytes).
 */
public interface PayloadCodec {
  byte[] encode(Object value);

  <T> T decode(byte[] bytes, Class<T> type);
}
