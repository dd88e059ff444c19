package io.raftoral;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Side effects of compute steps, appended to a file shared by every node process ("node step"
 * per line), so a test can count how often each step ran across processes.
 */
public record StepLog(Path file) {

  public synchronized void record(long node, int step) {
    try {
      Files.writeString(file, node + " " + step + "\n", StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.SYNC);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** How many times each step ran, by step. */
  public Map<Integer, Long> countsByStep() {
    try {
      return Files.readAllLines(file).stream().filter(l -> !l.isBlank())
          .collect(Collectors.groupingBy(l -> Integer.parseInt(l.split(" ")[1]), TreeMap::new, Collectors.counting()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The nodes that ran a side effect. */
  public java.util.Set<Long> nodes() {
    try {
      return Files.readAllLines(file).stream().filter(l -> !l.isBlank())
          .map(l -> Long.parseLong(l.split(" ")[0])).collect(Collectors.toSet());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
