package io.raftoral.bench;

import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.WorkflowDefinition;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * The {@code bigstate} workload on one fresh cluster: one {@link BigState} workflow of {@code
 * checkpoints} values of {@code valueBytes} over {@code keys} keys, paused after every {@code
 * heapEvery} so that the live heap of every node (used right after a full GC) is taken at exactly
 * that many committed checkpoints, with the workflow still running. Then the history queries on the
 * finished workflow, then a clean stop of every node and the bytes of its state stores on disk.
 * Progress goes to stderr; the result is one {@link Row}.
 */
final class BigStateBench {
  /** How long one stretch of {@code heapEvery} checkpoints may take before the run is given up. */
  static final Duration SEGMENT_TIMEOUT = Duration.ofMinutes(10);
  /** Each history query is timed this many times; the row shows the median. */
  static final int QUERY_REPEATS = 5;
  /** The page size of the timed history queries. */
  static final int PAGE = 100;
  /** Checkpoints of the small workflow that runs first; the state stores hold them too. */
  static final int WARM_UP = 1_000;

  private BigStateBench() {}

  /** What one workflow measured. Heaps in MB per node; history latencies in ms (median of {@link #QUERY_REPEATS}). */
  record Row(String mode, int nodes, ExecutionMode execution, int keys, int checkpoints, int valueBytes,
      double checkpointsPerSecond, double[] heapBefore, double[] heapLast, double[] heapMax, long[] storeBytes,
      double firstPageMs, double middlePageMs, double keyPageMs, int intact) {
    static final String HEADER = "| workload | mode | nodes | execution | keys | checkpoints | value B | ckpt/s "
        + "| live heap MB per node: before -> at the last pause (max) | state store B/ckpt per node (warm-up's included) | history ms: first page "
        + "| middle page | one-key page | intact |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

    String markdown() {
      StringBuilder heap = new StringBuilder();
      for (int i = 0; i < heapBefore.length; i++) {
        heap.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.0f -> %.0f (%.0f)", heapBefore[i], heapLast[i], heapMax[i]));
      }
      String store = Arrays.stream(storeBytes).mapToObj(b -> String.format(Locale.ROOT, "%.0f", b / (double) (checkpoints + WARM_UP)))
          .collect(Collectors.joining(" / "));
      return String.format(Locale.ROOT, "| bigstate | %s | %d | %s | %d | %d | %d | %.0f | %s | %s | %.1f | %.1f | %.1f | %d |",
          mode, nodes, execution, keys, checkpoints, valueBytes, checkpointsPerSecond, heap, store, firstPageMs, middlePageMs,
          keyPageMs, intact);
    }

    String json() {
      return String.format(Locale.ROOT, "{\"workload\":\"bigstate\",\"mode\":\"%s\",\"nodes\":%d,\"execution\":\"%s\",\"keys\":%d,"
              + "\"checkpoints\":%d,\"value_bytes\":%d,\"checkpoints_per_s\":%.1f,\"live_heap_mb_before\":%s,\"live_heap_mb_last\":%s,"
              + "\"live_heap_mb_max\":%s,\"state_store_bytes\":%s,\"history_first_page_ms\":%.2f,\"history_middle_page_ms\":%.2f,"
              + "\"history_key_page_ms\":%.2f,\"intact\":%d}",
          mode, nodes, execution, keys, checkpoints, valueBytes, checkpointsPerSecond, array(heapBefore), array(heapLast),
          array(heapMax), Arrays.toString(storeBytes), firstPageMs, middlePageMs, keyPageMs, intact);
    }

    private static String array(double[] values) {
      return Arrays.stream(values).mapToObj(v -> String.format(Locale.ROOT, "%.1f", v)).collect(Collectors.joining(",", "[", "]"));
    }
  }

  static Row run(Target target, ExecutionMode execution, int keys, int checkpoints, int valueBytes, int heapEvery)
      throws Exception {
    WorkflowDefinition<BigState.Input, Integer> definition =
        execution == ExecutionMode.OWNER_ONLY ? BigState.OWNER_ONLY : BigState.HOT_STANDBY;
    String label = String.format(Locale.ROOT, "bigstate %s, %d key(s), %d nodes (%s)", execution, keys, target.size(), target.mode());
    // A small one first, so that the JIT and the heaps are past their start-up growth when "before" is taken.
    String warmUp = "bigstate-warm-up-" + System.nanoTime();
    target.startBigState(definition, warmUp, BigState.Input.of(WARM_UP, 10, valueBytes));
    target.awaitBigState(warmUp, Duration.ofMinutes(5));

    Path pauses = Files.createTempDirectory("raftoral-bigstate-");
    try {
      double[] before = target.liveHeapMb();
      double[] max = before.clone();
      double[] last = before;
      System.err.printf(Locale.ROOT, "%s: before: live heap MB %s, RSS MB %s%n", label, mb(before), mb(target.rssMb()));
      String id = "bigstate-" + System.nanoTime();
      long running = 0; // nanoseconds the workflow ran, pauses excluded
      long resumed = System.nanoTime();
      target.startBigState(definition, id, new BigState.Input(checkpoints, keys, valueBytes, heapEvery, pauses.toString()));
      for (int n = Math.min(heapEvery, checkpoints); ; n = Math.min(n + heapEvery, checkpoints)) {
        awaitPause(target, id, pauses.resolve("at-" + n), n);
        running += System.nanoTime() - resumed;
        last = target.liveHeapMb();
        for (int i = 0; i < max.length; i++) {
          max[i] = Math.max(max[i], last[i]);
        }
        System.err.printf(Locale.ROOT, "%s: %,d checkpoints: live heap MB %s, RSS MB %s; %.0f ckpt/s so far%n",
            label, n, mb(last), mb(target.rssMb()), n / (running / 1e9));
        resumed = System.nanoTime();
        Files.writeString(pauses.resolve("go-" + n), "");
        if (n == checkpoints) {
          break;
        }
      }
      int intact = target.awaitBigState(id, SEGMENT_TIMEOUT);
      running += System.nanoTime() - resumed;
      WorkflowInfo info = target.describe(id);
      System.err.printf(Locale.ROOT, "%s: %s, %,d checkpoints recorded (pauses included), %,d of %,d values intact%n",
          label, info.status(), info.checkpointCount(), intact, checkpoints);

      double first = medianMillis(() -> target.history(id, new HistoryQuery(null, PAGE, null)));
      String middle = middleToken(target, id, checkpoints / 2, label);
      double middlePage = medianMillis(() -> target.history(id, new HistoryQuery(null, PAGE, middle)));
      double keyPage = medianMillis(() -> target.history(id, new HistoryQuery(BigState.key(0, keys), PAGE, null)));

      long[] store = target.stopAndMeasureStateStores();
      System.err.printf(Locale.ROOT, "%s: state stores on disk after a clean stop, bytes per node %s (%.0f B per checkpoint on node 1, the warm-up's %,d included)%n",
          label, Arrays.toString(store), store[0] / (double) (checkpoints + WARM_UP), WARM_UP);
      return new Row(target.mode(), target.size(), execution, keys, checkpoints, valueBytes, checkpoints / (running / 1e9),
          before, last, max, store, first, middlePage, keyPage, intact);
    } finally {
      Target.deleteTree(pauses);
    }
  }

  /** Until the run has created {@code file}; fails when the workflow ended or {@link #SEGMENT_TIMEOUT} passed. */
  private static void awaitPause(Target target, String id, Path file, int n) throws InterruptedException {
    long deadline = System.nanoTime() + SEGMENT_TIMEOUT.toNanos();
    long nextCheck = 0;
    while (!Files.exists(file)) {
      if (System.nanoTime() > nextCheck) {
        WorkflowInfo info = target.describe(id);
        if (info.status() != WorkflowStatus.RUNNING) {
          throw new IllegalStateException("bigstate " + id + " ended before " + n + " checkpoints: " + info);
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("bigstate " + id + " did not reach " + n + " checkpoints within "
              + SEGMENT_TIMEOUT.toMinutes() + " min; " + info.checkpointCount() + " recorded; live heap MB per node now "
              + mb(target.liveHeapMb()));
        }
        nextCheck = System.nanoTime() + 1_000_000_000L;
      }
      Thread.sleep(5);
    }
  }

  /**
   * Reads every key's history page after page ({@link HistoryQuery#MAX_LIMIT} per page) until at
   * least {@code entries} entries, and returns the token there: a page deep in the workflow.
   */
  private static String middleToken(Target target, String id, int entries, String label) {
    long t0 = System.nanoTime();
    int read = 0;
    int pages = 0;
    String token = null;
    while (read < entries) {
      HistoryPage page = target.history(id, new HistoryQuery(null, HistoryQuery.MAX_LIMIT, token));
      read += page.entries().size();
      pages++;
      token = page.nextPageToken();
      if (token == null) {
        throw new IllegalStateException("bigstate " + id + ": the history ended after " + read + " entries");
      }
    }
    double s = (System.nanoTime() - t0) / 1e9;
    System.err.printf(Locale.ROOT, "%s: history read to entry %,d in %d pages: %.2f s (%.0f entries/s)%n", label, read, pages, s, read / s);
    return token;
  }

  private static double medianMillis(Callable<HistoryPage> query) throws Exception {
    double[] ms = new double[QUERY_REPEATS];
    for (int i = 0; i < ms.length; i++) {
      long t0 = System.nanoTime();
      if (query.call().entries().isEmpty()) {
        throw new IllegalStateException("a history query returned no entries");
      }
      ms[i] = (System.nanoTime() - t0) / 1e6;
    }
    Arrays.sort(ms);
    return ms[ms.length / 2];
  }

  private static String mb(double[] values) {
    List<String> each = new ArrayList<>();
    for (double v : values) {
      each.add(String.format(Locale.ROOT, "%.0f", v));
    }
    return String.join(" / ", each) + String.format(Locale.ROOT, " (sum %.0f)", Arrays.stream(values).sum());
  }
}
