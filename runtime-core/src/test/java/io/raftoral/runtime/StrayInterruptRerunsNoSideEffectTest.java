package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Rule (SPEC §3): without a crash a {@code checkpointCompute} function runs exactly once. A
 * workflow thread's interrupt flag is the user's business (Java code that catches
 * InterruptedException restores it by convention) and no failure: the runtime interrupts runs
 * only when the node closes.
 *
 * <p>Scenario: a side effect leaves the interrupt flag set (as the idiom {@code catch
 * (InterruptedException e) { Thread.currentThread().interrupt(); ... }} does) and the function goes
 * on to its next step. The run's next wait sees the flag and aborts the run; the node starts a
 * fresh run at once, which finds the side effect's result still in flight, not committed, and
 * runs the side effect again (and again: each rerun leaves the flag set too).
 */
class StrayInterruptRerunsNoSideEffectTest {
  @Test
  void aSideEffectThatLeavesTheInterruptFlagSetRunsOnce() throws Exception {
    Map<String, AtomicInteger> ran = new ConcurrentHashMap<>();
    try (TestCluster cluster = TestCluster.start(3, null, (node, b) -> b.register(WorkflowDefinition.of("intr", 1, String.class, String.class,
        (ctx, in) -> {
          String a = ctx.checkpointCompute("a", String.class, () -> {
            ran.computeIfAbsent(ctx.workflowId(), k -> new AtomicInteger()).incrementAndGet();
            Thread.currentThread().interrupt();
            return "a";
          });
          return ctx.checkpoint("b", a + "b");
        })))) {
      for (int i = 0; i < 5; i++) {
        assertThat(cluster.node(1).start("intr", 1, "in", String.class, "intr-" + i).result(Duration.ofSeconds(30))).isEqualTo("ab");
      }
      Map<String, Integer> notOnce = new TreeMap<>();
      ran.forEach((id, n) -> {
        if (n.get() != 1) {
          notOnce.put(id, n.get());
        }
      });
      assertThat(notOnce).as("workflows whose side effect did not run exactly once").isEmpty();
    }
  }
}
