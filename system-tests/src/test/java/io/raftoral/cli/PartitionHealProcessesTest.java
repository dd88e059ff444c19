package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.client.RaftoralClient;
import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.faults.NetworkNamespaces;
import io.raftoral.proto.client.ClusterInfoReply;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A transient fault must not shrink the cluster for good (issue 16; docs/ARCHITECTURE.md,
 * "Groups and membership"): three node processes, each in a network namespace of its own
 * ({@link NetworkNamespaces}). While workflows run, one node is cut off (its link down) until the
 * others have removed it, then healed. It must find out, rejoin by itself as a new node, and the
 * cluster must be whole again (three voters, every execution group at three Raft members); every
 * workflow completes with its result. The cycle runs twice: once on the management leader, once
 * on a node that leads nothing. While it is cut off, a client inside its namespace keeps calling
 * it ({@link ClientProbe}): no call may answer a success the cluster contradicts.
 */
class PartitionHealProcessesTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final String FAILURE_TIMEOUT = "8s";
  private static final int RAFT_PORT = 7000;
  private static final int API_PORT = 8000;

  private static boolean lists(ClusterInfoReply c, long nodeId) {
    return c.getNodesList().stream().anyMatch(n -> n.getNodeId() == nodeId);
  }

  /** The process that now serves node id {@code nodeId}. */
  private static int processOf(NodeProcesses nodes, long nodeId) {
    for (int i = 1; i <= nodes.size(); i++) {
      try {
        if (nodes.clusterInfo(i).getNodeId() == nodeId) {
          return i;
        }
      } catch (RuntimeException notServing) {
        // not this one
      }
    }
    throw new AssertionError("no process serves node " + nodeId);
  }

  /** {@code n} hosts, or the test is skipped (saying why) where namespaces are not permitted. */
  private static NetworkNamespaces hosts(int n) {
    try {
      return NetworkNamespaces.create(n);
    } catch (NetworkNamespaces.Unavailable e) {
      Assumptions.abort(e.getMessage());
      throw e;
    }
  }

  @Test
  void anIsolatedNodeIsRemovedThenRejoinsByItselfAndNoWorkflowIsLost() throws Exception {
    try (NetworkNamespaces net = hosts(3);
        NodeProcesses nodes = new NodeProcesses("PartitionHealProcessesTest")) {
      for (int i = 1; i <= 3; i++) {
        List<String> mode = new ArrayList<>(i == 1 ? List.of("--bootstrap", "--node-id", "1")
            : List.of("--join", net.address(1) + ":" + API_PORT));
        mode.addAll(List.of("--node-failure-timeout", FAILURE_TIMEOUT));
        nodes.startIn(net.exec(i), net.address(i) + ":" + RAFT_PORT, net.address(i) + ":" + API_PORT, mode);
      }
      nodes.awaitCluster(1, "three voters, the groups at three", NodeProcesses::wholeOfThree);

      Map<String, Integer> expected = new LinkedHashMap<>();
      try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(2))) {
        for (int i = 0; i < 6; i++) {
          c.start("countdown", 1, NodeProcesses.json(20), "long-" + i);
          expected.put("long-" + i, 20);
        }
      }

      List<String> staleAnswers = new ArrayList<>();
      for (int round = 1; round <= 2; round++) {
        ClusterInfoReply before = nodes.awaitCluster(1, "whole before round " + round, NodeProcesses::wholeOfThree);
        long managementLeader = before.getManagementLeader();
        List<Long> groupLeaders = before.getExecutionGroupsList().stream().map(g -> g.getLeaderNode()).toList();
        int victim;
        if (round == 1) {
          victim = processOf(nodes, managementLeader);
        } else {
          // A node that leads nothing when one exists, else any but the management leader.
          victim = before.getNodesList().stream().map(n -> n.getNodeId())
              .filter(id -> id != managementLeader)
              .sorted((a, b) -> Boolean.compare(groupLeaders.contains(a), groupLeaders.contains(b)))
              .map(id -> processOf(nodes, id)).findFirst().orElseThrow();
        }
        int survivor = victim == 1 ? 2 : 1;
        long victimId = nodes.clusterInfo(victim).getNodeId();
        System.out.printf("round %d: isolating process %d (node %d; management leader %d, group leaders %s)%n", round, victim,
            victimId, managementLeader, groupLeaders);

        // Short workflows started through the victim just before the cut: they end on the
        // others while it is cut off, so its replica still holds them running.
        List<String> reads = new ArrayList<>();
        try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(victim))) {
          for (int i = 0; i < 3; i++) {
            String id = "r" + round + "-short-" + i;
            c.start("countdown", 1, NodeProcesses.json(2), id);
            expected.put(id, 2);
            reads.add(id);
          }
        }
        reads.add("long-0");

        net.isolate(victim);
        long isolatedAt = System.currentTimeMillis();
        Process probe = nodes.spawnJava(net.exec(victim), ClientProbe.class, probeArgs(nodes.apiAddress(victim), "probe-r" + round,
            reads), "probe-r" + round);

        try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(survivor))) {
          for (int i = 0; i < 3; i++) {
            String id = "r" + round + "-during-" + i;
            c.start("countdown", 1, NodeProcesses.json(3), id);
            expected.put(id, 3);
          }
        }
        // When each read workflow was known to have ended on the majority side: an answer the
        // victim gives after that must not say it runs.
        Map<String, Long> knownEndedAt = new HashMap<>();
        try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(survivor))) {
          for (String id : reads.subList(0, 3)) {
            assertThat(c.await(id, WAIT).info().status()).as(id).isEqualTo(WorkflowStatus.COMPLETED);
            knownEndedAt.put(id, System.currentTimeMillis());
          }
        }
        nodes.awaitCluster(survivor, "node " + victimId + " removed while cut off", c -> !lists(c, victimId));
        long healedAt = System.currentTimeMillis();
        probe.getOutputStream().close(); // no new calls
        net.heal(victim);

        ClusterInfoReply back = nodes.awaitCluster(victim, "process " + victim + " back as a new member, the cluster whole",
            c -> c.getNodeId() != victimId && NodeProcesses.wholeOfThree(c) && lists(c, c.getNodeId()));
        nodes.awaitCluster(survivor, "the cluster whole with node " + back.getNodeId(), c -> NodeProcesses.wholeOfThree(c) && lists(c, back.getNodeId())
            && !lists(c, victimId));
        assertThat(nodes.stderr(victim)).as("process %d's log", victim).contains("node " + victimId + " was removed from cluster");
        // Every call made while it was cut off is answered (a success or a failure), if need be
        // after the heal: waiting is allowed, hanging is not, and late answers are checked too.
        String probeName = "probe-r" + round;
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!unanswered(probeOutput(nodes, probeName)).isEmpty()) {
          assertThat(System.nanoTime()).as("calls still unanswered: %s", unanswered(probeOutput(nodes, probeName)))
              .isLessThan(deadline);
          sleep(200);
        }
        probe.destroy();
        assertThat(probe.waitFor(30, TimeUnit.SECONDS)).as("probe stopped").isTrue();
        List<String> calls = probeOutput(nodes, probeName);
        System.out.printf("round %d: cut off at %d, removed and healed at %d; reads known ended at %s; %d calls%n", round,
            isolatedAt, healedAt, knownEndedAt, calls.stream().filter(l -> l.startsWith("END ")).count());
        assertThat(calls).as("probe calls begun while process %d was cut off", victim).anyMatch(l -> l.startsWith("BEGIN ")
            && Long.parseLong(l.split(" ")[2]) >= isolatedAt && Long.parseLong(l.split(" ")[2]) < healedAt);
        staleAnswers.addAll(staleAnswers(nodes, survivor, calls, knownEndedAt, expected));
      }

      try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(1))) {
        for (Map.Entry<String, Integer> e : expected.entrySet()) {
          RaftoralClient.Outcome o = c.await(e.getKey(), WAIT);
          assertThat(o.info().status()).as(e.getKey()).isEqualTo(WorkflowStatus.COMPLETED);
          assertThat(new String(o.result(), StandardCharsets.UTF_8)).as(e.getKey()).isEqualTo(e.getValue().toString());
        }
      }
      assertThat(staleAnswers).as("answers a cut-off node gave that the cluster contradicts").isEmpty();
    }
  }

  private static List<String> probeArgs(String api, String startPrefix, List<String> reads) {
    List<String> args = new ArrayList<>(List.of(api, startPrefix));
    args.addAll(reads);
    return args;
  }

  /** The BEGIN lines without an END line yet. */
  private static List<String> unanswered(List<String> lines) {
    Set<String> ended = new HashSet<>();
    lines.stream().filter(l -> l.startsWith("END ")).forEach(l -> ended.add(l.split(" ")[1]));
    return lines.stream().filter(l -> l.startsWith("BEGIN ") && !ended.contains(l.split(" ")[1])).toList();
  }

  private static List<String> probeOutput(NodeProcesses nodes, String name) throws IOException {
    try (var files = Files.list(nodes.logDirectory())) {
      Path out = files.filter(p -> p.getFileName().toString().startsWith(name + "-") && p.toString().endsWith(".stdout"))
          .findFirst().orElseThrow();
      return Files.readAllLines(out, StandardCharsets.UTF_8);
    }
  }

  /**
   * The probe's answers that the cluster contradicts: a start reported committed that the cluster
   * does not know, a final status or result other than the committed one, and "running" for a
   * workflow known to have ended before the call began. A start it knows joins {@code expected}.
   */
  private static List<String> staleAnswers(NodeProcesses nodes, int via, List<String> lines, Map<String, Long> knownEndedAt,
      Map<String, Integer> expected) {
    List<String> stale = new ArrayList<>();
    Map<String, RaftoralClient.Outcome> truth = new HashMap<>();
    try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(via))) {
      for (String line : lines) {
        // END SEQ BEGAN ENDED OPERATION ID OK ANSWER
        String[] f = line.split(" ", 8);
        if (!f[0].equals("END") || !f[6].equals("OK")) {
          continue; // a failure (or a timeout) is what a cut-off node should answer
        }
        long began = Long.parseLong(f[2]);
        String operation = f[4];
        String id = f[5];
        if (operation.equals("start")) {
          try {
            c.describe(id);
            expected.put(id, 1);
          } catch (Errors.WorkflowNotFoundException e) {
            stale.add(line + "  (the cluster has no such workflow)");
          }
          continue;
        }
        RaftoralClient.Outcome committed = truth.computeIfAbsent(id, k -> c.await(k, WAIT));
        WorkflowInfo info = committed.info();
        String answer = f.length > 7 ? f[7] : "";
        String status = answer.split(" ", 2)[0];
        if (status.equals("RUNNING")) {
          Long ended = knownEndedAt.get(id);
          if (ended != null && began > ended) {
            stale.add(line + "  (it had ended before the call began: " + info.status() + ")");
          }
        } else if (!status.equals(info.status().name())) {
          stale.add(line + "  (committed: " + info.status() + ")");
        } else if (operation.equals("await")) {
          String result = answer.split(" ", 2).length > 1 ? answer.split(" ", 2)[1] : "";
          if (!result.equals(new String(committed.result(), StandardCharsets.UTF_8))) {
            stale.add(line + "  (committed result: " + new String(committed.result(), StandardCharsets.UTF_8) + ")");
          }
        }
      }
    }
    return stale;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
