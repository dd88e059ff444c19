package io.raftoral.faults;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the clients and the nemesis did and saw, in the order it happened: one JSON object per
 * event ({@code op}: start, await, terminate, list, fault, heal, recovered, final), each with
 * {@code t}, milliseconds since the run began. Kept in memory for the checker and written to a
 * file line by line, so a run that dies still leaves what it saw.
 */
final class History implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();

  private final long startNanos = System.nanoTime();
  private final List<JsonNode> events = new ArrayList<>();
  private final BufferedWriter out;

  History(Path file) throws IOException {
    this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
  }

  /** A history only in memory (the checker's tests). */
  History() {
    this.out = null;
  }

  /** A new event of kind {@code op}; fill it, then {@link #add} it. */
  ObjectNode event(String op) {
    ObjectNode e = JSON.createObjectNode();
    e.put("t", (System.nanoTime() - startNanos) / 1_000_000);
    e.put("op", op);
    return e;
  }

  synchronized void add(ObjectNode event) {
    events.add(event);
    if (out != null) {
      try {
        out.write(JSON.writeValueAsString(event));
        out.newLine();
        out.flush();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  synchronized List<JsonNode> events() {
    return List.copyOf(events);
  }

  long elapsedMillis() {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }

  @Override
  public synchronized void close() throws IOException {
    if (out != null) {
      out.close();
    }
  }
}
