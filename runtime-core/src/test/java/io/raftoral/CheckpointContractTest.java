package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * SPEC §3: per (workflow, key) the committed values form one sequence, and the n-th write of a
 * key returns the n-th committed value on every node, however fast or slow each member runs.
 */
class CheckpointContractTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  /** Each node proposes values that name it (node * 1000 + i), so a returned value shows whose it was. */
  @Test
  void everyMemberObservesExactlyTheCommittedSequence() {
    Map<Long, List<Integer>> seenA = new ConcurrentHashMap<>();
    Map<Long, List<Integer>> seenB = new ConcurrentHashMap<>();
    try (TestCluster c = TestCluster.start(3, null, (node, b) -> {
      seenA.put(node, new CopyOnWriteArrayList<>());
      seenB.put(node, new CopyOnWriteArrayList<>());
      b.register(WorkflowDefinition.of("interleaved", 1, Integer.class, Integer.class, (ctx, n) -> {
        for (int i = 1; i <= n; i++) {
          if (node == 3) {
            Thread.sleep(3); // one member deliberately slow; the others run as fast as they can
          }
          seenA.get(node).add(ctx.checkpoint("a", (int) (node * 1000 + i)));
          if (i % 3 == 0) {
            seenB.get(node).add(ctx.checkpoint("b", (int) (node * 1000 + i)));
          }
        }
        return seenA.get(node).getLast();
      }));
    })) {
      WorkflowHandle<Integer> h = c.node(1).start("interleaved", 1, 100, Integer.class);
      int last = h.result(TIMEOUT);
      for (RaftoralNode n : c.nodes) {
        assertThat(n.handle(h.workflowId(), Integer.class).result(TIMEOUT)).isEqualTo(last);
      }
      List<Integer> committedA = seenA.get(1L);
      assertThat(committedA).hasSize(100);
      long owner = committedA.getFirst() / 1000;
      for (int i = 0; i < 100; i++) {
        assertThat(committedA.get(i)).as("position %d of key a", i).isEqualTo(owner * 1000 + i + 1);
      }
      // Members that run in HOT_STANDBY finish their own run too; wait for the slow one.
      awaitSize(seenA, 3, 100);
      awaitSize(seenB, 3, 33);
      for (long node = 1; node <= 3; node++) {
        assertThat(seenA.get(node)).as("key a on node %d", node).isEqualTo(committedA);
        assertThat(seenB.get(node)).as("key b on node %d", node).isEqualTo(seenB.get(1L));
      }
      assertThat(seenB.get(1L)).hasSize(33).allSatisfy(v -> assertThat(v / 1000).isEqualTo(owner));
      assertThat(c.node(2).describe(h.workflowId()).checkpointCount()).isEqualTo(133);
      // Every run has returned: each replica releases the ended workflow's values from memory.
      for (RaftoralNode n : c.nodes) {
        awaitTrue(() -> n.inspector().checkpointValuesInMemory(h.executionGroup()) == 0);
        assertThat(n.inspector().checkpointValuesInMemory(h.executionGroup())).isZero();
        assertThat(n.describe(h.workflowId()).checkpointCount()).isEqualTo(133);
      }
    }
  }

  @Test
  void computeRunsExactlyOncePerStepClusterWideInBothModes() {
    AtomicInteger hotEffects = new AtomicInteger();
    AtomicInteger ownerOnlyEffects = new AtomicInteger();
    Map<Long, AtomicInteger> ownerOnlyRuns = new ConcurrentHashMap<>();
    try (TestCluster c = TestCluster.start(3, null, (node, b) -> {
      ownerOnlyRuns.put(node, new AtomicInteger());
      b.register(steps("hot", hotEffects, null));
      b.register(steps("owner_only", ownerOnlyEffects, ownerOnlyRuns.get(node)).withMode(ExecutionMode.OWNER_ONLY));
    })) {
      assertThat(c.node(2).start("hot", 1, 20, Integer.class).result(TIMEOUT)).isEqualTo(190);
      assertThat(hotEffects).hasValue(20);

      WorkflowHandle<Integer> h = c.node(3).start("owner_only", 1, 20, Integer.class);
      assertThat(h.result(TIMEOUT)).isEqualTo(190);
      assertThat(ownerOnlyEffects).hasValue(20);
      long owner = c.node(1).describe(h.workflowId()).ownerNode();
      for (long node = 1; node <= 3; node++) {
        assertThat(ownerOnlyRuns.get(node)).as("runs on node %d (owner %d)", node, owner).hasValue(node == owner ? 1 : 0);
      }
    }
  }

  @Test
  void replicatedVariableFollowsTheContract() {
    try (TestCluster c = TestCluster.start(3, null, (node, b) -> b.register(
        WorkflowDefinition.of("counter", 1, Integer.class, Integer.class, (ctx, n) -> {
          var count = ctx.var("count", Integer.class, 0);
          for (int i = 0; i < n; i++) {
            count.update(v -> v + 1);
          }
          return count.get();
        })))) {
      WorkflowHandle<Integer> h = c.node(3).start("counter", 1, 10, Integer.class);
      assertThat(h.result(TIMEOUT)).isEqualTo(10);
      assertThat(c.node(1).describe(h.workflowId()).checkpointCount()).isEqualTo(11);
    }
  }

  /** n compute steps; step i returns i and counts one side effect. */
  static WorkflowDefinition<Integer, Integer> steps(String type, AtomicInteger effects, AtomicInteger runs) {
    return WorkflowDefinition.of(type, 1, Integer.class, Integer.class, (ctx, n) -> {
      if (runs != null) {
        runs.incrementAndGet();
      }
      int sum = 0;
      for (int i = 0; i < n; i++) {
        int step = i;
        sum += ctx.checkpointCompute("step", Integer.class, () -> {
          effects.incrementAndGet();
          return step;
        });
      }
      return sum;
    });
  }

  private static void awaitSize(Map<Long, List<Integer>> seen, long node, int size) {
    awaitTrue(() -> seen.get(node).size() >= size);
  }

  /** Waits up to {@link #TIMEOUT} for {@code condition}; the assertions after it tell what failed. */
  private static void awaitTrue(java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }
  }
  /**
   * A side effect that throws commits nothing, and its position stays free: a function that
   * catches the error and writes the key again commits at that same position.
   */
  @Test
  void aFailedComputeLeavesItsPositionFreeForARetry() {
    AtomicInteger attempts = new AtomicInteger();
    try (TestCluster c = TestCluster.start(1, null, (node, b) -> b.register(
        WorkflowDefinition.of("retry", 1, Integer.class, String.class, (ctx, n) -> {
          StringBuilder seen = new StringBuilder();
          for (int i = 0; i < n; i++) {
            try {
              seen.append(ctx.checkpointCompute("charge", Integer.class, () -> {
                if (attempts.incrementAndGet() % 2 == 1) {
                  throw new IllegalStateException("declined");
                }
                return attempts.get();
              })).append(',');
            } catch (IllegalStateException declined) {
              seen.append(ctx.checkpointCompute("charge", Integer.class, attempts::incrementAndGet)).append(';');
            }
          }
          return seen.toString();
        })))) {
      WorkflowHandle<String> h = c.node(1).start("retry", 1, 3, String.class);
      assertThat(h.result(TIMEOUT)).isEqualTo("2;4;6;");
      assertThat(h.describe().checkpointCount()).isEqualTo(3);
    }
  }

  /**
   * The owner goes on after proposing a write (pipelining), but a side effect runs only once
   * every earlier write is committed, and the end commits only after all of them: the compute
   * step sees all 200 earlier writes in its own node's replica.
   */
  @Test
  void pipelinedWritesAreCommittedBeforeASideEffectRunsAndBeforeTheEnd() {
    Map<Long, RaftoralNode> nodes = new ConcurrentHashMap<>();
    try (TestCluster c = TestCluster.start(3, null, (node, b) -> b.register(
        WorkflowDefinition.of("pipelined", 1, Integer.class, Integer.class, (ctx, n) -> {
          int sum = 0;
          for (int i = 0; i < n; i++) {
            sum += ctx.checkpoint("p", i);
          }
          long seenBySideEffect = ctx.checkpointCompute("effect", Long.class,
              () -> nodes.get(node).describe(ctx.workflowId()).checkpointCount());
          return sum + (int) seenBySideEffect;
        })))) {
      for (long id = 1; id <= 3; id++) {
        nodes.put(id, c.node(id));
      }
      WorkflowHandle<Integer> h = c.node(2).start("pipelined", 1, 200, Integer.class);

      assertThat(h.result(TIMEOUT)).isEqualTo(199 * 200 / 2 + 200);
      for (RaftoralNode n : c.nodes) {
        assertThat(n.handle(h.workflowId(), Integer.class).result(TIMEOUT)).isEqualTo(199 * 200 / 2 + 200);
        assertThat(n.describe(h.workflowId()).checkpointCount()).isEqualTo(201);
      }
    }
  }
}
