package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A new leader's ownership claim is the node's own work: workflow code that keeps every carrier
 * of the virtual-thread scheduler busy (code that computes without blocking, as GraalPy does
 * while it makes a context) must not hold it back, or the whole group waits for that code. Found
 * in the conformance suite: after a leadership change the new leader of a GraalPy cluster claimed
 * its group 13 to 30 s late, while the runs it resumed made their contexts.
 */
class ClaimUnderBusyWorkflowCodeTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final AtomicBoolean release = new AtomicBoolean();
  private static final AtomicInteger spinning = new AtomicInteger();
  private TestCluster cluster;

  @AfterEach
  void stop() {
    release.set(true);
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aNewLeaderClaimsItsGroupWhileWorkflowCodeKeepsEveryCarrierBusy() throws Exception {
    release.set(false);
    spinning.set(0);
    cluster = TestCluster.start(3, null, (node, b) -> b.register(WorkflowDefinition.of("spin", 1, String.class, String.class,
        (ctx, in) -> {
          ctx.checkpoint("started", in);
          spinning.incrementAndGet();
          while (!release.get()) {
            Thread.onSpinWait(); // computes, never blocks: its carrier stays taken
          }
          return ctx.checkpoint("done", in);
        })));
    cluster.makeOwner(1);
    int carriers = Integer.getInteger("jdk.virtualThreadScheduler.parallelism", Runtime.getRuntime().availableProcessors());
    List<WorkflowHandle<String>> handles = new ArrayList<>();
    for (int i = 0; i < carriers; i++) {
      handles.add(cluster.node(1).start("spin", 1, "in-" + i, String.class, "spin-" + i));
    }
    awaitTrue(() -> spinning.get() >= carriers, "every carrier spinning");

    assertThat(cluster.node(1).inspector().transferLeadership("any", 2, Duration.ofSeconds(10))).isTrue();

    // Still spinning: node 2 must own the group all the same.
    awaitTrue(() -> cluster.node(2).inspector().ownsGroupOf("any"), "node 2 claiming the group");
    assertThat(release.get()).isFalse();

    release.set(true);
    for (int i = 0; i < carriers; i++) {
      assertThat(handles.get(i).result(TIMEOUT)).isEqualTo("in-" + i);
    }
  }

  private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no " + what + " within 30 s");
      }
      Thread.sleep(50);
    }
  }
}
