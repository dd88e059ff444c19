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
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Break test (issue 20, merge): "every step is idempotent ... a new management leader that finds
 * merge_target set starts again at the seal" and re-adopts every page from the first. The target
 * prunes adopted workflows that finished (Retention: "its target prunes the adopted copies"). A
 * workflow adopted RUNNING, completed in the target and pruned there, is adopted again by the
 * redone merge: it comes back RUNNING and its steps after the export run a second time.
 */
class Issue20BreakReadoptAfterPruneTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final CountDownLatch release = new CountDownLatch(1);
  private final AtomicInteger second = new AtomicInteger();
  private TestCluster cluster;

  @BeforeEach
  void start() {
    cluster = TestCluster.start(3, null, (node, b) -> b.executionGroups(2).requestTimeout(Duration.ofSeconds(20))
        .retention(Duration.ofMillis(200))
        .register(WorkflowDefinition.of("two", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpointCompute("first", String.class, () -> "one");
          release.await();
          return ctx.checkpointCompute("second", String.class, () -> "two-" + second.incrementAndGet());
        })));
  }

  @AfterEach
  void stop() {
    release.countDown();
    cluster.close();
  }

  @Test
  void aPageAdoptedAgainByARedoneMergeDoesNotResurrectAWorkflowTheTargetFinishedAndPruned() throws Exception {
    NodeInspector node1 = cluster.node(1).inspector();
    List<GroupId> groups = node1.executionGroupIds();
    GroupId into = groups.get(0);
    GroupId from = groups.get(1);
    assertThat(propose(node1, from, Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder().setWorkflowId("w-1")
        .setType("two").setVersion(1).setInput(ByteString.copyFrom(new JsonCodec().encode("x")))
        .setStartedAtMillis(System.currentTimeMillis())).build()).getCode()).isEqualTo(ResultCode.APPLIED);
    await(() -> node1.group(from.uuid().toString()).state().get("w-1") != null
        && node1.group(from.uuid().toString()).state().get("w-1").toRecord().getCheckpointCount() == 1, "first step committed");

    // The merge as the first management leader drives it: seal, export, adopt.
    assertThat(propose(node1, from, Command.newBuilder().setSealGroup(SealGroup.newBuilder()
        .setMergeTarget(into.uuid().toString())).build()).getCode()).isEqualTo(ResultCode.APPLIED);
    QueryReply page = node1.group(from.uuid().toString()).query(Query.newBuilder().setExport(ExportWorkflows.newBuilder()
        .setAfterWorkflowId("").setMaxBytes(1 << 20)).build()).get(20, TimeUnit.SECONDS);
    assertThat(page.getExportedCount()).isEqualTo(1);
    assertThat(propose(node1, into, adopt(from, page)).getPruned()).isEqualTo(1);

    // It completes in the target, which then prunes it (retention 200 ms).
    release.countDown();
    GroupRuntime target = node1.group(into.uuid().toString());
    await(() -> target.state().get("w-1") != null && target.state().get("w-1").status() == WorkflowStatusCode.COMPLETED,
        "w-1 completed in the target");
    await(() -> target.state().get("w-1") == null, "w-1 pruned in the target");
    assertThat(second.get()).isEqualTo(1);

    // The management leader is deposed before FinishMerge; the new one redoes the merge from the seal.
    CommandResult again = propose(node1, into, adopt(from, page));
    assertThat(again.getPruned()).as("workflows the redone merge adds again to the target").isZero();
    assertThat(target.state().get("w-1")).as("w-1 in the target after the redone adoption").isNull();
    assertThat(second.get()).as("runs of w-1's second step").isEqualTo(1);
  }

  private static Command adopt(GroupId from, QueryReply page) {
    return Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder().setFromGroup(from.uuid().toString())
        .addAllWorkflows(page.getExportedList())).build();
  }

  private static CommandResult propose(NodeInspector node, GroupId group, Command command) throws Exception {
    Proposer.Outcome outcome = node.propose(group, command).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    return outcome.result();
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.sleep(20);
    }
  }
}
