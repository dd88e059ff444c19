package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.cli.NodeProcesses.CliResult;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.proto.client.NodeInfo;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * SPEC §8 at seven real node processes with the default group sizes (min 3, target 3, max 5):
 * nodes join one by one while workflows run (one group grows to five, the sixth node splits it
 * into two groups of three); the leader of one execution group is SIGKILLed (its group is topped
 * up from the group above target) and then the management group's leader (its group falls below
 * the minimum with no donor left and is merged into the other). Throughout, every node is in
 * exactly one execution group, no node leads two groups while another leads none, and every
 * workflow completes exactly once.
 */
class ScaleProcessesTest {
  private static final Duration WAIT = Duration.ofSeconds(150);
  private static final String[] OPTIONS = {"--node-failure-timeout", "3s"};
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, Integer> steps = new HashMap<>();

  @Test
  void sevenNodesJoinSplitLoseTwoLeadersAndEveryWorkflowCompletesOnce() throws Exception {
    try (NodeProcesses nodes = new NodeProcesses("ScaleProcessesTest")) {
      nodes.bootstrap(OPTIONS);
      nodes.startJoining(OPTIONS);
      nodes.startJoining(OPTIONS);
      nodes.awaitCluster(1, "three nodes in one group", WAIT, c -> placed(c, 3) && sizes(c).equals(List.of(3)));

      try (RaftoralClient client = RaftoralClient.connect(nodes.apiAddress(1), Duration.ofSeconds(90))) {
        // Joins one by one while workflows run.
        for (int k = 4; k <= 7; k++) {
          startSome(client, "join" + k, 6, 4);
          nodes.startJoining(OPTIONS);
          int count = k;
          ClusterInfoReply c = nodes.awaitCluster(1, k + " nodes placed in disjoint groups with spread leaders", WAIT,
              x -> placed(x, count) && leadersSpread(x));
          switch (k) {
            case 4 -> assertThat(sizes(c)).isEqualTo(List.of(4));
            case 5 -> assertThat(sizes(c)).as("one group grows to the maximum").isEqualTo(List.of(5));
            case 6 -> {
              assertThat(sizes(c)).as("the sixth node splits the group of five").isEqualTo(List.of(3, 3));
              assertThat(liveGroups(c)).extracting(ExecutionGroupInfo::getIndex).contains(0);
            }
            default -> assertThat(sizes(c)).isEqualTo(List.of(3, 4));
          }
        }
        ClusterInfoReply seven = nodes.clusterInfo(1);

        // SIGKILL the leader of the group of three (it is not the management leader: leaders are
        // spread): the group falls to two and is topped up from the group of four.
        ExecutionGroupInfo small = liveGroups(seven).stream().filter(g -> g.getMembersCount() == 3).findFirst().orElseThrow();
        startSome(client, "beforeFirstKill", 6, 12);
        int firstVictim = processOf(nodes, small.getLeaderNode());
        assertThat(small.getLeaderNode()).isNotEqualTo(seven.getManagementLeader());
        nodes.kill(firstVictim);
        int via = firstVictim == 1 ? 2 : 1;
        ClusterInfoReply six = nodes.awaitCluster(via, "six nodes after the first kill: topped up to two groups of three", WAIT,
            x -> placed(x, 6) && sizes(x).equals(List.of(3, 3)) && leadersSpread(x));
        assertThat(six.getNodesList()).extracting(NodeInfo::getNodeId).doesNotContain(small.getLeaderNode());

        // SIGKILL the management leader: its group falls to two, no group is above the target,
        // so it is merged into the other one.
        try (RaftoralClient other = client(nodes, via)) {
          startSome(other, "beforeSecondKill", 6, 12);
        }
        long managementLeader = six.getManagementLeader();
        int secondVictim = processOf(nodes, managementLeader);
        nodes.kill(secondVictim);
        int survivor = java.util.stream.IntStream.rangeClosed(1, nodes.size()).filter(nodes::isAlive).findFirst().orElseThrow();
        ClusterInfoReply five = nodes.awaitCluster(survivor, "five nodes after the second kill: merged into one group of five",
            WAIT, x -> placed(x, 5) && sizes(x).equals(List.of(5)) && leadersSpread(x)
                && x.getExecutionGroupsList().stream().anyMatch(g -> !g.getMergedInto().isEmpty()));
        assertThat(five.getManagementLeader()).isNotEqualTo(managementLeader);

        try (RaftoralClient last = RaftoralClient.connect(nodes.apiAddress(survivor), Duration.ofSeconds(90))) {
          assertEveryWorkflowCompletedOnce(last);
          CliResult cluster = nodes.cliOn(survivor, "cluster", "--output", "json");
          assertThat(cluster.exitCode()).as(cluster.toString()).isZero();
          JsonNode json = JSON.readTree(cluster.stdout());
          assertThat(json.path("executionGroups").size()).isEqualTo(five.getExecutionGroupsCount());
        }
      }
    }
  }

  private RaftoralClient client(NodeProcesses nodes, int via) {
    return RaftoralClient.connect(nodes.apiAddress(via), Duration.ofSeconds(90));
  }

  /** Starts {@code count} countdowns of {@code n} one-second steps, half with ids of ours, half with generated ones. */
  private void startSome(RaftoralClient client, String prefix, int count, int n) {
    for (int i = 0; i < count; i++) {
      String id = i % 2 == 0 ? prefix + "-" + i : null;
      steps.put(client.start("countdown", 1, NodeProcesses.json(n), id).workflowId(), n);
    }
  }

  private void assertEveryWorkflowCompletedOnce(RaftoralClient client) {
    for (Map.Entry<String, Integer> e : steps.entrySet()) {
      RaftoralClient.Outcome outcome = client.await(e.getKey(), WAIT);
      WorkflowInfo info = outcome.info();
      assertThat(info.status()).as(e.getKey()).isEqualTo(WorkflowStatus.COMPLETED);
      assertThat(new String(outcome.result(), StandardCharsets.UTF_8)).as(e.getKey()).isEqualTo(e.getValue().toString());
      assertThat(info.checkpointCount()).as("%s: one checkpoint per step, none twice", e.getKey()).isEqualTo(e.getValue().longValue());
    }
    // Listed once each across the groups (a merge copies records; the list must not show two).
    List<String> listed = new ArrayList<>();
    String token = null;
    do {
      ListPage page = client.list(new ListQuery(Set.of(), null, 0, null, null, 50, token));
      page.workflows().forEach(w -> listed.add(w.workflowId()));
      token = page.nextPageToken();
    } while (token != null);
    assertThat(listed).doesNotHaveDuplicates().containsAll(steps.keySet());
  }

  private static List<ExecutionGroupInfo> liveGroups(ClusterInfoReply c) {
    return c.getExecutionGroupsList().stream().filter(g -> g.getMergedInto().isEmpty()).toList();
  }

  private static List<Integer> sizes(ClusterInfoReply c) {
    return liveGroups(c).stream().map(ExecutionGroupInfo::getMembersCount).sorted().toList();
  }

  /**
   * {@code count} nodes, each in exactly one live execution group; every live group open, not
   * merging, with a leader and its Raft configuration equal to its committed members.
   */
  private static boolean placed(ClusterInfoReply c, int count) {
    if (c.getNodesCount() != count || c.getManagementLeader() == 0) {
      return false;
    }
    Map<Long, Integer> groupsOf = new HashMap<>();
    for (ExecutionGroupInfo g : liveGroups(c)) {
      if (!g.getOpen() || !g.getMergeTarget().isEmpty() || g.getLeaderNode() == 0
          || !new HashSet<>(g.getRaftMembersList()).equals(new HashSet<>(g.getMembersList()))) {
        return false;
      }
      g.getMembersList().forEach(m -> groupsOf.merge(m, 1, Integer::sum));
    }
    return c.getNodesList().stream().allMatch(n -> groupsOf.getOrDefault(n.getNodeId(), 0) == 1)
        && groupsOf.keySet().stream().allMatch(m -> c.getNodesList().stream().anyMatch(n -> n.getNodeId() == m));
  }

  /** No node leads two groups (the management group counts) while another leads none. */
  private static boolean leadersSpread(ClusterInfoReply c) {
    List<Long> leaders = new ArrayList<>();
    leaders.add(c.getManagementLeader());
    liveGroups(c).forEach(g -> leaders.add(g.getLeaderNode()));
    return new HashSet<>(leaders).size() == Math.min(leaders.size(), c.getNodesCount());
  }

  private static int processOf(NodeProcesses nodes, long nodeId) {
    for (int i = 1; i <= nodes.size(); i++) {
      if (nodes.nodeId(i) == nodeId) {
        return i;
      }
    }
    throw new AssertionError("node " + nodeId + " is not one of our processes");
  }
}
