package io.raftoral.review;

import static io.raftoral.Sleepers.awaitOnEvery;
import static io.raftoral.Sleepers.napper;
import static io.raftoral.Sleepers.wakeUpOf;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.Sleepers;
import io.raftoral.StepLog;
import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.runtime.NodeInspector.LocalRuns;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Review: attempts to break durable sleep (ctx.sleep / sleepUntil). The first five failed on the
 * first version (6c8021a); the others held.
 */
class DurableSleepBreakTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(90);
  // What secondary threads of a function died of, by workflow id.
  static final Map<String, String> DIED = new ConcurrentHashMap<>();

  @TempDir
  Path tmp;

  // ---------------------------------------------------------------- replay

  /**
   * A live run refuses sleepUntil(Instant.MAX) before any step (InvalidArgumentException, caught by the
   * function); the replay must refuse it too, else it takes a position of raftoral:sleep that the
   * recorded run never wrote.
   */
  @Test
  void replayRefusesAnOutOfRangeSleepUntilAsTheLiveRunDid() throws Exception {
    assertReplayRefusesWhatTheLiveRunRefused("oor", ctx -> ctx.sleepUntil(Instant.MAX));
  }

  /** As above for a checkpoint of a reserved key (refused live, accepted by the replay). */
  @Test
  void replayRefusesAReservedKeyAsTheLiveRunDid() throws Exception {
    assertReplayRefusesWhatTheLiveRunRefused("reserved", ctx -> ctx.checkpoint("raftoral:mine", "x"));
  }

  /** A workflow that catches the refusal of {@code refused} and checkpoints what it saw: its replay matches. */
  private static void assertReplayRefusesWhatTheLiveRunRefused(String type, java.util.function.Consumer<WorkflowContext> refused) {
    WorkflowDefinition<String, String> def = WorkflowDefinition.of(type, 1, String.class, String.class, (ctx, in) -> {
      String seen;
      try {
        refused.accept(ctx);
        seen = "accepted";
      } catch (Errors.InvalidArgumentException e) {
        seen = "refused";
      }
      ctx.checkpoint("a", seen);
      return seen;
    });
    try (TestCluster c = TestCluster.start(1, null, (node, b) -> b.register(def))) {
      WorkflowHandle<String> h = c.node(1).start(type, 1, "", String.class, type + "-1");
      assertThat(h.result(TIMEOUT)).isEqualTo("refused");
      var report = c.node(1).replay(h.workflowId());
      assertThat(report.matches()).as("replay of a workflow whose call was refused live: %s", report).isTrue();
    }
  }

  // ---------------------------------------------------------------- the Sleep error escapes into user code

  /**
   * A step in a finally block after a sleep runs after the wake-up, in program order. Before the
   * fix the internal Sleep error unwound through the finally, whose context call was not refused,
   * so its side effect ran when the workflow went to sleep, long before the wake-up.
   */
  @Test
  void aStepInAFinallyBlockDoesNotRunBeforeTheWakeUp() throws Exception {
    StepLog log = new StepLog(tmp.resolve("steps.log"));
    WorkflowDefinition<Long, Long> def = WorkflowDefinition.of("finally_nap", 1, Long.class, Long.class, (ctx, millis) -> {
      try {
        ctx.sleep(Duration.ofMillis(millis));
        return ctx.checkpointCompute("after", Long.class, () -> {
          log.record(1, 1);
          return System.currentTimeMillis();
        });
      } finally {
        ctx.checkpointCompute("cleanup", Long.class, () -> {
          log.record(1, 2);
          return System.currentTimeMillis();
        });
      }
    });
    try (TestCluster c = TestCluster.start(1, null, (node, b) -> b.register(def))) {
      WorkflowHandle<Long> h = c.node(1).start("finally_nap", 1, 4_000L, Long.class, "finally-1");
      long after = h.result(TIMEOUT);
      long wakeUp = wakeUpOf(c.node(1).history(h.workflowId(), WorkflowContext.SLEEP_KEY).get(0));
      long cleanup = Long.parseLong(new String(c.node(1).history(h.workflowId(), "cleanup").get(0).value(), StandardCharsets.UTF_8));
      assertThat(cleanup).as("the finally block's side effect ran at %s, the wake-up is %s (%s ms early); 'after' ran at %s",
          cleanup, wakeUp, wakeUp - cleanup, after).isGreaterThanOrEqualTo(wakeUp);
      assertThat(log.countsByStep()).containsExactly(Map.entry(1, 1L), Map.entry(2, 1L));
    }
  }

  /**
   * A sleep on a thread the function started (it joins it) ends the run too, and the steps after
   * it run after the wake-up. Before the fix the thread died of the private Sleep error, the run
   * went on without it and the workflow completed without the steps after the sleep.
   */
  @Test
  void aSleepOnAThreadOfTheFunctionIsNotLost() throws Exception {
    WorkflowDefinition<Long, String> def = WorkflowDefinition.of("thread_nap", 1, Long.class, String.class, (ctx, millis) -> {
      Thread t = Thread.ofVirtual().uncaughtExceptionHandler((th, e) -> DIED.put(ctx.workflowId(), e.toString())).start(() -> {
        ctx.sleep(Duration.ofMillis(millis));
        ctx.checkpointCompute("after", Long.class, System::currentTimeMillis);
      });
      t.join();
      return ctx.checkpoint("done", "done");
    });
    try (TestCluster c = TestCluster.start(1, null, (node, b) -> b.register(def))) {
      WorkflowHandle<String> h = c.node(1).start("thread_nap", 1, 3_000L, String.class, "thread-1");
      assertThat(h.result(TIMEOUT)).isEqualTo("done");
      List<HistoryEntry> sleeps = c.node(1).history(h.workflowId(), WorkflowContext.SLEEP_KEY);
      assertThat(c.node(1).history(h.workflowId(), "after"))
          .as("the step after the sleep on the function's thread (wake-up %s); the thread died of: %s",
              sleeps.isEmpty() ? "none" : wakeUpOf(sleeps.get(0)), DIED.get(h.workflowId()))
          .hasSize(1);
    }
  }

  // ---------------------------------------------------------------- overflow

  /**
   * sleepUntil a time long past (epoch ms Long.MIN_VALUE, a legal Instant) returns at once.
   * Before the fix {@code wakeAt - now} overflowed to a huge positive "time left": the run ended
   * with a Sleep whose wake-up was not > 0, so no sleeper was recorded and the next run started at
   * once, replaying to the same sleep: a hot loop of runs on every member.
   */
  @Test
  void aWakeUpLongPastReturnsAtOnce() throws Exception {
    WorkflowDefinition<String, String> def = WorkflowDefinition.of("long_past", 1, String.class, String.class, (ctx, in) -> {
      ctx.sleepUntil(Instant.ofEpochMilli(Long.MIN_VALUE));
      return ctx.checkpoint("done", "woke");
    });
    try (TestCluster c = TestCluster.start(1, null, (node, b) -> b.register(def))) {
      WorkflowHandle<String> h = c.node(1).start("long_past", 1, "", String.class, "long-past-1");
      String result;
      try {
        result = h.result(Duration.ofSeconds(30));
      } catch (RuntimeException e) {
        result = "no result in 30 s (" + e + "); sleeps committed: " + c.node(1).history(h.workflowId(), WorkflowContext.SLEEP_KEY).size()
            + ", status " + c.node(1).describe(h.workflowId()).status();
      } finally {
        try {
          c.node(1).terminate(h.workflowId(), "stop the loop so that the node can close");
        } catch (RuntimeException ignored) {
          // ended already
        }
      }
      assertThat(result).isEqualTo("woke");
    }
  }

  // ---------------------------------------------------------------- things expected to hold

  /** OWNER_ONLY: the owner moves while the workflow sleeps; the new owner wakes it, once, at its time. */
  @Test
  void ownerOnlySleeperFollowsAnOwnershipMove() throws Exception {
    StepLog log = new StepLog(tmp.resolve("steps.log"));
    try (TestCluster c = TestCluster.start(3, null, (node, b) -> b.register(napper("oo_nap", node, log, ExecutionMode.OWNER_ONLY)))) {
      c.makeOwner(1);
      WorkflowHandle<Long> h = c.node(1).start("oo_nap", 1, 6_000L, Long.class, "any");
      long wakeUp = awaitWakeUp(c.node(1), h.workflowId());
      String group = c.node(1).inspector().executionGroupOf(h.workflowId());
      await(() -> c.node(1).inspector().localRuns(group).equals(new LocalRuns(0, 1)), "node 1 sleeping");
      assertThat(c.node(2).inspector().localRuns(group)).isEqualTo(new LocalRuns(0, 0));
      c.makeOwner(2);
      await(() -> c.node(2).inspector().localRuns(group).equals(new LocalRuns(0, 1)), "node 2 sleeping after the move");
      long ranAfterAt = h.result(TIMEOUT);
      assertThat(ranAfterAt).isGreaterThanOrEqualTo(wakeUp);
      assertThat(log.countsByStep()).containsExactly(Map.entry(0, 1L), Map.entry(1, 1L));
      assertThat(log.nodes()).containsExactlyInAnyOrder(1L, 2L);
      awaitOnEvery(c, n -> n.inspector().localRuns(group).equals(new LocalRuns(0, 0)), "nothing left anywhere");
    }
  }

  /** A loop of sleeps with side effects between them, across ownership moves; a termination during an in-place wait. */
  @Test
  void sleepsInALoopAndATerminationDuringAnInPlaceWait() throws Exception {
    StepLog log = new StepLog(tmp.resolve("steps.log"));
    WorkflowDefinition<Integer, Integer> loop = WorkflowDefinition.of("loop_nap", 1, Integer.class, Integer.class, (ctx, n) -> {
      int sum = 0;
      for (int i = 0; i < n; i++) {
        final int step = i;
        sum += ctx.checkpointCompute("s" + i, Integer.class, () -> {
          log.record(0, step);
          return step;
        });
        ctx.sleep(Duration.ofMillis(1_500));
      }
      return sum;
    });
    WorkflowDefinition<Integer, Integer> dozer = WorkflowDefinition.of("dozer", 1, Integer.class, Integer.class, (ctx, n) -> {
      for (int i = 0; i < 10_000; i++) {
        ctx.sleep(Duration.ofMillis(900)); // in place every time
      }
      return 0;
    });
    try (TestCluster c = TestCluster.start(3, null, (node, b) -> b.register(loop).register(dozer))) {
      c.makeOwner(1);
      WorkflowHandle<Integer> h = c.node(1).start("loop_nap", 1, 4, Integer.class, "any");
      awaitWakeUp(c.node(1), h.workflowId());
      c.makeOwner(3);
      assertThat(h.result(TIMEOUT)).isEqualTo(0 + 1 + 2 + 3);
      assertThat(log.countsByStep()).containsExactly(Map.entry(0, 1L), Map.entry(1, 1L), Map.entry(2, 1L), Map.entry(3, 1L));
      assertThat(c.node(2).history(h.workflowId(), WorkflowContext.SLEEP_KEY)).hasSize(4);
      assertThat(c.node(2).replay(h.workflowId()).matches()).isTrue();

      WorkflowHandle<Integer> d = c.node(2).start("dozer", 1, 0, Integer.class, "dozer-1");
      awaitWakeUp(c.node(1), d.workflowId());
      Thread.sleep(2_000);
      String group = c.node(1).inspector().executionGroupOf(d.workflowId());
      assertThat(c.node(2).terminate(d.workflowId(), "stop").status()).isEqualTo(WorkflowStatus.TERMINATED);
      awaitOnEvery(c, n -> n.inspector().localRuns(group).equals(new LocalRuns(0, 0)), "no run or sleeper left after the termination");
    }
  }

  /** Far-future wake-ups (saturated) sleep without a run and are terminated cleanly; past ones return. */
  @Test
  void farFutureAndPastWakeUps() throws Exception {
    WorkflowDefinition<Integer, String> far = WorkflowDefinition.of("far", 1, Integer.class, String.class, (ctx, which) -> {
      ctx.sleepUntil(Instant.ofEpochMilli(-1));
      ctx.sleepUntil(Instant.EPOCH);
      switch (which) {
        case 0 -> ctx.sleep(Duration.ofSeconds(Long.MAX_VALUE, 999_999_999));
        case 1 -> ctx.sleepUntil(Instant.ofEpochMilli(Long.MAX_VALUE));
        default -> ctx.sleep(Duration.ofDays(365L * 10_000));
      }
      return "woke";
    });
    try (TestCluster c = TestCluster.start(3, null, (node, b) -> b.register(far))) {
      for (int which = 0; which < 3; which++) {
        String id = "far-" + which;
        c.node(1).start("far", 1, which, String.class, id);
        Sleepers.awaitWakeUp(c.node(1), id, 3);
        String group = c.node(1).inspector().executionGroupOf(id);
        awaitOnEvery(c, n -> n.inspector().localRuns(group).equals(new LocalRuns(0, 1)), "one sleeper, no run, on every member");
        assertThat(c.node(3).terminate(id, "enough").status()).isEqualTo(WorkflowStatus.TERMINATED);
        awaitOnEvery(c, n -> n.inspector().localRuns(group).equals(new LocalRuns(0, 0)), "gone after the termination");
      }
    }
  }

  /** A follower restarted alone on its data directory while the workflow sleeps; small snapshots. */
  @Test
  void aFollowerRestartedAloneWhileTheWorkflowSleeps() throws Exception {
    StepLog log = new StepLog(tmp.resolve("steps.log"));
    Path data = tmp.resolve("data");
    try (TestCluster c = TestCluster.start(3, data, (node, b) -> b.snapshotThreshold(5)
        .register(napper("r_nap", node, log, ExecutionMode.HOT_STANDBY)))) {
      c.makeOwner(1);
      Map<Long, String> members = c.members();
      WorkflowHandle<Long> h = c.node(1).start("r_nap", 1, 8_000L, Long.class, "any");
      long wakeUp = awaitWakeUp(c.node(1), h.workflowId());
      String group = c.node(1).inspector().executionGroupOf(h.workflowId());
      // Enough traffic for snapshots while it sleeps.
      for (int i = 0; i < 3; i++) {
        c.node(1).start("r_nap", 1, 0L, Long.class, "filler-" + i).result(TIMEOUT);
      }
      c.node(3).close();
      for (int i = 3; i < 6; i++) {
        c.node(1).start("r_nap", 1, 0L, Long.class, "filler-" + i).result(TIMEOUT);
      }
      try (RaftoralNode again = RaftoralNode.builder().nodeId(3).members(members).dataDirectory(data.resolve("node-3"))
          .electionTimeout(Duration.ofMillis(500)).snapshotThreshold(5).register(napper("r_nap", 3, log, ExecutionMode.HOT_STANDBY))
          .start()) {
        await(() -> again.inspector().localRuns(group).equals(new LocalRuns(0, 1)) || System.currentTimeMillis() > wakeUp,
            "node 3 sleeping again");
        long ranAfterAt = h.result(TIMEOUT);
        assertThat(ranAfterAt).isGreaterThanOrEqualTo(wakeUp);
        await(() -> again.describe(h.workflowId()).status() == WorkflowStatus.COMPLETED, "node 3 sees the end");
        await(() -> again.inspector().localRuns(group).equals(new LocalRuns(0, 0)), "node 3 has nothing left");
        // before/after of the sleeper ran once each; fillers added 6 each.
        assertThat(log.countsByStep()).containsExactly(Map.entry(0, 7L), Map.entry(1, 7L));
      }
    }
  }

  /** A sleep inside checkpointCompute, and one after the function returned, are refused (InvalidArgumentException). */
  @Test
  void sleepsInsideASideEffectOrAfterTheReturnAreRefused() throws Exception {
    java.util.concurrent.atomic.AtomicReference<WorkflowContext> leaked = new java.util.concurrent.atomic.AtomicReference<>();
    WorkflowDefinition<String, String> def = WorkflowDefinition.of("se_nap", 1, String.class, String.class, (ctx, in) -> {
      leaked.set(ctx);
      String inside = ctx.checkpointCompute("fx", String.class, () -> {
        try {
          ctx.sleep(Duration.ofSeconds(5));
          return "accepted";
        } catch (Errors.InvalidArgumentException e) {
          return "refused";
        }
      });
      ctx.sleep(Duration.ofMillis(1_200)); // ends the run once
      return inside;
    });
    try (TestCluster c = TestCluster.start(1, null, (node, b) -> b.register(def))) {
      WorkflowHandle<String> h = c.node(1).start("se_nap", 1, "", String.class, "se-1");
      assertThat(h.result(TIMEOUT)).isEqualTo("refused");
      String after;
      try {
        leaked.get().sleep(Duration.ofSeconds(2));
        after = "accepted";
      } catch (Errors.InvalidArgumentException e) {
        after = "refused";
      }
      assertThat(after).isEqualTo("refused");
      assertThat(c.node(1).history(h.workflowId(), WorkflowContext.SLEEP_KEY)).hasSize(1);
      assertThat(c.node(1).replay(h.workflowId()).matches()).isTrue();
    }
  }

  // ---------------------------------------------------------------- helpers

  private static long awaitWakeUp(RaftoralNode node, String workflowId) throws InterruptedException {
    return Sleepers.awaitWakeUp(node, workflowId, 1);
  }

  interface Check {
    boolean ok() throws Exception;
  }

  private static void await(Check condition, String what) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!okQuietly(condition)) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private static boolean okQuietly(Check condition) {
    try {
      return condition.ok();
    } catch (Exception | AssertionError e) {
      return false;
    }
  }
}
