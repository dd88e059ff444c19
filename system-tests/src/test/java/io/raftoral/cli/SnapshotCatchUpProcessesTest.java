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
 * SPEC §7 and §9, snapshots: with a tiny snapshot threshold, a node kept down (SIGKILL) while the
 * others run workflows finds, when it returns, that the leaders have purged their logs past
 * its position. It catches up through a snapshot it fetches from its peers out of band (the
 * entries it missed no longer exist in any log) and ends with the same state as the others. The
 * transfer's own counters, logged by the receiving node, say how each byte came: fetched,
 * resumed from an earlier attempt's journal, or fetched again after a corrupted chunk.
 */
class SnapshotCatchUpProcessesTest {
  private static final Duration WAIT = Duration.ofSeconds(120);
  private static final Pattern LOG_FILE = Pattern.compile("log_(?:inprogress_)?(\\d+)(?:-\\d+)?");
  private static final Pattern RESTORED = Pattern.compile("restoring the state store from snapshot \\(t:\\d+, i:(\\d+)\\)");
  private static final List<String> TUNING = List.of("--snapshot-every", "20", "--node-failure-timeout", "300s");
  private static final Pattern TRANSFERRED = Pattern.compile("group (group-\\w+): installed snapshot (\\S+) \\(t:\\d+, i:(\\d+)\\) "
      + "fetched out of band: total=(\\d+) fetched=(\\d+) resumed=(\\d+) refetched=(\\d+)");

  /** One finished transfer, as the receiving node logged it. */
  record Transfer(String group, String snapshotId, long index, long total, long fetched, long resumed, long refetched) {}

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
      // It came out of band, every byte fetched once.
      List<Transfer> transfers = transfers(nodes, 3);
      assertThat(transfers).as("node 3's snapshot transfers").isNotEmpty();
      for (Transfer t : transfers) {
        assertThat(t.fetched()).as("fetched of %s", t).isEqualTo(t.total()).isPositive();
        assertThat(t.refetched()).as("refetched of %s", t).isZero();
      }

      // It goes on as a full member.
      runWorkflows(nodes, 3, "after", 3, steps);
      assertReplicasConverge(nodes);
    }
  }

  @Test
  void aCorruptedChunkIsDetectedAndFetchedAgain() throws Exception {
    try (NodeProcesses nodes = new NodeProcesses("SnapshotCatchUpProcessesTest-corrupt")) {
      // Every node flips one byte of every third chunk it sends, after computing its checksum.
      nodes.nodeJvmOptions("-Draftoral.test.snapshot-transfer.corrupt-every=3");
      List<String> joinMode = startThree(nodes, List.of("--snapshot-chunk-bytes", "65536"));
      Path steps = nodes.logDirectory().resolve("steps.log");
      runWorkflows(nodes, 1, "before", 5, steps);
      Map<String, Long> behindAt = appliedOn(nodes, 3);

      nodes.kill(3);
      writeUntilPurgedPast(nodes, behindAt, steps);
      nodes.restart(3, joinMode);
      nodes.awaitReplicasEqual(WAIT);

      List<Transfer> transfers = transfers(nodes, 3);
      assertThat(transfers).as("node 3's snapshot transfers").isNotEmpty();
      assertThat(transfers.stream().mapToLong(Transfer::refetched).sum()).as("bytes fetched again after a bad chunk").isPositive();
      for (Transfer t : transfers) {
        // A corrupted chunk is dropped, never written: the good bytes still add up to the snapshot once.
        assertThat(t.fetched() + t.resumed()).as("%s", t).isEqualTo(t.total());
      }
    }
  }

  @Test
  void aFollowerKilledMidTransferResumesFromWhatItVerified() throws Exception {
    try (NodeProcesses nodes = new NodeProcesses("SnapshotCatchUpProcessesTest-resume")) {
      // Slow sources (200 KB/s, 64 KiB chunks): the transfer takes seconds, long enough to kill it half way.
      List<String> joinMode = startThree(nodes, List.of("--snapshot-transfer-rate", "200000", "--snapshot-chunk-bytes", "65536"));
      Path steps = nodes.logDirectory().resolve("steps.log");
      runWorkflows(nodes, 1, "before", 3, steps);
      Map<String, Long> behindAt = appliedOn(nodes, 3);

      nodes.kill(3);
      // About 2 MB of checkpoints (1,000 values of 2 KiB), then small workflows until the logs are purged past node 3.
      try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(1))) {
        String id = c.start("bigstate", 1, NodeProcesses.json(io.raftoral.bench.BigState.Input.of(1000, 50, 2048)), "big").workflowId();
        assertThat(c.await(id, WAIT).info().status()).isEqualTo(WorkflowStatus.COMPLETED);
      }
      writeUntilPurgedPast(nodes, behindAt, steps);

      nodes.restart(3, joinMode);
      Path node3 = nodes.dataDirectory(3);
      long journaled = 0;
      long deadline = System.nanoTime() + WAIT.toNanos();
      while ((journaled = journaledBytes(node3)) < 400_000) {
        assertThat(System.nanoTime()).as("node 3 journals 400 KB of a transfer").isLessThan(deadline);
        assertThat(transfers(nodes, 3)).as("node 3 finished its transfer before it could be killed half way").isEmpty();
        sleep(50);
      }
      nodes.kill(3);
      long verifiedAtKill = journaledBytes(node3);
      assertThat(verifiedAtKill).isGreaterThanOrEqualTo(journaled);

      nodes.restart(3, joinMode);
      nodes.awaitReplicasEqual(WAIT);
      List<Transfer> resumedRun = transfers(nodes, 3);
      assertThat(resumedRun).as("node 3's transfers after its restart").isNotEmpty();
      Transfer big = resumedRun.stream().filter(t -> t.resumed() > 0).findFirst()
          .orElseThrow(() -> new AssertionError("no transfer resumed: " + resumedRun));
      // The bytes verified before the kill were not fetched again.
      assertThat(big.resumed()).isGreaterThanOrEqualTo(verifiedAtKill);
      assertThat(big.fetched() + big.resumed()).isEqualTo(big.total());
      assertThat(big.fetched()).isLessThan(big.total());
      assertThat(big.refetched()).isZero();
    }
  }

  @Test
  void twoFollowersKeptDownCatchUpAtOnce() throws Exception {
    try (NodeProcesses nodes = new NodeProcesses("SnapshotCatchUpProcessesTest-two")) {
      List<String> groupOfFive = List.of("--min-group-size", "3", "--target-group-size", "5", "--max-group-size", "5");
      nodes.start(concat(concat(List.of("--bootstrap", "--node-id", "1"), TUNING), groupOfFive));
      List<String> joinMode = concat(List.of("--join", nodes.apiAddress(1)), TUNING);
      for (int i = 2; i <= 5; i++) {
        nodes.start(joinMode);
      }
      nodes.awaitCluster(1, "one execution group of five", WAIT, c -> c.getNodesCount() == 5
          && c.getExecutionGroupsList().stream().anyMatch(g -> g.getMembersCount() == 5 && g.getRaftMembersCount() == 5));
      Path steps = nodes.logDirectory().resolve("steps.log");
      runWorkflows(nodes, 1, "before", 3, steps);
      Map<String, Long> behindAt = appliedOn(nodes, 4);

      nodes.kill(4);
      nodes.kill(5);
      writeUntilPurgedPast(nodes, behindAt, steps);

      Thread other = Thread.ofVirtual().start(() -> nodes.restart(5, joinMode));
      nodes.restart(4, joinMode);
      other.join();
      nodes.awaitReplicasEqual(WAIT);
      for (int i = 4; i <= 5; i++) {
        List<Transfer> transfers = transfers(nodes, i);
        assertThat(transfers).as("node %d's snapshot transfers", i).isNotEmpty();
        assertThat(transfers).allSatisfy(t -> assertThat(t.fetched() + t.resumed()).isEqualTo(t.total()));
      }
      runWorkflows(nodes, 4, "after", 2, steps);
      nodes.awaitReplicasEqual(WAIT);
    }
  }

  /** Bootstraps node 1 and joins nodes 2 and 3, all with the tuning plus {@code extra}; returns the join arguments. */
  private static List<String> startThree(NodeProcesses nodes, List<String> extra) {
    List<String> tuning = concat(TUNING, extra);
    nodes.start(concat(List.of("--bootstrap", "--node-id", "1"), tuning));
    List<String> joinMode = concat(List.of("--join", nodes.apiAddress(1)), tuning);
    nodes.start(joinMode);
    nodes.start(joinMode);
    awaitSettled(nodes, 1, 3);
    return joinMode;
  }

  /** Each group's applied index on node {@code i}. */
  private static Map<String, Long> appliedOn(NodeProcesses nodes, int i) {
    nodes.awaitReplicasEqual(WAIT);
    Map<String, Long> at = new HashMap<>();
    nodes.clusterInfo(i, true).getReplicasList().forEach(r -> at.put(r.getGroupId(), r.getAppliedIndex()));
    assertThat(at).isNotEmpty();
    return at;
  }

  /** Runs small workflows through node 1 until nodes 1 and 2 purged their logs past {@code positions}. */
  private static void writeUntilPurgedPast(NodeProcesses nodes, Map<String, Long> positions, Path steps) throws IOException {
    int rounds = 0;
    while (!purgedPast(nodes, positions)) {
      assertThat(rounds++).as("the leaders purge their logs past the stopped node's position").isLessThan(100);
      runWorkflows(nodes, 1, "while-down-" + rounds, 5, steps);
    }
  }

  /** The transfers node {@code i}'s latest run logged as finished. */
  private static List<Transfer> transfers(NodeProcesses nodes, int i) throws IOException {
    Matcher m = TRANSFERRED.matcher(Files.readString(nodes.logDirectory().resolve(stderrOf(nodes, i))));
    List<Transfer> all = new ArrayList<>();
    while (m.find()) {
      all.add(new Transfer(m.group(1), m.group(2), Long.parseLong(m.group(3)), Long.parseLong(m.group(4)),
          Long.parseLong(m.group(5)), Long.parseLong(m.group(6)), Long.parseLong(m.group(7))));
    }
    return all;
  }

  /**
   * The bytes node's transfer journals record as verified and synced, over every group it is
   * fetching into (lines "{@code <file> <offset> <crc>}" after a first "{@code snapshot <id> <crc>}").
   */
  private static long journaledBytes(Path dataDirectory) throws IOException {
    long total = 0;
    Path raft = dataDirectory.resolve("raft");
    if (!Files.isDirectory(raft)) {
      return 0;
    }
    List<Path> journals;
    try (Stream<Path> paths = Files.find(raft, 4, (p, a) -> p.getFileName().toString().matches("incoming\\..*\\.journal"))) {
      journals = paths.toList();
    } catch (java.io.UncheckedIOException vanished) {
      return 0; // a journal came or went mid-walk: look again
    }
    for (Path journal : journals) {
      Map<String, Long> offsets = new HashMap<>();
      List<String> lines;
      try {
        lines = Files.readAllLines(journal);
      } catch (java.nio.file.NoSuchFileException gone) {
        continue;
      }
      for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
        String[] parts = line.split(" ");
        if (parts.length >= 3) {
          offsets.put(parts[parts.length - 3], Long.parseLong(parts[parts.length - 2]));
        }
      }
      total += offsets.values().stream().mapToLong(Long::longValue).sum();
    }
    return total;
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
