package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftoral.TestCluster;
import io.raftoral.proto.management.BeginMerge;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.ResultCode;
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
 * SPEC §2: without failures a checkpointCompute function runs exactly once in the whole cluster,
 * and a merge is no failure. Here the function is running on the owner of the group being merged
 * away when the merge begins: the source's leader seals its group only once that side effect
 * has proposed its result (LeaderPlacement drains as a voluntary hand-off does), so the merge
 * target adopts the workflow with the step committed and never runs the function again.
 * (Before, the merge driver sealed at once and the target's owner ran the function a second
 * time while the first run was still inside it.)
 */
class MergeDrainsSideEffectsTest {
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
                release.await(); // a slow call to the outside world, in flight when the merge begins
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
  void aSideEffectInFlightWhenItsGroupIsMergedAwayRunsOnceInTheCluster() throws Exception {
    NodeInspector node1 = cluster.node(1).inspector();
    List<GroupId> groups = node1.executionGroupIds();
    GroupId into = groups.get(0);
    GroupId from = groups.get(1);
    assertThat(propose(node1, from, Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder().setWorkflowId("pay-1")
        .setType("charge").setVersion(1).setInput(ByteString.copyFrom(new JsonCodec().encode("x")))
        .setStartedAtMillis(System.currentTimeMillis())).build()).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(entered.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the side effect started").isTrue();

    // The management leader merges group 1 into group 0; the merge runs on its own from here.
    ManagementResult begun = ClusterProbe.managementLeader(cluster, WAIT).decide(ManagementCommand.newBuilder()
        .setBeginMerge(BeginMerge.newBuilder().setFromIndex(1).setIntoIndex(0).setReason("test")).build());
    assertThat(begun).isNotNull();
    assertThat(begun.getApplied()).as("BeginMerge: %s", begun).isTrue();
    Thread.sleep(1000); // the source's leader is draining: its seal waits for the side effect
    GroupRuntime source = node1.group(from.uuid().toString());
    assertThat(source != null && !source.isSealed()).as("the source is neither sealed nor merged away while its side effect runs")
        .isTrue();

    // The call to the outside world returns; its result is committed in the source, which is
    // then sealed, copied into the target and retired; the workflow ends in the target.
    release.countDown();
    GroupRuntime target = node1.group(into.uuid().toString());
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (target.state().get("pay-1") == null || target.state().get("pay-1").status() != WorkflowStatusCode.COMPLETED) {
      assertThat(System.nanoTime()).as("pay-1 completes in the target").isLessThan(deadline);
      Thread.sleep(50);
    }
    assertThat(target.state().get("pay-1").toRecord().getResult().toStringUtf8()).isEqualTo("\"charged-1\"");
    assertThat(runs.get()).as("runs of the checkpointCompute function of pay-1 (no failure happened)").isEqualTo(1);
  }

  private static CommandResult propose(NodeInspector node, GroupId group, Command command) throws Exception {
    Proposer.Outcome outcome = node.propose(group, command).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    return outcome.result();
  }
}
