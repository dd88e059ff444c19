package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.workflow.JsonCodec;
import io.raftoral.workflow.WorkflowDefinition;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Rule: an owner runs a side effect only while a majority has answered its leader lately (its
 * lease). A leader frozen by a pause (or cut off) keeps believing it leads and owns until it hears
 * of a newer term, and it may even learn that its last proposal committed from answers that
 * waited in its sockets: the run then goes on to the next step on a stale belief, while another
 * owner may already have run and committed it (found by the fault matrix: faults/, a leader paused
 * mid-step). Plain checkpoints need no lease (the apply rules refuse a stale owner's values, and
 * nothing ran twice); a side effect waits until the lease is back or ownership is gone.
 */
class SideEffectNeedsTheLeaseTest {
  @Test
  void aSideEffectWaitsForTheLeaseAndPlainCheckpointsDoNot() throws Exception {
    AtomicInteger effectRuns = new AtomicInteger();
    CountDownLatch checkpointed = new CountDownLatch(1);
    try (FakeGroup group = new FakeGroup(c -> false)) {
      group.leaseHeld = false;
      WorkflowEntry entry = group.start("w", "\"in\"");
      WorkflowRun run = new WorkflowRun(group, entry, WorkflowDefinition.of("t", 1, String.class, String.class, (ctx, in) -> {
        ctx.checkpoint("before", in);
        checkpointed.countDown();
        return ctx.checkpointCompute("effect", String.class, () -> "ran-" + effectRuns.incrementAndGet());
      }), new Payloads(new JsonCodec(), 1 << 20));
      group.run = run;
      Thread t = Thread.ofVirtual().start(run);

      assertThat(checkpointed.await(10, TimeUnit.SECONDS)).as("the plain checkpoint went through without the lease").isTrue();
      t.join(1000);
      assertThat(effectRuns).as("side effect runs without the lease").hasValue(0);
      assertThat(t.isAlive()).as("the run waits for the lease").isTrue();

      group.leaseHeld = true;
      t.join(10_000);
      assertThat(t.isAlive()).as("the run ended once the lease was back").isFalse();
      assertThat(effectRuns).hasValue(1);
      assertThat(group.state.get("w").status()).isEqualTo(WorkflowStatusCode.COMPLETED);
    }
  }

  @Test
  void anOwnerThatLosesOwnershipWhileWaitingForTheLeaseNeverRunsTheSideEffect() throws Exception {
    AtomicInteger effectRuns = new AtomicInteger();
    try (FakeGroup group = new FakeGroup(c -> false)) {
      group.leaseHeld = false;
      Thread t = startEffectRun(group, effectRuns);
      t.join(500);
      // Another node took over (this one heard of the newer term): the lease never comes back here.
      group.owning = false;
      group.leaseHeld = true;
      t.join(1000);
      assertThat(effectRuns).as("side effect runs on a node that lost ownership while waiting").hasValue(0);
      assertThat(t.isAlive()).as("the run waits for the new owner's value").isTrue();
      // Terminated meanwhile: the run stops without running it.
      group.state.apply(io.raftoral.proto.raft.Command.newBuilder().setWorkflowTerminate(
          io.raftoral.proto.raft.WorkflowTerminate.newBuilder().setWorkflowId("w").setReason("test")).build(), FakeGroup.TERM);
      group.run.signal();
      t.join(10_000);
      assertThat(t.isAlive()).isFalse();
      assertThat(effectRuns).hasValue(0);
    }
  }

  /**
   * A confirmation proves the leadership as of when it began (its heartbeats' sending, or the
   * lease counted from an earlier one). A node frozen while it confirms (the answers wait in its
   * sockets, and are read on SIGCONT) or between the confirmation and the side effect must not
   * start the side effect on it: by then another leader may have run the step and gone further
   * (found by the fault matrix: an owner paused just as a step ended began the next one the
   * moment it resumed). It confirms again, until a confirmation is recent enough.
   */
  @Test
  void aConfirmationThatTookLongerThanTheLeaseMarginStartsNoSideEffect() throws Exception {
    AtomicInteger effectRuns = new AtomicInteger();
    try (FakeGroup group = new FakeGroup(c -> false)) {
      group.leaseMarginNanos = TimeUnit.MILLISECONDS.toNanos(50);
      group.leaseConfirmMillis = 200; // every confirmation spans a "freeze" longer than the margin
      Thread t = startEffectRun(group, effectRuns);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (group.leaseConfirmations.get() < 3 && effectRuns.get() == 0) {
        assertThat(System.nanoTime()).as("three confirmations asked for").isLessThan(deadline);
        Thread.sleep(10);
      }
      assertThat(effectRuns).as("side effects started on a confirmation older than the margin").hasValue(0);

      group.leaseConfirmMillis = 0;
      t.join(10_000);
      assertThat(t.isAlive()).as("the run ended once a confirmation was recent").isFalse();
      assertThat(effectRuns).hasValue(1);
      assertThat(group.state.get("w").status()).isEqualTo(WorkflowStatusCode.COMPLETED);
    }
  }

  /** Starts workflow "w": one side effect that counts its runs in {@code effectRuns}. */
  private static Thread startEffectRun(FakeGroup group, AtomicInteger effectRuns) {
    WorkflowEntry entry = group.start("w", "\"in\"");
    WorkflowRun run = new WorkflowRun(group, entry, WorkflowDefinition.of("t", 1, String.class, String.class,
        (ctx, in) -> ctx.checkpointCompute("effect", String.class, () -> "ran-" + effectRuns.incrementAndGet())),
        new Payloads(new JsonCodec(), 1 << 20));
    group.run = run;
    return Thread.ofVirtual().start(run);
  }
}
