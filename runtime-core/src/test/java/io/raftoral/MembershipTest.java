package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.proto.client.ManagementRole;
import io.raftoral.proto.client.NodeInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SPEC §8 in one JVM (real Ratis servers and gRPC on loopback): a cluster grown by joins, nodes
 * placed into disjoint execution groups, voters capped, and a node that stops is replaced.
 */
class MembershipTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
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

  private static ClusterInfoReply awaitCluster(RaftoralNode n, Predicate<ClusterInfoReply> condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    ClusterInfoReply info = n.inspector().clusterInfo();
    while (!condition.test(info)) {
      assertThat(System.nanoTime()).as("cluster did not settle; last seen:\n%s", info).isLessThan(deadline);
      Thread.sleep(100);
      info = n.inspector().clusterInfo();
    }
    return info;
  }

  private static long count(ClusterInfoReply info, ManagementRole role) {
    return info.getNodesList().stream().filter(x -> x.getRole() == role).count();
  }

  /**
   * Voters capped at three, every node in exactly one execution group (disjoint groups, issue 20),
   * each group led and running with its committed members.
   */
  private static boolean settled(ClusterInfoReply info, int nodes) {
    List<ExecutionGroupInfo> live = info.getExecutionGroupsList().stream().filter(g -> g.getMergedInto().isEmpty()).toList();
    Map<Long, Long> groupsPerNode = new HashMap<>();
    live.forEach(g -> g.getMembersList().forEach(m -> groupsPerNode.merge(m, 1L, Long::sum)));
    return info.getNodesCount() == nodes && count(info, ManagementRole.VOTER) == Math.min(3, nodes)
        && count(info, ManagementRole.LISTENER) == Math.max(0, nodes - 3)
        && live.stream().allMatch(g -> g.getLeaderNode() != 0 && g.getRaftMembersList().equals(g.getMembersList()))
        && info.getNodesList().stream().allMatch(x -> groupsPerNode.getOrDefault(x.getNodeId(), 0L) == 1);
  }

  @Test
  void joiningNodesGetFreshIdsBecomeVotersUpToThreeAndArePlacedIntoGroups() throws Exception {
    RaftoralNode first = bootstrap();
    RaftoralNode second = join(first.apiAddress());
    RaftoralNode third = join(second.apiAddress());
    assertThat(List.of(first.nodeId(), second.nodeId(), third.nodeId())).containsExactly(1L, 2L, 3L);

    ClusterInfoReply three = awaitCluster(third, i -> settled(i, 3));
    assertThat(three.getExecutionGroupsList()).hasSize(1);
    assertThat(three.getExecutionGroups(0).getMembersList()).containsExactly(1L, 2L, 3L);

    // 50 workflows run while nodes 4 and 5 join.
    List<WorkflowHandle<Integer>> handles = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      handles.add(nodes.get(i % 3).start("steps", 1, 10, Integer.class, "wf-" + i));
    }
    CompletableFuture<RaftoralNode> fourth = CompletableFuture.supplyAsync(() -> join(first.apiAddress()));
    CompletableFuture<RaftoralNode> fifth = CompletableFuture.supplyAsync(() -> join(third.apiAddress()));
    assertThat(Set.of(fourth.get().nodeId(), fifth.get().nodeId())).containsExactlyInAnyOrder(4L, 5L);
    for (WorkflowHandle<Integer> h : handles) {
      assertThat(h.result(WAIT)).isEqualTo(45);
    }

    ClusterInfoReply five = awaitCluster(fifth.get(), i -> settled(i, 5));
    assertThat(five.getNodesList()).extracting(NodeInfo::getNodeId).containsExactlyInAnyOrder(1L, 2L, 3L, 4L, 5L);
    // With the default sizes (3 / 3 / 5) five nodes are one group of five.
    assertThat(five.getExecutionGroupsList()).hasSize(1);
    assertThat(five.getExecutionGroups(0).getMembersList()).containsExactly(1L, 2L, 3L, 4L, 5L);

    // A workflow started through a node outside its group is awaited and described from every node.
    for (RaftoralNode n : nodes) {
      WorkflowHandle<Integer> h = n.start("steps", 1, 3, Integer.class, "from-" + n.nodeId());
      for (RaftoralNode m : nodes) {
        assertThat(m.handle(h.workflowId(), Integer.class).result(WAIT)).isEqualTo(3);
        assertThat(m.describe(h.workflowId()).executionGroup()).isEqualTo(h.executionGroup());
      }
    }
  }

  @Test
  void twoNodesJoiningALoneNodeAtOnceBothBecomeVoters() throws Exception {
    RaftoralNode first = bootstrap();
    CompletableFuture<RaftoralNode> a = CompletableFuture.supplyAsync(() -> join(first.apiAddress()));
    CompletableFuture<RaftoralNode> b = CompletableFuture.supplyAsync(() -> join(first.apiAddress()));
    assertThat(Set.of(a.get().nodeId(), b.get().nodeId())).containsExactlyInAnyOrder(2L, 3L);
    awaitCluster(first, i -> settled(i, 3));
    assertThat(first.start("steps", 1, 4, Integer.class, "after-concurrent-joins").result(WAIT)).isEqualTo(6);
  }

  @Test
  void aStoppedVoterIsRemovedAndAListenerPromoted() throws Exception {
    RaftoralNode first = bootstrap();
    for (int i = 0; i < 3; i++) {
      join(first.apiAddress());
    }
    awaitCluster(first, i -> settled(i, 4));
    List<WorkflowHandle<Integer>> handles = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      handles.add(first.start("steps", 1, 20, Integer.class, "run-" + i));
    }
    // Stop a voter other than node 1 (which the test talks to).
    ClusterInfoReply before = first.inspector().clusterInfo();
    long victim = before.getNodesList().stream().filter(x -> x.getRole() == ManagementRole.VOTER && x.getNodeId() != 1)
        .findFirst().orElseThrow().getNodeId();
    RaftoralNode stopped = nodes.stream().filter(n -> n.nodeId() == victim).findFirst().orElseThrow();
    stopped.close();

    for (WorkflowHandle<Integer> h : handles) {
      assertThat(h.result(WAIT)).isEqualTo(190);
    }
    ClusterInfoReply after = awaitCluster(first, i -> settled(i, 3));
    assertThat(after.getNodesList()).extracting(NodeInfo::getNodeId).doesNotContain(victim);
    Map<Long, Long> groupsPerNode = new HashMap<>();
    for (ExecutionGroupInfo g : after.getExecutionGroupsList()) {
      assertThat(g.getMembersList()).doesNotContain(victim).hasSize(3);
      g.getMembersList().forEach(m -> groupsPerNode.merge(m, 1L, Long::sum));
    }
    assertThat(groupsPerNode.keySet()).containsExactlyInAnyOrderElementsOf(
        after.getNodesList().stream().map(NodeInfo::getNodeId).collect(Collectors.toSet()));
  }
}
