package io.raftoral.conformance.interp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The side-effect log every node process of a cluster appends to ({@code $CONFORMANCE_LOG}):
 * one JSON line per event, written with one {@code write(2)} on a file opened with
 * {@code O_APPEND}, so the lines of concurrent processes never interleave.
 */
final class EffectLog {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final FileChannel channel;
  private final String node;

  private EffectLog(FileChannel channel, String node) {
    this.channel = channel;
    this.node = node;
  }

  /** The log named by the environment ({@code CONFORMANCE_LOG}, {@code CONFORMANCE_NODE}). */
  static EffectLog fromEnvironment() {
    String path = System.getenv("CONFORMANCE_LOG");
    String node = System.getenv().getOrDefault("CONFORMANCE_NODE", "?");
    if (path == null || path.isEmpty()) {
      throw new IllegalStateException("CONFORMANCE_LOG is not set: the conformance workflows need their side-effect log");
    }
    try {
      return new EffectLog(FileChannel.open(Path.of(path), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.APPEND), node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String node() {
    return node;
  }

  void write(String workflowId, String event, String key, long seq, int attempt, JsonNode value) {
    ObjectNode line = JSON.createObjectNode();
    line.put("wf", workflowId);
    line.put("node", node);
    line.put("ev", event);
    line.put("key", key);
    line.put("seq", seq);
    line.put("attempt", attempt);
    line.put("ms", System.currentTimeMillis()); // when: the fault matrix (faults/) measures failover with it
    if (value != null) {
      line.set("value", value);
    }
    try {
      byte[] bytes = (JSON.writeValueAsString(line) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      synchronized (channel) {
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
