package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.RaftoralNode;
import io.raftoral.common.HistoryEntry;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;

/** What the durable-sleep tests share: a sleeping workflow, reading committed wake-up times, waiting on every node. */
public final class Sleepers {
  private static final Duration TIMEOUT = Duration.ofSeconds(90);

  private Sleepers() {}

  /** Step "before" (a side effect), a sleep of the input's milliseconds, then step "after", whose value (its wall-clock time) is the result. */
  public static WorkflowDefinition<Long, Long> napper(String type, long node, StepLog log, ExecutionMode mode) {
    return WorkflowDefinition.of(type, 1, Long.class, Long.class, (WorkflowContext ctx, Long millis) -> {
      ctx.checkpointCompute("before", Integer.class, () -> {
        log.record(node, 0);
        return 0;
      });
      ctx.sleep(Duration.ofMillis(millis));
      return ctx.checkpointCompute("after", Long.class, () -> {
        log.record(node, 1);
        return System.currentTimeMillis();
      });
    }).withMode(mode);
  }

  /** A committed wake-up time (epoch ms). */
  public static long wakeUpOf(HistoryEntry sleep) {
    return Long.parseLong(new String(sleep.value(), StandardCharsets.US_ASCII));
  }

  /** Waits until the workflow's {@code count}-th wake-up time is committed; returns it. */
  public static long awaitWakeUp(RaftoralNode node, String workflowId, int count) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      List<HistoryEntry> sleeps = node.history(workflowId, WorkflowContext.SLEEP_KEY);
      if (sleeps.size() >= count) {
        return wakeUpOf(sleeps.get(count - 1));
      }
      assertThat(System.nanoTime()).as("%s wake-up times of %s committed", count, workflowId).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  /** Waits until {@code condition} holds on every node; the failure names each node's local runs. */
  public static void awaitOnEvery(TestCluster c, Predicate<RaftoralNode> condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!c.nodes.stream().allMatch(condition)) {
      assertThat(System.nanoTime()).as(what + ": " + c.nodes.stream().map(n -> {
        try {
          return n.inspector().nodeId() + "=" + n.inspector().localRuns(c.nodes.get(0).inspector().executionGroups().get(0));
        } catch (RuntimeException e) {
          return "?";
        }
      }).toList()).isLessThan(deadline);
      Thread.sleep(20);
    }
  }
}
