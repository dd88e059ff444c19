package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftoral.TestCluster;
import io.raftoral.proto.raft.AdoptWorkflows;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.ExportWorkflows;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.SealGroup;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.Proposer;
import io.raftoral.workflow.JsonCodec;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Break test (issue 20, merge): SPEC §2 says a checkpointCompute function "without failures ...
 * runs exactly once in the whole cluster". A merge is no failure. Here the function is running
 * on the source group's owner when the group is sealed (as GroupMerge does, at any moment);
 * the merge target adopts the workflow and its owner runs the function again, while the first
 * run is still inside it. A voluntary hand-off drains side effects first for this reason; the
 * seal does not.
 */
class Issue20BreakMergeSideEffectTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final CountDownLatch entered = new CountDownLatch(1);
  private final CountDownLatch release = new CountDownLatch(1);
  private final AtomicInteger runs = new AtomicInteger();
  private TestCluster cluster;

  @BeforeEach
  void start() {
    cluster = TestCluster.start(3, null, (node, b) -> b.executionGroups(2).requestTimeout(Duration.ofSeconds(20))
        .register(WorkflowDefinition.of("charge", 1, String.class, String.class, (ctx, in) ->
            ctx.checkpointCompute("charge", String.class, () -> {
              int n = runs.incrementAndGet();
              if (n == 1) {
                entered.countDown();
                release.await(); // a slow call to the outside world, in flight when the seal commits
              }
              return "charged-" + n;
            }))));
  }

  @AfterEach
  void stop() {
    release.countDown();
    cluster.close();
  }

  @Test
  void aSideEffectInFlightWhenTheGroupIsSealedRunsOnceInTheCluster() throws Exception {
    NodeInspector node1 = cluster.node(1).inspector();
    List<GroupId> groups = node1.executionGroupIds();
    GroupId into = groups.get(0);
    GroupId from = groups.get(1);
    assertThat(propose(node1, from, Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder().setWorkflowId("pay-1")
        .setType("charge").setVersion(1).setInput(ByteString.copyFrom(new JsonCodec().encode("x")))
        .setStartedAtMillis(System.currentTimeMillis())).build()).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(entered.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the side effect started").isTrue();

    // The merge, as GroupMerge drives it: seal, export every page, adopt them into the target.
    assertThat(propose(node1, from, Command.newBuilder().setSealGroup(SealGroup.newBuilder()
        .setMergeTarget(into.uuid().toString())).build()).getCode()).isEqualTo(ResultCode.APPLIED);
    QueryReply page = node1.group(from.uuid().toString()).query(Query.newBuilder().setExport(ExportWorkflows.newBuilder()
        .setAfterWorkflowId("").setMaxBytes(1 << 20)).build()).get(20, TimeUnit.SECONDS);
    assertThat(page.getMore()).isFalse();
    assertThat(propose(node1, into, Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder()
        .setFromGroup(from.uuid().toString()).addAllWorkflows(page.getExportedList())).build()).getCode())
        .isEqualTo(ResultCode.APPLIED);

    // The first call to the outside world returns; the workflow ends in the target.
    release.countDown();
    GroupRuntime target = node1.group(into.uuid().toString());
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (target.state().get("pay-1") == null || target.state().get("pay-1").status() != WorkflowStatusCode.COMPLETED) {
      assertThat(System.nanoTime()).as("pay-1 completes in the target").isLessThan(deadline);
      Thread.sleep(50);
    }
    assertThat(runs.get()).as("runs of the checkpointCompute function of pay-1 (no failure happened)").isEqualTo(1);
  }

  private static CommandResult propose(NodeInspector node, GroupId group, Command command) throws Exception {
    Proposer.Outcome outcome = node.propose(group, command).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    return outcome.result();
  }
}
