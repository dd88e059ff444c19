package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Rule: without a crash every side effect runs exactly once (SPEC §3), however often the group's
 * leadership is handed off while workflows run: each move is asked of the node that leads, so
 * each is a voluntary hand-off, and ownership claims race the next transfer.
 *
 * <p>Scenario: 12 workflows of 30 side effects (60 ms each) with plain writes between, while the
 * leadership is handed from node to node as fast as the hand-offs complete.
 */
class ExactlyOnceAcrossRepeatedHandOffsTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final int WORKFLOWS = 12;
  private static final int STEPS = 30;

  private final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
  private TestCluster cluster;

  @BeforeEach
  void start() {
    cluster = TestCluster.start(3, null, (node, b) -> b.register(WorkflowDefinition.of("steps", 1, Integer.class, Integer.class,
        (ctx, in) -> {
          int sum = in;
          for (int s = 0; s < STEPS; s++) {
            String step = ctx.workflowId() + "/" + s;
            sum += ctx.checkpointCompute("step-" + s, Integer.class, () -> {
              runs.computeIfAbsent(step, k -> new AtomicInteger()).incrementAndGet();
              Thread.sleep(60);
              return 1;
            });
            ctx.checkpoint("sum", sum);
          }
          return sum;
        })));
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  @Test
  void everySideEffectRunsOnceWhileTheLeadershipIsHandedOffOverAndOver() throws Exception {
    List<WorkflowHandle<Integer>> handles = new ArrayList<>();
    for (int i = 0; i < WORKFLOWS; i++) {
      handles.add(cluster.node(1 + i % 3).start("steps", 1, 100 * i, Integer.class, "wf-" + i));
    }
    AtomicBoolean done = new AtomicBoolean();
    AtomicInteger handOffs = new AtomicInteger();
    Thread mover = Thread.ofPlatform().start(() -> {
      long target = 1;
      while (!done.get()) {
        try {
          for (RaftoralNode n : cluster.nodes) {
            if (n.inspector().ownsGroupOf("wf-0")) {
              target = n.nodeId() % 3 + 1;
              if (n.inspector().transferLeadership("wf-0", target, Duration.ofSeconds(5))) {
                handOffs.incrementAndGet();
              }
            }
          }
          Thread.sleep(20);
        } catch (Exception e) {
          // a transfer that fails is retried on the next round
        }
      }
    });
    try {
      for (int i = 0; i < WORKFLOWS; i++) {
        assertThat(cluster.node(1 + (i + 1) % 3).handle("wf-" + i, Integer.class).result(TIMEOUT)).isEqualTo(100 * i + STEPS);
      }
    } finally {
      done.set(true);
      mover.join();
    }

    assertThat(handOffs.get()).as("hand-offs while the workflows ran").isGreaterThan(3);
    Set<String> twice = new HashSet<>();
    runs.forEach((step, n) -> {
      if (n.get() != 1) {
        twice.add(step + " ran " + n.get() + " times");
      }
    });
    assertThat(twice).as("side effects that did not run exactly once").isEmpty();
    assertThat(runs).hasSize(WORKFLOWS * STEPS);
  }
}
