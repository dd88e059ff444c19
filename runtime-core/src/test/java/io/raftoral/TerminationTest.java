package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.runtime.NodeInspector.LoggedCommand;
import io.raftoral.state.WorkflowState;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SPEC §6 at every stage of a run, issued once on the group's leader and once on a follower:
 * the terminate is committed, every member's run unwinds, no checkpoint or end is applied after
 * it (checked by replaying the group's real log), and every replica ends in the same state.
 */
class TerminationTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  // Per workflow id: released by the test; and the nodes whose run of it has unwound.
  private static final Map<String, CountDownLatch> GATES = new ConcurrentHashMap<>();
  private static final Map<String, CountDownLatch> IN_COMPUTE = new ConcurrentHashMap<>();
  private static final Map<String, Set<Long>> UNWOUND = new ConcurrentHashMap<>();
  private static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = TestCluster.start(3, null, (node, b) -> b
        // Stage 1: every member's run blocks before its first checkpoint until the gate opens.
        .register(WorkflowDefinition.of("gated", 1, String.class, String.class, (ctx, in) -> {
          try {
            GATES.computeIfAbsent(ctx.workflowId(), k -> new CountDownLatch(1)).await();
            ctx.checkpoint("first", in);
            return ctx.checkpoint("second", in);
          } finally {
            UNWOUND.computeIfAbsent(ctx.workflowId(), k -> ConcurrentHashMap.newKeySet()).add(node);
          }
        }))
        // Stages 2 and 3: the owner sits in a slow compute while the other members wait for its value.
        .register(WorkflowDefinition.of("slow_compute", 1, String.class, String.class, (ctx, in) -> {
          try {
            return ctx.checkpointCompute("slow", String.class, () -> {
              IN_COMPUTE.computeIfAbsent(ctx.workflowId(), k -> new CountDownLatch(1)).countDown();
              Thread.sleep(2_000);
              return in;
            });
          } finally {
            UNWOUND.computeIfAbsent(ctx.workflowId(), k -> ConcurrentHashMap.newKeySet()).add(node);
          }
        }))
        .register(WorkflowDefinition.of("quick", 1, String.class, String.class, (ctx, in) -> ctx.checkpoint("v", in))));
  }

  @AfterAll
  static void stop() {
    GATES.values().forEach(CountDownLatch::countDown);
    cluster.close();
  }

  private static RaftoralNode issuer(String where, String workflowId) {
    for (RaftoralNode n : cluster.nodes) {
      if (n.inspector().ownsGroupOf(workflowId) == where.equals("leader")) {
        return n;
      }
    }
    throw new AssertionError("no " + where + " for " + workflowId);
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"leader", "follower"})
  void beforeTheFirstCheckpoint(String where) throws Exception {
    String id = "gated-" + where;
    GATES.put(id, new CountDownLatch(1));
    WorkflowHandle<String> h = cluster.node(1).start("gated", 1, "x", String.class, id);
    assertThat(issuer(where, id).terminate(id, "stop before step 1").status()).isEqualTo(WorkflowStatus.TERMINATED);
    GATES.get(id).countDown();

    assertTerminatedEverywhere(h, "stop before step 1", 0);
  }

  @ParameterizedTest
  @ValueSource(strings = {"leader", "follower"})
  void whileTheOwnerIsInsideASlowComputeAndTheOthersWaitForItsValue(String where) throws Exception {
    String id = "slow-" + where;
    IN_COMPUTE.put(id, new CountDownLatch(1));
    WorkflowHandle<String> h = cluster.node(2).start("slow_compute", 1, "x", String.class, id);
    assertThat(IN_COMPUTE.get(id).await(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    assertThat(issuer(where, id).terminate(id, "stop during compute").status()).isEqualTo(WorkflowStatus.TERMINATED);

    assertTerminatedEverywhere(h, "stop during compute", 0);
  }

  @ParameterizedTest
  @ValueSource(strings = {"leader", "follower"})
  void afterCompletionNothingChanges(String where) {
    String id = "quick-" + where;
    WorkflowHandle<String> h = cluster.node(3).start("quick", 1, "x", String.class, id);
    assertThat(h.result(WAIT)).isEqualTo("x");
    assertThat(issuer(where, id).terminate(id, "too late").status()).isEqualTo(WorkflowStatus.COMPLETED);
    for (RaftoralNode n : cluster.nodes) {
      assertThat(n.describe(id).status()).isEqualTo(WorkflowStatus.COMPLETED);
      assertThat(n.handle(id, String.class).result(WAIT)).isEqualTo("x");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"leader", "follower"})
  void unknownIdsAndBlankReasonsAreRefused(String where) {
    RaftoralNode n = where.equals("leader") ? issuer("leader", "any") : issuer("follower", "any");
    assertThatThrownBy(() -> n.terminate("never-started", "x")).isInstanceOf(Errors.WorkflowNotFoundException.class);
    assertThatThrownBy(() -> n.terminate("never-started", "")).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> n.terminate("", "x")).isInstanceOf(Errors.InvalidArgumentException.class);
  }

  private static void assertTerminatedEverywhere(WorkflowHandle<String> h, String reason, long checkpoints) throws Exception {
    String id = h.workflowId();
    for (RaftoralNode n : cluster.nodes) {
      assertThatThrownBy(() -> n.handle(id, String.class).result(WAIT))
          .isInstanceOf(Errors.WorkflowTerminatedException.class).hasMessageContaining(reason);
      assertThat(n.describe(id).status()).isEqualTo(WorkflowStatus.TERMINATED);
      assertThat(n.describe(id).checkpointCount()).isEqualTo(checkpoints);
    }
    await("every member's run of " + id + " unwound", () -> UNWOUND.getOrDefault(id, Set.of()).size() == 3);
    // Every run has unwound, so nothing new is proposed for it; a proposal already in flight
    // (the owner's value) lands within a moment, after the terminate.
    Thread.sleep(1_000);
    assertNothingAppliedAfterTheTerminate(h.executionGroup(), id);
    await("every replica holds the same state", () -> {
      Set<String> digests = new HashSet<>();
      cluster.nodes.forEach(n -> digests.add(n.inspector().replicaState(h.executionGroup()).digest()));
      return digests.size() == 1;
    });
  }

  /** Replays the group's committed log through fresh apply rules: after the terminate, no checkpoint or end of the workflow applies. */
  private static void assertNothingAppliedAfterTheTerminate(String group, String id) throws Exception {
    List<LoggedCommand> log = cluster.node(1).inspector().loggedCommands(group);
    WorkflowState replay = new WorkflowState();
    boolean terminated = false;
    for (LoggedCommand c : log) {
      CommandResult r = replay.apply(c.command(), c.term());
      String about = switch (c.command().getKindCase()) {
        case SET_CHECKPOINT -> c.command().getSetCheckpoint().getWorkflowId();
        case WORKFLOW_END -> c.command().getWorkflowEnd().getWorkflowId();
        case WORKFLOW_TERMINATE -> c.command().getWorkflowTerminate().getWorkflowId();
        default -> null;
      };
      if (!id.equals(about)) {
        continue;
      }
      if (c.command().hasWorkflowTerminate() && r.getCode() == ResultCode.APPLIED) {
        terminated = true;
      } else if (terminated) {
        assertThat(r.getCode()).as("%s of %s at index %d after the terminate", c.command().getKindCase(), id, c.index())
            .isNotEqualTo(ResultCode.APPLIED);
      }
    }
    assertThat(terminated).as("the log holds an applied WorkflowTerminate for " + id).isTrue();
    assertThat(replay.get(id).status().name()).isEqualTo("TERMINATED");
    await("replaying node 1's log gives node 1's live state", () -> {
      try {
        WorkflowState again = new WorkflowState();
        cluster.node(1).inspector().loggedCommands(group).forEach(c -> again.apply(c.command(), c.term()));
        return again.digest().equals(cluster.node(1).inspector().replicaState(group).digest());
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
  }
}
