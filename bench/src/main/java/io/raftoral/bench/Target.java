package io.raftoral.bench;

import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.workflow.WorkflowDefinition;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A running cluster the load generator drives: {@link EmbeddedCluster} (nodes inside this JVM)
 * or {@link ProcessCluster} (node processes behind the gRPC client API).
 */
interface Target extends AutoCloseable {
  /** Runs one {@code seq10} workflow and returns its result. */
  @FunctionalInterface
  interface Seq10Client {
    int run(int input) throws Exception;
  }

  /** {@code embedded} or {@code processes}, as the report names it. */
  String mode();

  int size();

  /** The client with this index; clients are spread over the nodes round-robin. Thread-safe per index. */
  Seq10Client client(int index);

  /** Starts a {@link BigState} workflow (of {@code definition}'s type, version 1) on the first node. */
  void startBigState(WorkflowDefinition<BigState.Input, Integer> definition, String workflowId, BigState.Input input);

  /** Waits for a {@link BigState} workflow's result (through the first node). */
  int awaitBigState(String workflowId, Duration timeout) throws Exception;

  /** The workflow as the first node describes it. */
  WorkflowInfo describe(String workflowId);

  /** One page of the workflow's history, as the first node answers it. */
  HistoryPage history(String workflowId, HistoryQuery query);

  /**
   * Stops every node cleanly (a clean stop snapshots, which flushes each state store's memtables
   * to its files) and returns the bytes on disk of each node's state stores ({@code
   * <data-dir>/state/}, every execution group's RocksDB); {@link #close()} then only cleans up.
   */
  long[] stopAndMeasureStateStores() throws Exception;

  /** CPU seconds used so far by each process that holds nodes (embedded: this one). */
  double[] cpuSeconds();

  /** Resident set size in MB of each process that holds nodes (embedded: this one). */
  double[] rssMb();

  /** Heap in use right after a full GC (the live set), in MB, of each process that holds nodes. */
  double[] liveHeapMb();

  @Override
  void close() throws Exception;

  /**
   * The live heap of another JVM: {@code jcmd GC.run}, then the "used" of {@code jcmd
   * GC.heap_info}; 0 when it cannot be read (the process is gone, no jcmd).
   */
  static double liveHeapMb(long pid) {
    String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
    try {
      run(jcmd, Long.toString(pid), "GC.run");
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("used (\\d+)K").matcher(run(jcmd, Long.toString(pid), "GC.heap_info"));
      return m.find() ? Long.parseLong(m.group(1)) / 1024.0 : 0;
    } catch (IOException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  private static String run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    p.waitFor();
    return out;
  }

  /** Resident set size of a process from /proc (Linux), 0 elsewhere or when it is gone. */
  static double rssMb(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // not Linux, or the process is gone: report 0
    }
    return 0;
  }

  /** The bytes of the regular files under {@code dir}; 0 when it does not exist. */
  static long sizeOf(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return 0;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      long bytes = 0;
      for (Path p : paths.filter(Files::isRegularFile).toList()) {
        bytes += Files.size(p);
      }
      return bytes;
    }
  }

  /** Removes a directory tree; leftovers in the temp directory are harmless. */
  static void deleteTree(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      System.err.println("could not remove " + root + ": " + e);
    }
  }
}
