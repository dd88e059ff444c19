package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.proto.client.MemberLag;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The cluster view (issue 20: `raftoral cluster` shows groups with size, leader, running
 * workflows and each member's lag): each group as the topology records it plus what its leader
 * reports (GroupStatus), asked of every group in parallel; a group whose leader does not answer
 * shows no report and the view still answers.
 */
class ClusterViewTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private final CountDownLatch release = new CountDownLatch(1);
  private LocalCluster cluster;

  @AfterEach
  void close() {
    release.countDown();
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void eachGroupShowsItsSizeLeaderRunningWorkflowsAndEveryMembersLag() throws Exception {
    cluster = LocalCluster.start(3, null, (id, b) -> b.electionTimeout(Duration.ofMillis(500)).requestTimeout(Duration.ofSeconds(10))
        .register(WorkflowDefinition.of("held", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("started", in);
          release.await();
          return in;
        }))
        .register(WorkflowDefinition.of("echo", 1, String.class, String.class, (ctx, in) -> ctx.checkpoint("v", in))));
    List<WorkflowHandle<String>> held = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      held.add(cluster.node(1 + i).start("held", 1, "h" + i, String.class));
    }
    assertThat(cluster.node(3).start("echo", 1, "done", String.class).result(WAIT)).isEqualTo("done");

    ClusterInfoReply info = await(cluster.node(2), i -> i.getExecutionGroupsCount() == 1
        && i.getExecutionGroups(0).getRunningWorkflows() == 2 && i.getExecutionGroups(0).getMemberLagCount() == 3);
    ExecutionGroupInfo g = info.getExecutionGroups(0);
    assertThat(g.getMembersList()).containsExactlyInAnyOrder(1L, 2L, 3L);
    assertThat(g.getLeaderNode()).isIn(1L, 2L, 3L);
    assertThat(g.getOpen()).isTrue();
    assertThat(g.getMergedInto()).isEmpty();
    assertThat(g.getMergeTarget()).isEmpty();
    assertThat(g.getCommitIndex()).as("starts, checkpoints and an end were committed").isGreaterThanOrEqualTo(4);
    assertThat(g.getMemberLagList()).extracting(MemberLag::getNodeId).containsExactlyInAnyOrder(1L, 2L, 3L);
    MemberLag leader = g.getMemberLagList().stream().filter(m -> m.getNodeId() == g.getLeaderNode()).findFirst().orElseThrow();
    assertThat(List.of(leader.getLagEntries(), leader.getMillisSinceContact())).as("the leader itself").containsExactly(0L, 0L);
    g.getMemberLagList().forEach(m -> assertThat(m.getLagEntries()).as(m.toString())
        .isEqualTo(Math.max(0, g.getCommitIndex() - m.getMatchIndex())));

    release.countDown();
    for (WorkflowHandle<String> h : held) {
      h.result(WAIT);
    }
    await(cluster.node(1), i -> i.getExecutionGroups(0).getRunningWorkflows() == 0 && i.getExecutionGroups(0).getMemberLagCount() == 3);
  }

  @Test
  void aGroupWhoseLeaderDoesNotAnswerShowsNoReportAndTheViewStillAnswers() throws Exception {
    cluster = LocalCluster.start(3, null, (id, b) -> b.electionTimeout(Duration.ofMillis(500)).requestTimeout(Duration.ofSeconds(10)));
    await(cluster.node(1), i -> i.getExecutionGroupsCount() == 1 && i.getExecutionGroups(0).getLeaderNode() != 0);
    cluster.node(2).close();
    cluster.node(3).close();

    // Node 1 alone has no quorum: no leader can report the group; the view answers with the topology.
    ClusterInfoReply info = await(cluster.node(1), i -> i.getExecutionGroups(0).getMemberLagCount() == 0);
    ExecutionGroupInfo g = info.getExecutionGroups(0);
    assertThat(g.getMembersList()).containsExactlyInAnyOrder(1L, 2L, 3L);
    assertThat(List.of(g.getRunningWorkflows(), g.getCommitIndex())).containsExactly(0L, 0L);
    assertThat(info.getNodesCount()).isEqualTo(3);
  }

  private static ClusterInfoReply await(io.raftoral.api.RaftoralNode n, Predicate<ClusterInfoReply> condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    ClusterInfoReply info = n.inspector().clusterInfoWithGroupStatus();
    while (!condition.test(info)) {
      assertThat(System.nanoTime()).as("the cluster view did not show it; last seen:\n%s", info).isLessThan(deadline);
      Thread.sleep(100);
      info = n.inspector().clusterInfoWithGroupStatus();
    }
    return info;
  }
}
