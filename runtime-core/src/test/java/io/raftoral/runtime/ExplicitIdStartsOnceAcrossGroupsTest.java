package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.raft.GroupId;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Rule (SPEC §2): a start with an explicit id never runs a workflow twice, from whichever node,
 * whatever that node knows of the topology (issue 16, point 9: {@code startedElsewhere} checks only
 * the groups the starting node knows, then acts).
 *
 * <p>Scenario: nodes 1-3 form a cluster with one execution group; node 3's management replica
 * stalls (its apply thread held, as a long pause would); node 4 joins, which creates a second
 * group. Node 1 starts id Y, which now hashes to the new group; then node 3, still seeing one
 * group, starts Y with the same type and input.
 */
class ExplicitIdStartsOnceAcrossGroupsTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private final List<RaftoralNode> nodes = new ArrayList<>();

  @AfterEach
  void closeAll() {
    nodes.reversed().forEach(n -> {
      try {
        n.close();
      } catch (RuntimeException ignored) {
        // closed by the test already
      }
    });
  }

  private RaftoralNode node(RaftoralNode.Builder b) {
    Map<Long, String> a = LocalCluster.freeAddresses(2);
    RaftoralNode n = b.raftAddress(a.get(1L)).apiAddress(a.get(2L)).electionTimeout(Duration.ofMillis(500)).requestTimeout(Duration.ofSeconds(5))
        .register(WorkflowDefinition.of("once", 1, String.class, String.class, (ctx, in) -> ctx.checkpoint("v", in))).start();
    synchronized (nodes) {
      nodes.add(n);
    }
    return n;
  }

  @Test
  void aNodeWithAStaleTopologyDoesNotStartAnExplicitIdAgain() throws Exception {
    RaftoralNode first = node(RaftoralNode.builder().nodeId(1));
    RaftoralNode second = node(RaftoralNode.builder().join(List.of(first.apiAddress())));
    RaftoralNode third = node(RaftoralNode.builder().join(List.of(second.apiAddress())));
    // Disjoint groups (default sizes 3 / 3 / 5): five nodes are one group; the sixth splits it in two.
    node(RaftoralNode.builder().join(List.of(first.apiAddress())));
    node(RaftoralNode.builder().join(List.of(first.apiAddress())));
    awaitCluster(first, i -> i.getNodesCount() == 5 && i.getExecutionGroupsCount() == 1
        && i.getExecutionGroups(0).getMembersCount() == 5 && i.getExecutionGroups(0).getLeaderNode() != 0);

    String y;
    GroupId g0 = third.inspector().executionGroupIds().getFirst();
    try (var stall = ClusterProbe.managementStall(third.inspector())) {
      node(RaftoralNode.builder().join(List.of(first.apiAddress())));
      awaitCluster(first, i -> i.getExecutionGroupsCount() == 2 && i.getExecutionGroupsList().stream().allMatch(g -> g.getLeaderNode() != 0)
          && first.inspector().openGroupIds().size() == 2);
      assertThat(third.inspector().executionGroupIds()).as("node 3's stale view").containsExactly(g0);
      y = idNotIn(first.inspector(), g0);

      assertThat(first.start("once", 1, "in", String.class, y).result(WAIT)).isEqualTo("in");
      try {
        third.start("once", 1, "in", String.class, y);
      } catch (RuntimeException refused) {
        // refusing is fine (it cannot know); running the id a second time is not
      }
    }

    long copies = 0;
    for (WorkflowInfo w : first.list(ListQuery.all()).workflows()) {
      if (w.workflowId().equals(y)) {
        copies++;
      }
    }
    assertThat(copies).as("workflows with id %s in the cluster", y).isEqualTo(1);
  }

  private static String idNotIn(NodeInspector node, GroupId group) {
    for (int i = 0; ; i++) {
      if (!node.primaryGroup("dup-" + i).equals(group)) {
        return "dup-" + i;
      }
    }
  }

  private static void awaitCluster(RaftoralNode n, java.util.function.Predicate<ClusterInfoReply> condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    ClusterInfoReply info = n.inspector().clusterInfo();
    while (!condition.test(info)) {
      assertThat(System.nanoTime()).as("cluster did not settle; last seen:\n%s", info).isLessThan(deadline);
      Thread.sleep(100);
      info = n.inspector().clusterInfo();
    }
  }
}
