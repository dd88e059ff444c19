package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.RaftoralNode;
import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.ReplayReport;
import io.raftoral.common.ReplayReport.Reason;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowFunction;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replay on three real in-process nodes: a finished workflow replays clean with its own code;
 * each kind of changed code is reported at the first step where it diverges, with its reason;
 * a running workflow replays to the end of its history; side effects never run and nothing is
 * written to the cluster.
 */
class ReplayTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  // Side effects that ran anywhere in the cluster (the nodes share this process).
  private static final AtomicInteger SIDE_EFFECTS = new AtomicInteger();
  private static final CountDownLatch RELEASE = new CountDownLatch(1);

  @TempDir static Path tmp;
  private static TestCluster cluster;
  private static String orderId;

  /** The recorded code: charge (a side effect), status, ship; steps charge#0, status#0, ship#0. */
  private static String order(io.raftoral.workflow.WorkflowContext ctx, Integer n) {
    int charged = ctx.checkpointCompute("charge", Integer.class, () -> {
      SIDE_EFFECTS.incrementAndGet();
      return n * 10;
    });
    String status = ctx.checkpoint("status", "charged");
    int shipped = ctx.checkpoint("ship", charged + 1);
    return status + ":" + shipped;
  }

  private static WorkflowDefinition<Integer, String> order() {
    return WorkflowDefinition.of("order", 1, Integer.class, String.class, ReplayTest::order);
  }

  /** New code for the same workflow type, to be checked against the recorded history. */
  private static WorkflowDefinition<Integer, String> changed(WorkflowFunction<Integer, String> fn) {
    return WorkflowDefinition.of("order", 2, Integer.class, String.class, fn);
  }

  @BeforeAll
  static void startAndRecord() throws Exception {
    cluster = TestCluster.start(3, tmp, (id, b) -> b
        .register(order())
        .register(WorkflowDefinition.of("fails", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a", in);
          throw new IllegalArgumentException("bad " + in);
        }))
        .register(WorkflowDefinition.of("tally", 1, Integer.class, Integer.class, (ctx, n) -> {
          var total = ctx.var("total", Integer.class, 0);
          for (int i = 1; i <= n; i++) {
            final int add = i;
            total.update(t -> t + add);
            ctx.checkpointBytes("raw", new byte[] {(byte) i});
          }
          return total.get();
        }))
        .register(WorkflowDefinition.of("kept", 1, Integer.class, Integer.class, (ctx, n) -> {
          int last = 0;
          for (int i = 0; i < n; i++) {
            last = ctx.checkpoint(i % 2 == 0 ? "even" : "odd", i);
          }
          return last;
        }).withKeepLastPerKey(2))
        .register(WorkflowDefinition.of("waits", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a", in + 1);
          ctx.checkpoint("b", in + 2);
          // Still running while the test replays: the side effect waits for the test.
          ctx.checkpointCompute("c", String.class, () -> {
            SIDE_EFFECTS.incrementAndGet();
            RELEASE.await();
            return in + 3;
          });
          return in;
        })));
    cluster.makeOwner(1);
    orderId = cluster.node(1).start("order", 1, 4, String.class).workflowId();
    assertThat(cluster.node(1).handle(orderId, String.class).result(TIMEOUT)).isEqualTo("charged:41");
    assertThat(SIDE_EFFECTS.get()).isEqualTo(1);
  }

  @AfterAll
  static void stop() {
    RELEASE.countDown();
    cluster.close();
  }

  private static ReplayReport replay(WorkflowFunction<Integer, String> fn) {
    return cluster.node(2).replay(orderId, changed(fn));
  }

  // A type that keeps the last 2 values per key: once its workflow ends, every node's history
  // holds those alone, the count still says 10, and a replay is refused (its first steps are gone).
  @Test
  void aTrimmedHistoryKeepsTheLastValuesPerKeyAndIsNotReplayed() {
    String id = cluster.node(3).start("kept", 1, 10, Integer.class).workflowId();
    assertThat(cluster.node(3).handle(id, Integer.class).result(TIMEOUT)).isEqualTo(9);
    for (RaftoralNode n : cluster.nodes) {
      assertThat(n.history(id)).extracting(e -> e.key() + "#" + e.seq() + "=" + new String(e.value()))
          .containsExactly("even#3=6", "odd#3=7", "even#4=8", "odd#4=9");
      assertThat(n.describe(id).checkpointCount()).isEqualTo(10);
      assertThatThrownBy(() -> n.replay(id)).isInstanceOf(io.raftoral.common.Errors.InvalidArgumentException.class)
          .hasMessageContaining("keeps only the last 2 checkpoints of each key");
    }
  }

  @Test
  void theSameCodeReplaysCleanOnEveryNodeWithoutRunningSideEffectsOrWriting() {
    List<HistoryEntry> history = cluster.node(1).history(orderId);
    long checkpoints = cluster.node(1).describe(orderId).checkpointCount();
    int sideEffects = SIDE_EFFECTS.get();

    for (RaftoralNode n : cluster.nodes) {
      ReplayReport r = n.replay(orderId, order());
      assertThat(r.matches()).as("report %s", r).isTrue();
      assertThat(r.stepsReplayed()).isEqualTo(3);
      assertThat(r.recordedSteps()).isEqualTo(3);
      assertThat(r.endOfHistory()).isFalse();
      assertThat(r.status()).isEqualTo(WorkflowStatus.COMPLETED);
      // The definition registered for the workflow's type and version.
      assertThat(n.replay(orderId)).isEqualTo(r);
    }

    assertThat(SIDE_EFFECTS.get()).as("side effects run by the replays").isEqualTo(sideEffects);
    assertThat(cluster.node(3).history(orderId)).isEqualTo(history);
    assertThat(cluster.node(3).describe(orderId).checkpointCount()).isEqualTo(checkpoints);
  }

  @Test
  void replicatedVariablesAndRawBytesReplayClean() {
    String id = cluster.node(1).start("tally", 1, 5, Integer.class).workflowId();
    assertThat(cluster.node(1).handle(id, Integer.class).result(TIMEOUT)).isEqualTo(15);

    ReplayReport r = cluster.node(3).replay(id);

    assertThat(r.matches()).as("report %s", r).isTrue();
    assertThat(r.stepsReplayed()).isEqualTo(11); // total#0..5 and raw#0..4, interleaved
    // Reading the variable's recorded values, not the code's: a changed update shows as the result.
    ReplayReport doubled = cluster.node(3).replay(id, WorkflowDefinition.of("tally", 2, Integer.class, Integer.class, (ctx, n) -> {
      var total = ctx.var("total", Integer.class, 0);
      for (int i = 1; i <= n; i++) {
        final int add = i;
        total.update(t -> t + 2 * add);
        ctx.checkpointBytes("raw", new byte[] {(byte) i});
      }
      return total.get() * 2;
    }));
    assertThat(doubled.divergence().reason()).isEqualTo(Reason.RESULT_DIFFERS);
    assertThat(doubled.divergence().expected()).isEqualTo("15");
    assertThat(doubled.divergence().got()).isEqualTo("30");
  }

  @Test
  void aDifferentKeyOrderIsReportedAtItsStep() {
    ReplayReport r = replay((ctx, n) -> {
      int charged = ctx.checkpointCompute("charge", Integer.class, () -> n * 10);
      int shipped = ctx.checkpoint("ship", charged + 1); // before status now
      return ctx.checkpoint("status", "charged") + ":" + shipped;
    });

    assertThat(r.matches()).isFalse();
    assertThat(r.stepsReplayed()).isEqualTo(1);
    ReplayReport.Divergence d = r.divergence();
    assertThat(d.step()).isEqualTo(2);
    assertThat(d.reason()).isEqualTo(Reason.KEY_ORDER);
    assertThat(d.key()).isEqualTo("status");
    assertThat(d.seq()).isZero();
    assertThat(d.expected()).isEqualTo("status#0");
    assertThat(d.got()).isEqualTo("ship#0");
    assertThat(d.message()).isEqualTo("the code asks for ship#0 at step 2 but the history has status#0 there (it has ship#0 at step 3)");
  }

  @Test
  void aKeyTheHistoryLacksIsReportedWhereTheCodeAsksForIt() {
    ReplayReport r = replay((ctx, n) -> {
      int charged = ctx.checkpointCompute("charge", Integer.class, () -> n * 10);
      String status = ctx.checkpoint("state", "charged"); // renamed key
      return status + ":" + ctx.checkpoint("ship", charged + 1);
    });

    assertThat(r.divergence().step()).isEqualTo(2);
    assertThat(r.divergence().reason()).isEqualTo(Reason.KEY_ORDER);
    assertThat(r.divergence().got()).isEqualTo("state#0");
    assertThat(r.divergence().message()).endsWith("(it has no state#0)");
  }

  @Test
  void anExtraStepOfAFinishedWorkflowIsMissingFromTheHistory() {
    ReplayReport r = replay((ctx, n) -> {
      String result = order(ctx, n);
      ctx.checkpoint("notify", true);
      return result;
    });

    assertThat(r.stepsReplayed()).isEqualTo(3);
    assertThat(r.divergence().step()).isEqualTo(4);
    assertThat(r.divergence().reason()).isEqualTo(Reason.MISSING_STEP);
    assertThat(r.divergence().got()).isEqualTo("notify#0");
    assertThat(r.endOfHistory()).isFalse();
  }

  @Test
  void aChangedResultIsReported() {
    ReplayReport r = replay((ctx, n) -> order(ctx, n) + "!");

    assertThat(r.stepsReplayed()).isEqualTo(3);
    assertThat(r.divergence().reason()).isEqualTo(Reason.RESULT_DIFFERS);
    assertThat(r.divergence().step()).isEqualTo(4);
    assertThat(r.divergence().expected()).isEqualTo("\"charged:41\"");
    assertThat(r.divergence().got()).isEqualTo("\"charged:41!\"");
  }

  @Test
  void aValueTheNewCodeCannotDecodeIsReportedAtItsStep() {
    ReplayReport r = replay((ctx, n) -> {
      int charged = ctx.checkpointCompute("charge", Integer.class, () -> n * 10);
      int status = ctx.checkpoint("status", 1, Integer.class); // was a String
      return status + ":" + ctx.checkpoint("ship", charged + 1);
    });

    assertThat(r.stepsReplayed()).isEqualTo(1);
    assertThat(r.divergence().step()).isEqualTo(2);
    assertThat(r.divergence().reason()).isEqualTo(Reason.UNDECODABLE_VALUE);
    assertThat(r.divergence().key()).isEqualTo("status");
    assertThat(r.divergence().expected()).isEqualTo("\"charged\"");
    assertThat(r.divergence().got()).isEqualTo(Integer.class.getName());
  }

  @Test
  void codeThatThrowsIsReportedWithItsMessage() {
    ReplayReport r = replay((ctx, n) -> {
      ctx.checkpointCompute("charge", Integer.class, () -> n * 10);
      throw new IllegalStateException("no stock");
    });

    assertThat(r.stepsReplayed()).isEqualTo(1);
    assertThat(r.divergence().step()).isEqualTo(2);
    assertThat(r.divergence().reason()).isEqualTo(Reason.CODE_THREW);
    assertThat(r.divergence().key()).isEqualTo("status");
    assertThat(r.divergence().got()).isEqualTo("threw java.lang.IllegalStateException: no stock");
    assertThat(r.divergence().message()).contains("no stock");
  }

  @Test
  void codeThatEndsEarlyLeavesRecordedStepsUnused() {
    ReplayReport r = replay((ctx, n) -> {
      ctx.checkpointCompute("charge", Integer.class, () -> n * 10);
      return ctx.checkpoint("status", "charged") + ":41";
    });

    assertThat(r.stepsReplayed()).isEqualTo(2);
    assertThat(r.divergence().step()).isEqualTo(3);
    assertThat(r.divergence().reason()).isEqualTo(Reason.UNUSED_STEPS);
    assertThat(r.divergence().key()).isEqualTo("ship");
  }

  @Test
  void aFailedWorkflowReplaysCleanWhenTheCodeFailsAlikeAndNotOtherwise() {
    String id = cluster.node(1).start("fails", 1, "x", String.class).workflowId();
    assertThatThrownBy(() -> cluster.node(1).handle(id, String.class).result(TIMEOUT)).isInstanceOf(Errors.WorkflowFailedException.class);

    ReplayReport same = cluster.node(3).replay(id);
    assertThat(same.matches()).as("report %s", same).isTrue();
    assertThat(same.status()).isEqualTo(WorkflowStatus.FAILED);
    assertThat(same.stepsReplayed()).isEqualTo(1);

    ReplayReport fixed = cluster.node(3).replay(id, WorkflowDefinition.of("fails", 2, String.class, String.class,
        (ctx, in) -> ctx.checkpoint("a", in)));
    assertThat(fixed.divergence().reason()).isEqualTo(Reason.RESULT_DIFFERS);
    assertThat(fixed.divergence().expected()).isEqualTo("failed with java.lang.IllegalArgumentException: bad x");
  }

  @Test
  void aRunningWorkflowReplaysToTheEndOfItsHistoryWithoutRunningItsSideEffect() throws Exception {
    String id = cluster.node(1).start("waits", 1, "w", String.class).workflowId();
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (cluster.node(1).history(id).size() < 2 || SIDE_EFFECTS.get() < 2) {
      assertThat(System.nanoTime() - deadline).as("the workflow reached its side effect").isNegative();
      Thread.sleep(20);
    }
    int sideEffects = SIDE_EFFECTS.get();

    ReplayReport r = cluster.node(2).replay(id);

    assertThat(r.matches()).as("report %s", r).isTrue();
    assertThat(r.status()).isEqualTo(WorkflowStatus.RUNNING);
    assertThat(r.endOfHistory()).isTrue();
    assertThat(r.stepsReplayed()).isEqualTo(2);
    assertThat(r.recordedSteps()).isEqualTo(2);
    assertThat(SIDE_EFFECTS.get()).isEqualTo(sideEffects);
    assertThat(cluster.node(1).describe(id).status()).isEqualTo(WorkflowStatus.RUNNING);

    // A key order change is a divergence in a running workflow too.
    ReplayReport swapped = cluster.node(2).replay(id, WorkflowDefinition.of("waits", 2, String.class, String.class, (ctx, in) -> {
      ctx.checkpoint("b", in);
      return in;
    }));
    assertThat(swapped.divergence().reason()).isEqualTo(Reason.KEY_ORDER);
    assertThat(swapped.divergence().step()).isEqualTo(1);

    // Terminated before its end: the history ends where the run stopped, which is no divergence.
    cluster.node(1).terminate(id, "replay test");
    ReplayReport terminated = cluster.node(3).replay(id);
    assertThat(terminated.matches()).as("report %s", terminated).isTrue();
    assertThat(terminated.status()).isEqualTo(WorkflowStatus.TERMINATED);
    assertThat(terminated.endOfHistory()).isTrue();
    assertThat(terminated.stepsReplayed()).isEqualTo(2);
  }

  @Test
  void codeThatBlocksOutsideCheckpointsTimesOutAndTheNodeGoesOn() {
    CountDownLatch never = new CountDownLatch(1);
    assertThatThrownBy(() -> cluster.node(2).replay(orderId, changed((ctx, n) -> {
      ctx.checkpointCompute("charge", Integer.class, () -> n * 10);
      never.await();
      return "";
    }), Duration.ofMillis(500))).isInstanceOf(Errors.TimeoutException.class).hasMessageContaining("after 1 steps");

    assertThat(cluster.node(2).replay(orderId).matches()).isTrue();
    assertThatThrownBy(() -> cluster.node(2).replay(orderId, order(), Duration.ZERO)).isInstanceOf(Errors.InvalidArgumentException.class);
  }

  /** A timeout too long for nanoseconds (1000 years: "no limit") is saturated, not an ArithmeticException. */
  @Test
  void aTimeoutOfCenturiesReplays() {
    ReplayReport r = cluster.node(2).replay(orderId, order(), Duration.ofDays(365L * 1000));

    assertThat(r.matches()).as("report %s", r).isTrue();
    assertThat(r.stepsReplayed()).isEqualTo(3);
  }

  @Test
  void unknownIdsAndUnregisteredTypesAreTypedErrors() {
    assertThatThrownBy(() -> cluster.node(1).replay("no-such-workflow", order())).isInstanceOf(Errors.WorkflowNotFoundException.class);
    assertThatThrownBy(() -> cluster.node(1).replay("no-such-workflow")).isInstanceOf(Errors.WorkflowNotFoundException.class);
    assertThatThrownBy(() -> cluster.node(1).replay(" ")).isInstanceOf(Errors.InvalidArgumentException.class);
  }
}
