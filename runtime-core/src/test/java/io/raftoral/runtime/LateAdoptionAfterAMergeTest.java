package io.raftoral.runtime;

import static io.raftoral.runtime.ClusterProbe.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.proto.management.BeginMerge;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.raft.AdoptWorkflows;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.ExportWorkflows;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.raft.GroupId;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Rule (issue 20, merge): a page of a merge adopted after the merge finished adds nothing, even
 * once the target has pruned the workflows it adopted. Such a page is a deposed management
 * leader's AdoptWorkflows, delayed in flight: the page is right (read from the sealed source),
 * only late. Adopted again, a pruned workflow would come back RUNNING and its steps after the
 * export would run a second time.
 *
 * <p>Scenario: 3 real Ratis nodes, {@code executionGroups(2)}, retention 200 ms. {@code w} runs
 * its first step in group 1 and waits. Every replica of group 0 holds its apply thread, so the
 * merge of group 1 into group 0, begun through the management leader and driven by it, stops
 * after the seal; the test reads the page the driver reads. The replicas go on; the merge ends;
 * {@code w} completes in group 0 and is pruned there. Then the page is adopted again.
 */
class LateAdoptionAfterAMergeTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final CountDownLatch release = new CountDownLatch(1);
  private final AtomicInteger secondSteps = new AtomicInteger();
  private TestCluster cluster;

  @BeforeEach
  void start() {
    cluster = TestCluster.start(3, null, (node, b) -> b.executionGroups(2).requestTimeout(Duration.ofSeconds(20))
        .retention(Duration.ofMillis(200))
        .register(WorkflowDefinition.of("two", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpointCompute("first", String.class, () -> "one");
          release.await();
          return ctx.checkpointCompute("second", String.class, () -> "two-" + secondSteps.incrementAndGet());
        })));
  }

  @AfterEach
  void stop() {
    release.countDown();
    cluster.close();
  }

  @Test
  void aPageAdoptedAfterTheMergeFinishedAddsNothing() throws Exception {
    NodeInspector node1 = cluster.node(1).inspector();
    await("node 1 applies the topology", WAIT, () -> node1.executionGroupIds().size() == 2);
    GroupId into = node1.executionGroupIds().get(0);
    GroupId from = node1.executionGroupIds().get(1);
    String w = cluster.node(1).start("two", 1, "x", String.class, node1.workflowIdIn(1)).workflowId();
    await("w ran its first step", WAIT, () -> cluster.node(1).describe(w).checkpointCount() == 1);

    List<ClusterProbe.Stall> stalls = new ArrayList<>();
    for (long n = 1; n <= 3; n++) {
      stalls.add(ClusterProbe.applyStall(ClusterProbe.group(cluster, n, into.uuid().toString()).stateMachine()));
    }
    await("BeginMerge committed", WAIT, () -> {
      try {
        ManagementResult begun = ClusterProbe.managementLeader(cluster, WAIT).decide(ManagementCommand.newBuilder()
            .setBeginMerge(BeginMerge.newBuilder().setFromIndex(1).setIntoIndex(0).setReason("test")).build());
        return begun != null && begun.getApplied();
      } catch (Exception notYet) {
        return false;
      }
    });
    GroupRuntime source = ClusterProbe.group(cluster, 1, from.uuid().toString());
    await("group 1 sealed", WAIT, () -> source.state().sealed());
    QueryReply page = source.query(Query.newBuilder().setExport(ExportWorkflows.newBuilder().setAfterWorkflowId("")
        .setMaxBytes(1 << 20)).build()).get(20, TimeUnit.SECONDS);
    assertThat(page.getExportedList()).extracting(x -> x.getRecord().getWorkflowId()).containsExactly(w);
    for (ClusterProbe.Stall s : stalls) {
      s.close();
    }
    for (long n = 1; n <= 3; n++) {
      NodeInspector in = cluster.node(n).inspector();
      await("node " + n + " sees group 1 retired", WAIT, () -> in.routing().isRetired(from));
    }

    release.countDown();
    assertThat(cluster.node(2).handle(w, String.class).result(WAIT)).isEqualTo("two-1");
    GroupRuntime target = ClusterProbe.group(cluster, 1, into.uuid().toString());
    await("w pruned in group 0", WAIT, () -> target.state().get(w) == null);

    CommandResult late = node1.propose(into, Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder()
        .setFromGroup(from.uuid().toString()).addAllWorkflows(page.getExportedList())).build())
        .get(WAIT.toSeconds(), TimeUnit.SECONDS).result();
    assertThat(late.getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(late.getPruned()).as("workflows the late page added").isZero();
    for (long n = 1; n <= 3; n++) {
      assertThat(ClusterProbe.group(cluster, n, into.uuid().toString()).state().get(w)).as("w on node %d", n).isNull();
    }
    assertThat(secondSteps).as("runs of w's second step").hasValue(1);
  }
}
