package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.bench.SoakSteps;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.client.ReplicaInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * SPEC §7, snapshots: with a tiny snapshot threshold, a node kept down (SIGKILL) while the
 * others run workflows finds, when it returns, that the leaders have purged their logs past
 * its position. It catches up through a snapshot the leader installs (the entries it missed no
 * longer exist in any log) and ends with the same state as the others.
 */
class SnapshotCatchUpProcessesTest {
  private static final Duration WAIT = Duration.ofSeconds(120);
  private static final Pattern LOG_FILE = Pattern.compile("log_(?:inprogress_)?(\\d+)(?:-\\d+)?");
  private static final Pattern RESTORED = Pattern.compile("restoring the state store from snapshot \\(t:\\d+, i:(\\d+)\\)");
  private static final List<String> TUNING = List.of("--snapshot-every", "20", "--node-failure-timeout", "300s");

  @Test
  void aNodeKeptDownWhileTheLogIsPurgedCatchesUpFromASnapshot() throws Exception {
    try (NodeProcesses nodes = new NodeProcesses("SnapshotCatchUpProcessesTest")) {
      nodes.start(concat(List.of("--bootstrap", "--node-id", "1"), TUNING));
      List<String> joinMode = concat(List.of("--join", nodes.apiAddress(1)), TUNING);
      nodes.start(joinMode);
      nodes.start(joinMode);
      awaitSettled(nodes, 1, 3);
      Path steps = nodes.logDirectory().resolve("steps.log");
      runWorkflows(nodes, 1, "before", 5, steps);
      assertReplicasConverge(nodes);
      Map<String, Long> behindAt = new HashMap<>();
      nodes.clusterInfo(3, true).getReplicasList().forEach(r -> behindAt.put(r.getGroupId(), r.getAppliedIndex()));
      assertThat(behindAt).isNotEmpty();

      nodes.kill(3);
      int rounds = 0;
      while (!purgedPast(nodes, behindAt)) {
        assertThat(rounds++).as("the leaders purge their logs past node 3's position").isLessThan(100);
        runWorkflows(nodes, 1, "while-down-" + rounds, 5, steps);
      }

      nodes.restart(3, joinMode);
      Map<String, ReplicaInfo> converged = assertReplicasConverge(nodes);
      assertThat(converged.keySet()).containsAll(behindAt.keySet());
      // Node 3's store was restored from a snapshot past everything it had: the leader installed it.
      Matcher restored = RESTORED.matcher(Files.readString(nodes.logDirectory().resolve(stderrOf(nodes, 3))));
      assertThat(restored.find()).as("node 3 restored its state store from an installed snapshot").isTrue();
      long snapshotIndex = Long.parseLong(restored.group(1));
      assertThat(snapshotIndex).isGreaterThan(behindAt.values().stream().mapToLong(Long::longValue).max().orElseThrow());

      // It goes on as a full member.
      runWorkflows(nodes, 3, "after", 3, steps);
      assertReplicasConverge(nodes);
    }
  }

  /** Starts {@code count} workflows through node {@code via} and waits until each completed. */
  private static void runWorkflows(NodeProcesses nodes, int via, String prefix, int count, Path steps) {
    try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(via))) {
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        ids.add(c.start("soak_steps", 1, NodeProcesses.json(new SoakSteps.Input(4, 0, steps.toString())), prefix + "-" + i).workflowId());
      }
      for (String id : ids) {
        assertThat(c.await(id, WAIT).info().status()).as(id).isEqualTo(WorkflowStatus.COMPLETED);
      }
    }
  }

  /** Whether nodes 1 and 2 no longer have, in any of these groups, the entries after node 3's position. */
  private static boolean purgedPast(NodeProcesses nodes, Map<String, Long> positions) throws IOException {
    for (var e : positions.entrySet()) {
      for (int i = 1; i <= 2; i++) {
        if (firstLogIndex(nodes.dataDirectory(i), e.getKey()) <= e.getValue() + 1) {
          return false;
        }
      }
    }
    return true;
  }

  /** The first index of the group's log segments on disk (Ratis names them log_START-END and log_inprogress_START). */
  private static long firstLogIndex(Path dataDirectory, String group) throws IOException {
    try (Stream<Path> files = Files.list(dataDirectory.resolve("raft").resolve(group).resolve("current"))) {
      return files.map(p -> LOG_FILE.matcher(p.getFileName().toString())).filter(Matcher::matches)
          .mapToLong(m -> Long.parseLong(m.group(1))).min().orElse(Long.MAX_VALUE);
    }
  }

  /** The stderr file of node {@code i}'s latest run (NodeProcesses names them node-I-RUN.stderr). */
  private static Path stderrOf(NodeProcesses nodes, int i) throws IOException {
    try (Stream<Path> files = Files.list(nodes.logDirectory())) {
      return files.filter(p -> p.getFileName().toString().matches("node-" + i + "-\\d+\\.stderr"))
          .max((a, b) -> Integer.compare(run(a), run(b))).orElseThrow().getFileName();
    }
  }

  private static int run(Path stderr) {
    String name = stderr.getFileName().toString();
    return Integer.parseInt(name.substring(name.lastIndexOf('-') + 1, name.indexOf('.')));
  }

  private static void awaitSettled(NodeProcesses nodes, int via, int count) {
    nodes.awaitCluster(via, "cluster of " + count + " settled", WAIT, c -> NodeProcesses.settled(c, count));
  }

  /** Waits until every node holds every group with one digest; returns node 1's replicas by group. */
  private static Map<String, ReplicaInfo> assertReplicasConverge(NodeProcesses nodes) {
    return nodes.awaitReplicasEqual(WAIT);
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
