package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.bench.BigState;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.HistoryQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 21, memory flat within one workflow: a replica holds in memory only what its local run
 * has not consumed yet and the latest value per key, not every value the workflow wrote. Three
 * node processes with 256 MiB heaps ({@link NodeProcesses}' {@code -Xmx256m}) run a
 * {@code bigstate} workflow of 100,000 checkpoints of 3 KiB: 300 MB of values on every replica,
 * which no heap of 256 MiB can hold (with 4 KiB values, the code before issue 21 stalled at
 * about 51,000 checkpoints, its old generation full); once HOT_STANDBY (every replica runs the function), then
 * OWNER_ONLY. Each completes with every value intact, and every node is still alive and answers
 * for all 100,000 checkpoints from its store. The live heap itself is measured by {@code bench/run --workload bigstate}
 * (docs/BENCHMARKS.md), not asserted here.
 */
class BigWorkflowHeapTest {
  private static final int CHECKPOINTS = 100_000;
  private static final int KEYS = 1_000;
  private static final int VALUE_BYTES = 3_072;
  /** The run fails when the workflow commits nothing for this long (a node out of memory stalls it). */
  private static final Duration STALLED = Duration.ofSeconds(60);
  private static final Duration LIMIT = Duration.ofMinutes(10);

  @Test
  void aWorkflowWritingMoreThanAHeapHoldsCompletesOnThreeNodesOf256MiB() {
    try (NodeProcesses nodes = new NodeProcesses("BigWorkflowHeapTest")) {
      nodes.bootstrap();
      nodes.startJoining();
      nodes.startJoining();
      nodes.awaitCluster(1, "three voters in one execution group", NodeProcesses::wholeOfThree);
      // HOT_STANDBY first (every replica runs the function), then OWNER_ONLY (only the owner does).
      for (String type : List.of("bigstate", "bigstate_owner_only")) {
        String id = type + "-" + System.nanoTime();
        try (RaftoralClient client = RaftoralClient.connect(nodes.apiAddress(1))) {
          client.start(type, 1, NodeProcesses.json(BigState.Input.of(CHECKPOINTS, KEYS, VALUE_BYTES)), id);
          WorkflowInfo info = awaitEnd(nodes, client, id);
          assertThat(info.status()).as("%s's end: %s", type, info).isEqualTo(WorkflowStatus.COMPLETED);
          byte[] result = client.await(id, Duration.ofSeconds(30)).resultOrThrow();
          assertThat(new String(result, StandardCharsets.UTF_8).strip()).as("values %s got back intact", type)
              .isEqualTo(Integer.toString(CHECKPOINTS));
        }
        for (int i = 1; i <= 3; i++) {
          assertEveryCheckpointOn(nodes, i, id);
        }
      }
    }
  }

  /** Node {@code i} is alive, logged no OutOfMemoryError, and answers for every checkpoint of the workflow. */
  private static void assertEveryCheckpointOn(NodeProcesses nodes, int i, String id) {
    assertThat(nodes.isAlive(i)).as("node %d is alive", i).isTrue();
    assertNoOutOfMemoryError(nodes, i, "after " + id);
    try (RaftoralClient client = RaftoralClient.connect(nodes.apiAddress(i))) {
      assertThat(client.describe(id).checkpointCount()).as("checkpoints of %s node %d describes", id, i).isEqualTo(CHECKPOINTS);
      assertThat(client.history(id, new HistoryQuery(null, HistoryQuery.DEFAULT_LIMIT, null)).entries())
          .as("node %d's first history page of %s", i, id).hasSize(HistoryQuery.DEFAULT_LIMIT);
      // Key k7 got writes 7, 1007, 2007, ...: its whole history, value by value.
      List<HistoryEntry> k7 = client.history(id, "k7");
      assertThat(k7).as("node %d's history of k7 in %s", i, id).hasSize(CHECKPOINTS / KEYS);
      for (int s = 0; s < k7.size(); s++) {
        assertThat(k7.get(s).seq()).isEqualTo(s);
        assertThat(k7.get(s).value()).as("k7#%d of %s on node %d", s, id, i).isEqualTo(BigState.value(7 + s * KEYS, VALUE_BYTES));
      }
    }
  }

  /**
   * Until the workflow has ended; fails as soon as a node has died or logged an
   * OutOfMemoryError, or the workflow committed nothing for {@link #STALLED}, or after {@link #LIMIT}.
   */
  private static WorkflowInfo awaitEnd(NodeProcesses nodes, RaftoralClient client, String id) {
    long start = System.nanoTime();
    long progressAt = start;
    long count = -1;
    String last = "no answer yet";
    while (true) {
      for (int i = 1; i <= 3; i++) {
        assertThat(nodes.isAlive(i)).as("node %d is alive while the workflow runs (%s)", i, last).isTrue();
        assertNoOutOfMemoryError(nodes, i, last);
      }
      long seconds = (System.nanoTime() - start) / 1_000_000_000;
      try {
        WorkflowInfo info = client.describe(id);
        if (info.status() != WorkflowStatus.RUNNING) {
          return info;
        }
        if (info.checkpointCount() > count) {
          count = info.checkpointCount();
          progressAt = System.nanoTime();
          last = count + " checkpoints after " + seconds + " s";
        }
      } catch (RuntimeException e) { // an overloaded node may not answer in time: only progress counts
        last = count + " checkpoints when last seen; after " + seconds + " s: " + e;
      }
      if (System.nanoTime() - progressAt > STALLED.toNanos() || System.nanoTime() - start > LIMIT.toNanos()) {
        throw new AssertionError("the workflow did not end: no new checkpoint for " + STALLED.toSeconds() + " s, or not within "
            + LIMIT.toMinutes() + " min; last: " + last + "\nthe nodes' heaps now (jcmd GC.heap_info):\n" + heaps(nodes));
      }
      sleep(1_000);
    }
  }

  private static void assertNoOutOfMemoryError(NodeProcesses nodes, int i, String when) {
    String log = nodes.stderr(i);
    int at = log.indexOf("OutOfMemoryError");
    if (at >= 0) {
      int from = log.lastIndexOf('\n', at) + 1;
      int to = log.indexOf('\n', at);
      throw new AssertionError("node " + i + " ran out of memory (" + when + "): " + log.substring(from, to < 0 ? log.length() : to)
          + "\nthe nodes' heaps now (jcmd GC.heap_info):\n" + heaps(nodes));
    }
  }

  /** Each node's heap as {@code jcmd GC.heap_info} reports it (no GC is forced): how full it is when the run fails. */
  private static String heaps(NodeProcesses nodes) {
    StringBuilder all = new StringBuilder();
    for (int i = 1; i <= 3; i++) {
      String jcmd = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
      try {
        java.nio.file.Path out = nodes.logDirectory().resolve("heap-info-node-" + i + ".txt");
        Process p = new ProcessBuilder(jcmd, Long.toString(nodes.pid(i)), "GC.heap_info").redirectErrorStream(true)
            .redirectOutput(out.toFile()).start();
        boolean answered = p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
        p.destroyForcibly();
        all.append("node ").append(i).append(": ").append(answered
            ? java.nio.file.Files.readString(out).strip().replace("\n", "\n  ") : "jcmd did not answer within 30 s").append('\n');
      } catch (java.io.IOException e) {
        all.append("node ").append(i).append(": ").append(e).append('\n');
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
    return all.toString();
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
