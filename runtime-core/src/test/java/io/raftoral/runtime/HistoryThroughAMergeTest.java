package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.common.HistoryEntry;
import io.raftoral.proto.management.BeginMerge;
import io.raftoral.proto.management.FinishMerge;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.raft.AdoptWorkflows;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.ExportWorkflows;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.SealGroup;
import io.raftoral.raft.GroupId;
import io.raftoral.state.WorkflowState;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A workflow's history across a merge (issue 20, 21): the adopted checkpoints keep the source
 * group's committed-at, owner node and term; the ones committed after the merge carry the
 * target's owner; the history call follows the workflow into the target. 3 real Ratis nodes,
 * {@code executionGroups(2)}, the merge driven step by step as the management leader runs it.
 */
class HistoryThroughAMergeTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private final CountDownLatch release = new CountDownLatch(1);
  private TestCluster cluster;

  @BeforeEach
  void start() {
    cluster = TestCluster.start(3, null, (node, b) -> b.executionGroups(2).requestTimeout(Duration.ofSeconds(20))
        .register(WorkflowDefinition.of("merge", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("step", in + "-1");
          ctx.checkpoint("step", in + "-2");
          release.await();
          return ctx.checkpoint("step", in + "-3");
        })));
  }

  @AfterEach
  void stop() {
    release.countDown();
    cluster.close();
  }

  @Test
  void adoptedEntriesKeepTheSourceInfoAndLaterOnesCarryTheTargetOwner() throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    for (long n = 1; n <= 3; n++) {
      while (cluster.node(n).inspector().clusterInfo().getExecutionGroupsCount() < 2) {
        assertThat(System.nanoTime()).as("node %d applies the topology", n).isLessThan(deadline);
        Thread.sleep(50);
      }
    }
    NodeInspector node1 = cluster.node(1).inspector();
    List<GroupId> groups = node1.executionGroupIds();
    GroupId into = groups.get(0);
    GroupId from = groups.get(1);
    String id = cluster.node(2).start("merge", 1, "m", String.class, node1.workflowIdIn(1)).workflowId();
    while (cluster.node(1).history(id).size() < 2) {
      assertThat(System.nanoTime()).as("two steps committed").isLessThan(deadline);
      Thread.sleep(20);
    }
    List<HistoryEntry> beforeMerge = cluster.node(3).history(id);
    WorkflowState.Owner sourceOwner = node1.replicaOwner(from.uuid().toString());
    assertThat(beforeMerge).allSatisfy(e -> {
      assertThat(e.ownerNode()).isEqualTo(sourceOwner.node());
      assertThat(e.ownerTerm()).isEqualTo(sourceOwner.term());
    });

    NodeInspector leader = ClusterProbe.managementLeader(cluster, WAIT);
    ManagementResult begun = leader.decide(ManagementCommand.newBuilder()
        .setBeginMerge(BeginMerge.newBuilder().setFromIndex(1).setIntoIndex(0).setReason("test")).build());
    assertThat(begun.getApplied()).as("BeginMerge: %s", begun).isTrue();
    node1.propose(from, Command.newBuilder().setSealGroup(SealGroup.newBuilder().setMergeTarget(into.uuid().toString())).build())
        .get(20, TimeUnit.SECONDS);
    QueryReply page = node1.group(from.uuid().toString()).query(Query.newBuilder().setExport(ExportWorkflows.newBuilder()
        .setMaxBytes(1 << 20)).build()).get(20, TimeUnit.SECONDS);
    assertThat(page.getMore()).isFalse();
    node1.propose(into, Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder()
        .setFromGroup(from.uuid().toString()).addAllWorkflows(page.getExportedList())).build()).get(20, TimeUnit.SECONDS);
    ManagementResult finished = ClusterProbe.managementLeader(cluster, WAIT).decide(ManagementCommand.newBuilder()
        .setFinishMerge(FinishMerge.newBuilder().setFromIndex(1)).build());
    assertThat(finished).isNotNull();
    for (long n = 1; n <= 3; n++) {
      NodeInspector in = cluster.node(n).inspector();
      while (!in.routing().isRetired(from)) {
        assertThat(System.nanoTime()).as("node %d sees group 1 retired", n).isLessThan(deadline);
        Thread.sleep(20);
      }
    }

    release.countDown();
    assertThat(cluster.node(1).handle(id, String.class).result(WAIT)).isEqualTo("m-3");

    List<HistoryEntry> after = cluster.node(2).history(id, "step");
    assertThat(after).hasSize(3);
    assertThat(after.subList(0, 2)).as("adopted entries, as the source group recorded them").isEqualTo(beforeMerge);
    WorkflowState.Owner targetOwner = node1.replicaOwner(into.uuid().toString());
    assertThat(after.get(2).ownerNode()).isEqualTo(targetOwner.node());
    assertThat(after.get(2).ownerTerm()).isEqualTo(targetOwner.term());
    assertThat(after.get(2).committedAt()).isAfterOrEqualTo(after.get(1).committedAt());
    for (long n = 1; n <= 3; n++) {
      assertThat(cluster.node(n).history(id)).as("history from node %d", n).isEqualTo(after);
    }
  }
}
