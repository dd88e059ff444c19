package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Rule: a node decides as owner only under the claim of the term it leads in now. A node that
 * leads again after an earlier term of its own still holds that old claim in its replica until it
 * has applied everything committed since (other owners' claims and results); deciding under the
 * old claim in that window runs side effects that another owner has already committed.
 *
 * <p>Scenario, every leadership move a voluntary hand-off (no crash): node 1 owns; node 1's apply
 * thread stalls (a slow disk; its log still receives entries); node 1 hands off to node 2, which
 * claims, runs the side effect and commits the workflow's end; node 2 hands the group back to node
 * 1. Node 1 leads a new term but its replica still says "owner: node 1 (old term)" and shows no
 * result for the step. SPEC §3: without a crash a compute function runs exactly once.
 */
class OwnerDecidesOnlyUnderItsCurrentTermClaimTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final ConcurrentLinkedQueue<Long> effectRanOn = new ConcurrentLinkedQueue<>();
  private final CountDownLatch atGate = new CountDownLatch(3);
  private final CountDownLatch proceed = new CountDownLatch(1);
  private TestCluster cluster;

  @BeforeEach
  void start() throws Exception {
    cluster = TestCluster.start(3, null, (node, b) -> b.register(WorkflowDefinition.of("gated", 1, String.class, String.class,
        (ctx, in) -> {
          ctx.checkpoint("before", in);
          // Not durable: only lets the test decide when the runs reach the side effect.
          atGate.countDown();
          proceed.await();
          return ctx.checkpointCompute("effect", String.class, () -> {
            effectRanOn.add(node);
            return "ran-on-" + node;
          });
        })));
    moveOwnershipTo(1, 1);
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  @Test
  void aNewLeaderDoesNotDecideUnderItsOwnClaimOfAnEarlierTerm() throws Exception {
    WorkflowHandle<String> h = cluster.node(1).start("gated", 1, "in", String.class, "stale-claim");
    assertThat(atGate.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).as("every node's run reached the gate").isTrue();

    try (var stall = ClusterProbe.applyStall(ClusterProbe.group(cluster, 1, h.executionGroup()).stateMachine())) {
      moveOwnershipTo(2, 1);
      proceed.countDown();
      ClusterProbe.await("node 2 completed the workflow", TIMEOUT,
          () -> cluster.node(2).describe("stale-claim").status() == WorkflowStatus.COMPLETED);
      assertThat(effectRanOn).containsExactly(2L);

      // Back to node 1, whose replica has applied nothing since it handed off.
      assertThat(cluster.node(2).inspector().transferLeadership("stale-claim", 1, Duration.ofSeconds(10))).isTrue();
      // Give node 1's runs, woken by the leadership change, time to decide (or rightly wait).
      Thread.sleep(2000);
    }

    assertThat(cluster.node(3).handle(h.workflowId(), String.class).result(TIMEOUT)).isEqualTo("ran-on-2");
    assertThat(effectRanOn).as("nodes that ran the side effect").containsExactly(2L);
  }

  /** Moves the group's leadership to {@code node} (asking node {@code via}) until that node owns it. */
  private void moveOwnershipTo(long node, long via) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!cluster.node(node).inspector().ownsGroupOf("stale-claim")) {
      cluster.node(via).inspector().transferLeadership("stale-claim", node, Duration.ofSeconds(5));
      assertThat(System.nanoTime()).as("node %d became the owner in time", node).isLessThan(deadline);
      Thread.sleep(50);
    }
  }
}
