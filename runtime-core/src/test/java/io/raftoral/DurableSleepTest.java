package io.raftoral;

import static io.raftoral.Sleepers.awaitOnEvery;
import static io.raftoral.Sleepers.wakeUpOf;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.runtime.NodeInspector.LocalRuns;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPEC §13, durable sleep: the wake-up time is committed once, from the owner's clock; a
 * sleeping workflow holds no run on any member; it wakes at that time, not before, after a
 * failover or a restart of the whole cluster too; a termination ends a sleep; bad sleeps get
 * typed errors.
 */
class DurableSleepTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(90);

  @TempDir
  Path tmp;

  @Test
  void aSleepingWorkflowHoldsNoRunOnAnyMemberAndATerminationEndsIt() throws Exception {
    StepLog log = new StepLog(tmp.resolve("steps.log"));
    try (TestCluster c = TestCluster.start(3, null, (node, b) -> b.register(napper(node, log)))) {
      String id = "sleeps-an-hour";
      c.node(1).start("napper", 1, Duration.ofHours(1).toMillis(), Long.class, id);
      awaitWakeUp(c.node(1), id);
      String group = c.node(1).inspector().executionGroupOf(id);
      awaitOnEvery(c, n -> n.inspector().localRuns(group).equals(new LocalRuns(0, 1)), "no run and one sleeper on every member");
      assertThat(sleepingGauge(c)).as("raftoral_workflows_sleeping, summed over the nodes (the owner counts it)").isEqualTo(1);

      assertThat(c.node(2).terminate(id, "no longer needed").status()).isEqualTo(WorkflowStatus.TERMINATED);

      awaitOnEvery(c, n -> n.inspector().localRuns(group).equals(new LocalRuns(0, 0)), "the sleeper gone on every member");
      assertThat(sleepingGauge(c)).isZero();
      assertThat(c.node(3).describe(id).status()).isEqualTo(WorkflowStatus.TERMINATED);
      assertThat(log.countsByStep()).containsExactly(Map.entry(0, 1L));
    }
  }

  @Test
  void aWorkflowWakesAtItsCommittedTimeAndItsReplayMatches() throws Exception {
    StepLog log = new StepLog(tmp.resolve("steps.log"));
    try (TestCluster c = TestCluster.start(3, null, (node, b) -> b.register(napper(node, log)))) {
      WorkflowHandle<Long> h = c.node(1).start("napper", 1, 3_000L, Long.class, "wakes");
      long ranAfterAt = h.result(TIMEOUT);

      List<HistoryEntry> sleeps = c.node(2).history(h.workflowId(), WorkflowContext.SLEEP_KEY);
      assertThat(sleeps).hasSize(1);
      long wakeUp = wakeUpOf(sleeps.get(0));
      HistoryEntry before = c.node(2).history(h.workflowId(), "before").get(0);
      // Decided by the owner from its clock, after the step before it committed.
      assertThat(wakeUp).isGreaterThanOrEqualTo(before.committedAt().toEpochMilli() + 3_000);
      assertThat(ranAfterAt).as("the step after the sleep ran at or after the wake-up time").isGreaterThanOrEqualTo(wakeUp);
      assertThat(log.countsByStep()).containsExactly(Map.entry(0, 1L), Map.entry(1, 1L));
      assertThat(c.node(3).replay(h.workflowId()).matches()).isTrue();
    }
  }

  @Test
  void aNewOwnerWakesASleepingWorkflowAtItsCommittedTime() throws Exception {
    StepLog log = new StepLog(tmp.resolve("steps.log"));
    try (TestCluster c = TestCluster.start(3, null, (node, b) -> b.register(napper(node, log)))) {
      c.makeOwner(1);
      WorkflowHandle<Long> h = c.node(1).start("napper", 1, 5_000L, Long.class, "any");
      long wakeUp = awaitWakeUp(c.node(2), h.workflowId());

      c.node(1).close();

      long ranAfterAt = c.node(2).handle(h.workflowId(), Long.class).result(TIMEOUT);
      assertThat(ranAfterAt).isGreaterThanOrEqualTo(wakeUp);
      assertThat(c.node(2).describe(h.workflowId()).ownerNode()).isIn(2L, 3L);
      assertThat(c.node(3).history(h.workflowId(), WorkflowContext.SLEEP_KEY)).hasSize(1);
      assertThat(log.countsByStep()).containsExactly(Map.entry(0, 1L), Map.entry(1, 1L));
      assertThat(log.nodes()).contains(1L).containsAnyOf(2L, 3L);
    }
  }

  @Test
  void aClusterRestartedWhileAWorkflowSleepsWakesItAtTheSameTime() throws Exception {
    StepLog log = new StepLog(tmp.resolve("steps.log"));
    Path data = tmp.resolve("data");
    String id;
    long wakeUp;
    Map<Long, String> members;
    try (TestCluster c = TestCluster.start(3, data, (node, b) -> b.register(napper(node, log)))) {
      id = c.node(1).start("napper", 1, 6_000L, Long.class, "sleeps-through-a-restart").workflowId();
      wakeUp = awaitWakeUp(c.node(1), id);
      members = c.members();
    }
    List<RaftoralNode> restarted = restart(members, data, log);
    try {
      long ranAfterAt = restarted.get(0).handle(id, Long.class).result(TIMEOUT);
      assertThat(ranAfterAt).isGreaterThanOrEqualTo(wakeUp);
      List<HistoryEntry> sleeps = restarted.get(1).history(id, WorkflowContext.SLEEP_KEY);
      assertThat(sleeps).hasSize(1);
      assertThat(wakeUpOf(sleeps.get(0))).isEqualTo(wakeUp);
      assertThat(log.countsByStep()).containsExactly(Map.entry(0, 1L), Map.entry(1, 1L));
    } finally {
      restarted.forEach(RaftoralNode::close);
    }
  }

  @Test
  void badSleepsAndTheRuntimesKeysAreRefusedAndShortSleepsWaitInPlace() throws Exception {
    WorkflowDefinition<String, String> probe = WorkflowDefinition.of("sleep_probe", 1, String.class, String.class, (ctx, in) -> {
      List<String> refused = new ArrayList<>();
      for (Runnable bad : List.<Runnable>of(
          () -> ctx.sleep(Duration.ofMillis(-1)),
          () -> ctx.sleep(null),
          () -> ctx.sleepUntil(null),
          () -> ctx.sleepUntil(Instant.MAX),
          () -> ctx.checkpoint(WorkflowContext.SLEEP_KEY, "1"),
          () -> ctx.checkpoint("raftoral:mine", "1"))) {
        try {
          bad.run();
          refused.add("accepted");
        } catch (Errors.InvalidArgumentException e) {
          refused.add(e.getMessage());
        }
      }
      ctx.sleep(Duration.ZERO);
      ctx.sleepUntil(Instant.EPOCH);
      for (int i = 0; i < 3; i++) {
        ctx.sleep(Duration.ofMillis(200));
      }
      return String.join("\n", refused);
    });
    try (TestCluster c = TestCluster.start(1, null, (node, b) -> b.register(probe))) {
      WorkflowHandle<String> h = c.node(1).start("sleep_probe", 1, "", String.class, "probe");
      List<String> refused = List.of(h.result(TIMEOUT).split("\n"));
      assertThat(refused).hasSize(6).doesNotContain("accepted");
      assertThat(refused.get(0)).contains("sleep duration must be zero or positive");
      assertThat(refused.get(3)).contains("out of range");
      assertThat(refused.get(4)).contains("'raftoral:sleep' is reserved");
      assertThat(refused.get(5)).contains("'raftoral:mine' is reserved");

      List<HistoryEntry> sleeps = c.node(1).history(h.workflowId(), WorkflowContext.SLEEP_KEY);
      assertThat(sleeps).hasSize(5);
      assertThat(wakeUpOf(sleeps.get(1))).isZero();
      for (int i = 3; i < 5; i++) {
        assertThat(wakeUpOf(sleeps.get(i))).isGreaterThanOrEqualTo(wakeUpOf(sleeps.get(i - 1)) + 200);
      }
    }
  }

  private static WorkflowDefinition<Long, Long> napper(long node, StepLog log) {
    return Sleepers.napper("napper", node, log, ExecutionMode.HOT_STANDBY);
  }

  private static long awaitWakeUp(RaftoralNode node, String workflowId) throws InterruptedException {
    return Sleepers.awaitWakeUp(node, workflowId, 1);
  }

  private static double sleepingGauge(TestCluster c) {
    return c.nodes.stream().mapToDouble(n -> n.meters().find("raftoral.workflows.sleeping").gauge().value()).sum();
  }

  /** Starts the three nodes again on their data directories, in parallel (a start waits for its groups' leaders). */
  private static List<RaftoralNode> restart(Map<Long, String> members, Path data, StepLog log) throws InterruptedException {
    RaftoralNode[] nodes = new RaftoralNode[members.size()];
    List<Thread> starters = new ArrayList<>();
    for (long id : members.keySet()) {
      starters.add(Thread.ofPlatform().start(() -> nodes[(int) id - 1] = RaftoralNode.builder().nodeId(id).members(members)
          .dataDirectory(data.resolve("node-" + id)).electionTimeout(Duration.ofMillis(500)).register(napper(id, log)).start()));
    }
    for (Thread t : starters) {
      t.join();
    }
    List<RaftoralNode> started = new ArrayList<>(List.of(nodes));
    assertThat(started).doesNotContainNull();
    return started;
  }
}
