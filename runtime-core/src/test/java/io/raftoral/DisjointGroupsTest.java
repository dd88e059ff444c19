package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 20 in one JVM (real Ratis servers and gRPC on loopback), with the default group sizes
 * (3 / 3 / 5): nodes joining one by one end in disjoint groups with spread leaders, and a group
 * that falls below the minimum with no donor is merged into another without losing a workflow.
 */
class DisjointGroupsTest {
  private static final Duration WAIT = Duration.ofSeconds(90);
  private final JoiningNodes cluster = new JoiningNodes();
  private final List<RaftoralNode> nodes = cluster.nodes;

  @AfterEach
  void closeAll() {
    cluster.close();
  }

  private RaftoralNode bootstrap() {
    return cluster.bootstrap();
  }

  private RaftoralNode join(String seed) {
    return cluster.join(seed);
  }

  /** Each live group led by a different node (the leaders are spread). */
  private static boolean spread(ClusterInfoReply info) {
    return JoiningNodes.liveGroups(info).stream().map(ExecutionGroupInfo::getLeaderNode).distinct().count() == JoiningNodes.liveGroups(info).size();
  }

  @Test
  void sixNodesJoiningOneByOneEndAsTwoDisjointGroupsOfThreeWithDifferentLeaders() throws Exception {
    RaftoralNode first = bootstrap();
    List<WorkflowHandle<Integer>> handles = new ArrayList<>();
    for (int i = 2; i <= 6; i++) {
      join(first.apiAddress());
      handles.add(first.start("steps", 1, 10, Integer.class, "during-join-" + i));
      int joined = i;
      JoiningNodes.awaitCluster(first, info -> info.getNodesCount() == joined);
    }
    ClusterInfoReply six = JoiningNodes.awaitCluster(first, info -> JoiningNodes.shaped(info, 3, 3) && spread(info));
    assertThat(six.getNodesCount()).isEqualTo(6);
    for (WorkflowHandle<Integer> h : handles) {
      assertThat(h.result(WAIT)).as(h.workflowId()).isEqualTo(45);
    }
    // Both groups take starts, and every node finds every workflow.
    Set<String> groups = new HashSet<>();
    for (int i = 0; i < 20; i++) {
      RaftoralNode via = nodes.get(i % nodes.size());
      WorkflowHandle<Integer> h = via.start("steps", 1, 2, Integer.class);
      assertThat(h.result(WAIT)).as("%s started through node %d", h.workflowId(), via.nodeId()).isEqualTo(1);
      groups.add(h.executionGroup());
    }
    assertThat(groups).as("starts go to both groups").hasSize(2);
  }

  @Test
  void aGroupBelowTheMinimumWithNoDonorIsMergedAndItsWorkflowsComplete() throws Exception {
    RaftoralNode first = bootstrap();
    for (int i = 2; i <= 6; i++) {
      join(first.apiAddress());
      int joined = i;
      JoiningNodes.awaitCluster(first, info -> info.getNodesCount() == joined);
    }
    ClusterInfoReply six = JoiningNodes.awaitCluster(first, info -> JoiningNodes.shaped(info, 3, 3));
    ExecutionGroupInfo doomed = JoiningNodes.liveGroups(six).stream().filter(g -> !g.getMembersList().contains(1L)).findFirst().orElseThrow();

    // Long workflows in the group that will be merged, started through one of its members.
    RaftoralNode member = nodes.stream().filter(n -> n.nodeId() == doomed.getMembers(0)).findFirst().orElseThrow();
    List<WorkflowHandle<Integer>> handles = new ArrayList<>();
    for (int i = 0; handles.size() < 8 && i < 200; i++) {
      WorkflowHandle<Integer> h = member.start("steps", 1, 40, Integer.class);
      if (h.executionGroup().equals(doomed.getGroupId())) {
        handles.add(h);
      }
    }
    assertThat(handles).as("workflows placed in group %d", doomed.getIndex()).isNotEmpty();

    // Stop one of its members that is not the one the test talks to: it falls to two members,
    // and no group is above the target to give one.
    long victim = doomed.getMembersList().stream().filter(m -> m != member.nodeId()).findFirst().orElseThrow();
    nodes.stream().filter(n -> n.nodeId() == victim).findFirst().orElseThrow().close();

    ClusterInfoReply merged = JoiningNodes.awaitCluster(first, info -> JoiningNodes.shaped(info, 5));
    ExecutionGroupInfo retired = merged.getExecutionGroupsList().stream().filter(g -> g.getIndex() == doomed.getIndex())
        .findFirst().orElseThrow();
    assertThat(retired.getMergedInto()).isNotEmpty();
    assertThat(retired.getMembersList()).isEmpty();
    for (WorkflowHandle<Integer> h : handles) {
      assertThat(first.handle(h.workflowId(), Integer.class).result(WAIT)).as(h.workflowId()).isEqualTo(780);
    }
  }
}
