package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.client.RaftoralClient;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.RemovedNodeInfo;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every membership decision carries its term, and failure detection never counts the
 * detector's own pause (docs/ARCHITECTURE.md, "Groups and membership"): the node that leads the
 * management group is frozen with SIGSTOP for longer than the failure timeout, then resumed,
 * five times in a row while workflows run. It believes it still leads when it resumes; it must
 * remove nobody. The others remove it (it was silent past the timeout), and it finds out and
 * comes back by itself as a new member.
 */
class PausedLeaderProcessesTest {
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final int FAILURE_TIMEOUT_SECONDS = 3;
  private static final List<String> QUICK = List.of("--node-failure-timeout", FAILURE_TIMEOUT_SECONDS + "s");
  private static final Pattern REMOVING = Pattern.compile("removing node (\\d+) from the cluster");

  /** The id node process {@code i} answers with now, or 0 when it does not answer. */
  private static long currentId(NodeProcesses nodes, int i) {
    try {
      return nodes.clusterInfo(i).getNodeId();
    } catch (RuntimeException notServing) {
      return 0;
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aPausedLeaderRemovesNoHealthyNodeAndComesBackAsAMember() {
    try (NodeProcesses nodes = new NodeProcesses("PausedLeaderProcessesTest")) {
      List<String> bootstrap = new ArrayList<>(List.of("--bootstrap", "--node-id", "1"));
      bootstrap.addAll(QUICK);
      nodes.start(bootstrap);
      for (int i = 0; i < 2; i++) {
        List<String> join = new ArrayList<>(List.of("--join", nodes.apiAddress(1)));
        join.addAll(QUICK);
        nodes.start(join);
      }
      awaitWhole(nodes, Set.of(1, 2, 3));

      Map<String, Integer> expected = new LinkedHashMap<>();
      try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(2))) {
        for (int i = 0; i < 10; i++) {
          c.start("countdown", 1, NodeProcesses.json(30), "long-" + i);
          expected.put("long-" + i, 30);
        }
      }

      Set<Long> pausedIds = new HashSet<>();
      for (int round = 1; round <= 5; round++) {
        // Odd rounds freeze the management leader, even ones the execution group's leader (the
        // owner of every workflow); when one node leads both, the round covers both.
        boolean management = round % 2 == 1;
        int leader = leaderProcess(nodes, management);
        long leaderId = currentId(nodes, leader);
        pausedIds.add(leaderId);
        int other = leader == 1 ? 2 : 1;
        try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(other))) {
          for (int i = 0; i < 2; i++) {
            String id = "round-" + round + "-" + i;
            c.start("countdown", 1, NodeProcesses.json(4), id);
            expected.put(id, 4);
          }
        }
        ClusterInfoReply before = nodes.clusterInfo(other);
        System.out.println("round " + round + ": pausing process " + leader + " (node " + leaderId + "; management leader: node "
            + before.getManagementLeader() + ", execution group leader: node " + before.getExecutionGroups(0).getLeaderNode() + ")");
        nodes.pause(leader);
        sleep((FAILURE_TIMEOUT_SECONDS + 3) * 1000L);
        nodes.resume(leader);

        // It comes back as a member under a new id (the others removed it while it was frozen),
        // and the cluster is whole again: three voters, the group at three.
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
          long now = currentId(nodes, leader);
          if (now != 0 && now != leaderId && NodeProcesses.wholeOfThree(nodes.clusterInfo(other))
              && nodes.clusterInfo(other).getNodesList().stream().anyMatch(n -> n.getNodeId() == now)) {
            break;
          }
          assertThat(System.nanoTime()).as("round %d: process %d (node %d) is back as a member; cluster %s", round, leader,
              leaderId, nodes.clusterInfo(other)).isLessThan(deadline);
          sleep(250);
        }
        assertNoHealthyNodeRemoved(nodes, pausedIds);
      }

      try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(1))) {
        for (Map.Entry<String, Integer> e : expected.entrySet()) {
          RaftoralClient.Outcome o = c.await(e.getKey(), WAIT);
          assertThat(o.info().status()).as(e.getKey()).isEqualTo(WorkflowStatus.COMPLETED);
          assertThat(new String(o.result(), StandardCharsets.UTF_8)).as(e.getKey()).isEqualTo(e.getValue().toString());
        }
      }
      assertNoHealthyNodeRemoved(nodes, pausedIds);
    }
  }

  /** Every removal any node logged, and every removed node the cluster records, is a node that was paused. */
  private static void assertNoHealthyNodeRemoved(NodeProcesses nodes, Set<Long> pausedIds) {
    for (int i = 1; i <= nodes.size(); i++) {
      Matcher m = REMOVING.matcher(nodes.stderr(i));
      while (m.find()) {
        assertThat(Long.parseLong(m.group(1))).as("process %d logged: %s", i, m.group()).isIn(pausedIds);
      }
      for (RemovedNodeInfo r : nodes.clusterInfo(i).getRemovedNodesList()) {
        assertThat(r.getNodeId()).as("process %d lists as removed: %s", i, r).isIn(pausedIds);
      }
    }
  }

  /** The process that leads the management group ({@code management}) or the execution group, once one does. */
  private static int leaderProcess(NodeProcesses nodes, boolean management) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      ClusterInfoReply c = nodes.clusterInfo(1);
      long leader = management ? c.getManagementLeader() : c.getExecutionGroups(0).getLeaderNode();
      for (int i = 1; i <= nodes.size(); i++) {
        if (leader != 0 && currentId(nodes, i) == leader) {
          return i;
        }
      }
      assertThat(System.nanoTime()).as("a %s leader", management ? "management" : "execution group").isLessThan(deadline);
      sleep(200);
    }
  }

  private static void awaitWhole(NodeProcesses nodes, Set<Integer> processes) {
    for (int i : processes) {
      nodes.awaitCluster(i, "cluster whole as process " + i + " sees it", WAIT, NodeProcesses::wholeOfThree);
    }
  }
}
