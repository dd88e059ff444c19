package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Rule (docs/ARCHITECTURE.md, "Voluntary hand-offs"): a voluntary move of a group's leadership (a
 * clean stop, a transfer, later balancing) lets the side effects running on the old owner propose
 * their results first, so without a crash a {@code checkpointCompute} function runs exactly once
 * (SPEC §3). A 3-node cluster in one JVM; node 1 owns the group and is inside a 3 s side effect
 * when the leadership is moved.
 */
class VoluntaryHandOffTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final long EFFECT_MILLIS = 3000;

  private final ConcurrentLinkedQueue<Long> effectRanOn = new ConcurrentLinkedQueue<>();
  private final Map<Long, AtomicInteger> ownerOnlyRuns = new ConcurrentHashMap<>();
  private final CountDownLatch effectStarted = new CountDownLatch(1);
  private TestCluster cluster;

  @BeforeEach
  void start() throws Exception {
    cluster = TestCluster.start(3, null, (node, b) -> b
        .register(WorkflowDefinition.of("effect", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("before", in);
          return ctx.checkpointCompute("effect", String.class, () -> {
            effectRanOn.add(node);
            effectStarted.countDown();
            Thread.sleep(EFFECT_MILLIS);
            return "ran-on-" + node;
          });
        }))
        .register(WorkflowDefinition.of("owner-only", 1, String.class, String.class, (ctx, in) -> {
          ownerOnlyRuns.computeIfAbsent(node, n -> new AtomicInteger()).incrementAndGet();
          ctx.checkpoint("before", in);
          String effect = ctx.checkpointCompute("effect", String.class, () -> {
            effectRanOn.add(node);
            effectStarted.countDown();
            Thread.sleep(EFFECT_MILLIS);
            return "ran-on-" + node;
          });
          return ctx.checkpoint("after", effect + "/finished-on-" + node);
        }).withMode(ExecutionMode.OWNER_ONLY)));
    cluster.makeOwner(1);
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  // close() of the owner is a hand-off: the running side effect finishes and its result is
  // committed before the leadership moves; another node completes the workflow with it.
  @Test
  void closingTheOwnerMidSideEffectRunsItOnce() throws Exception {
    WorkflowHandle<String> h = cluster.node(1).start("effect", 1, "in", String.class, "close-owner");
    assertThat(effectStarted.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();

    cluster.node(1).close();

    assertThat(cluster.node(2).handle(h.workflowId(), String.class).result(TIMEOUT)).isEqualTo("ran-on-1");
    assertThat(effectRanOn).containsExactly(1L);
  }

  // close() of a node that does not lead hands nothing off and disturbs nothing.
  @Test
  void closingAFollowerMidSideEffectLeavesTheOwnerAlone() throws Exception {
    WorkflowHandle<String> h = cluster.node(1).start("effect", 1, "in", String.class, "close-follower");
    assertThat(effectStarted.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();

    cluster.node(3).close();

    assertThat(cluster.node(2).handle(h.workflowId(), String.class).result(TIMEOUT)).isEqualTo("ran-on-1");
    assertThat(effectRanOn).containsExactly(1L);
    assertThat(cluster.node(1).inspector().ownsGroupOf("close-follower")).isTrue();
  }

  // OWNER_ONLY: the old owner's run stops at the hand-off; the new owner runs the function again
  // from the start and takes the committed side effect from the log instead of running it.
  @Test
  void anOwnerOnlyWorkflowHandedOffReplaysTheCommittedSideEffect() throws Exception {
    WorkflowHandle<String> h = cluster.node(1).start("owner-only", 1, "in", String.class, "owner-only");
    assertThat(effectStarted.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();

    cluster.node(1).close();

    String result = cluster.node(2).handle(h.workflowId(), String.class).result(TIMEOUT);
    assertThat(effectRanOn).containsExactly(1L);
    assertThat(result).startsWith("ran-on-1/finished-on-").isNotEqualTo("ran-on-1/finished-on-1");
    assertThat(ownerOnlyRuns.get(1L).get()).isEqualTo(1);
    long newOwner = Long.parseLong(result.substring(result.lastIndexOf('-') + 1));
    assertThat(ownerOnlyRuns.get(newOwner == 2 ? 3L : 2L)).as("the node that did not become owner never ran it").isNull();
  }
}
