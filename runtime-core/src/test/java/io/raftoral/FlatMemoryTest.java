package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.HistoryQuery;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.WorkflowDefinition;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPEC §10: a running workflow's replicas hold the latest value of each key in memory, not every
 * value it wrote; the others are read back from the state store, by a new owner that replays
 * the workflow from its first step and by history queries.
 */
class FlatMemoryTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(90);
  private static final int WRITES = 3_000;
  private static final Set<String> KEYS = Set.of("a", "b", "c");

  // Per node: how many runs of each workflow type started there.
  private static final Map<String, AtomicInteger> RUNS = new ConcurrentHashMap<>();
  private static final AtomicBoolean GATE_OPEN = new AtomicBoolean();

  /**
   * Writes WRITES values round-robin over KEYS (each the sum so far, so a replay that read a
   * wrong value returns another total), then waits at a gate: a side effect that fails until
   * the gate opens, which the workflow retries.
   */
  private static WorkflowDefinition<Integer, Long> longRunning(String type, long node, ExecutionMode mode) {
    return WorkflowDefinition.of(type, 1, Integer.class, Long.class, (ctx, n) -> {
      RUNS.computeIfAbsent(type + "@" + node, k -> new AtomicInteger()).incrementAndGet();
      long sum = 0;
      String[] keys = KEYS.stream().sorted().toArray(String[]::new);
      for (int i = 0; i < n; i++) {
        sum = ctx.checkpoint(keys[i % keys.length], sum + i, Long.class);
      }
      while (true) {
        try {
          return sum + ctx.checkpointCompute("gate", Long.class, () -> {
            if (!GATE_OPEN.get()) {
              throw new IllegalStateException("the gate is closed");
            }
            return 1L;
          });
        } catch (RuntimeException closed) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
      }
    }).withMode(mode);
  }

  @Test
  void aLongWorkflowKeepsOneValuePerKeyInMemoryAndANewOwnerReplaysItFromTheStore(@TempDir Path dir) throws Exception {
    GATE_OPEN.set(false);
    RUNS.clear();
    try (TestCluster c = TestCluster.start(3, dir, (node, b) -> {
      b.register(longRunning("hot", node, ExecutionMode.HOT_STANDBY));
      b.register(longRunning("owner_only", node, ExecutionMode.OWNER_ONLY));
    })) {
      c.makeOwner(1);
      WorkflowHandle<Long> hot = c.node(2).start("hot", 1, WRITES, Long.class);
      WorkflowHandle<Long> ownerOnly = c.node(3).start("owner_only", 1, WRITES, Long.class);
      String group = hot.executionGroup();
      assertThat(ownerOnly.executionGroup()).isEqualTo(group);
      for (RaftoralNode n : c.nodes) {
        for (WorkflowHandle<Long> h : java.util.List.of(hot, ownerOnly)) {
          awaitTrue(() -> n.describe(h.workflowId()).checkpointCount() == WRITES);
        }
      }

      // Both run, waiting at the gate: every replica holds one value per key and workflow.
      for (RaftoralNode n : c.nodes) {
        assertThat(n.inspector().checkpointValuesInMemory(group)).as("node %d", n.inspector().nodeId())
            .isEqualTo(2L * KEYS.size());
      }
      awaitTrue(() -> digests(c, group).size() == 1);

      // A new owner replays the owner-only workflow from its first step: 2,999 of its values come
      // from the store. Then both finish once the gate opens.
      c.makeOwner(2);
      awaitTrue(() -> RUNS.containsKey("owner_only@2"));
      GATE_OPEN.set(true);
      long expected = expectedResult();
      assertThat(ownerOnly.result(TIMEOUT)).isEqualTo(expected);
      assertThat(hot.result(TIMEOUT)).isEqualTo(expected);
      assertThat(RUNS.get("owner_only@2")).hasValue(1);
      for (RaftoralNode n : c.nodes) {
        assertThat(n.handle(hot.workflowId(), Long.class).result(TIMEOUT)).isEqualTo(expected);
        assertThat(n.describe(ownerOnly.workflowId()).checkpointCount()).isEqualTo(WRITES + 1);
      }

      // The history reads every value back from the store, in commit order.
      var page = c.node(3).history(ownerOnly.workflowId(), new HistoryQuery(null, 1000, null));
      assertThat(page.entries()).hasSize(1000);
      long sum = 0;
      for (int i = 0; i < 1000; i++) {
        sum += i;
        assertThat(new String(page.entries().get(i).value(), java.nio.charset.StandardCharsets.UTF_8)).as("entry %d", i)
            .isEqualTo(Long.toString(sum));
      }
      awaitTrue(() -> digests(c, group).size() == 1);
    }
  }

  private static long expectedResult() {
    long sum = 0;
    for (int i = 0; i < WRITES; i++) {
      sum += i;
    }
    return sum + 1;
  }

  private static Set<String> digests(TestCluster c, String group) {
    Set<String> digests = new HashSet<>();
    for (RaftoralNode n : c.nodes) {
      digests.add(n.inspector().replicaState(group).digest());
    }
    return digests;
  }

  private static void awaitTrue(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within " + TIMEOUT);
      }
      Thread.sleep(20);
    }
  }
}
