package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.raft.Command;
import io.raftoral.raft.Proposer;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.state.WorkflowState;
import io.raftoral.workflow.JsonCodec;
import io.raftoral.workflow.WorkflowDefinition;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Rule: a hand-off's drain sees every side effect that may still run on the old owner
 * ({@code GroupRuntime.handOff} waits while {@code sideEffectsInFlight > 0}). A run reads its
 * ownership, then announces its side effect; a hand-off that begins between the two finds no side
 * effect announced, moves the leadership, and the side effect then runs on a node that no longer
 * owns (and again on the new owner). The interleaving is forced here: the group starts its
 * hand-off, and passes its drain, right after answering the run's ownership read.
 */
class HandOffDrainSeesEverySideEffectTest {
  private static final Payloads PAYLOADS = new Payloads(new JsonCodec(), 1 << 20);

  /** A group whose leadership is handed off right after the run's first ownership read. */
  private static final class HandingOffGroup implements WorkflowRun.Host {
    final FakeGroup group = new FakeGroup(c -> false);
    final AtomicInteger sideEffects = new AtomicInteger();
    final AtomicBoolean handedOff = new AtomicBoolean();
    final AtomicBoolean ranAfterHandOff = new AtomicBoolean();
    private final AtomicInteger reads = new AtomicInteger();
    volatile boolean leads = true;

    @Override
    public WorkflowState.Owner ownership() {
      WorkflowState.Owner answer = leads ? group.state.owner() : null;
      if (answer != null && reads.incrementAndGet() == 1) {
        // The hand-off begins now: no more owner decisions, drain, transfer.
        leads = false;
        if (sideEffects.get() == 0) {
          handedOff.set(true);
          // The leadership comes back a little later, so the run can finish here.
          CompletableFuture.delayedExecutor(300, java.util.concurrent.TimeUnit.MILLISECONDS).execute(() -> {
            handedOff.set(false);
            leads = true;
            group.run.signal();
          });
        } else {
          leads = true; // the drain would wait for it: the hand-off does not happen now
        }
      }
      return answer;
    }

    @Override
    public WorkflowState.Owner owner() {
      return group.owner();
    }

    @Override
    public boolean isOwnerNode() {
      return true;
    }

    @Override
    public boolean leaseHeld(WorkflowState.Owner owner) {
      return true;
    }

    @Override
    public CompletableFuture<Proposer.Outcome> propose(Command command) {
      return group.propose(command);
    }

    @Override
    public boolean isClosed() {
      return false;
    }

    @Override
    public boolean isSealed() {
      return false;
    }

    @Override
    public void sideEffectStarted() {
      sideEffects.incrementAndGet();
    }

    @Override
    public void sideEffectEnded() {
      sideEffects.decrementAndGet();
    }

    @Override
    public void runEnded(WorkflowRun run) {}
  }

  @Test
  void aSideEffectDecidedJustBeforeAHandOffIsDrainedOrNotRun() throws Exception {
    HandingOffGroup host = new HandingOffGroup();
    try (FakeGroup g = host.group) {
      WorkflowEntry entry = g.start("race", "\"in\"");
      WorkflowRun run = new WorkflowRun(host, entry, WorkflowDefinition.of("t", 1, String.class, String.class,
          (ctx, in) -> ctx.checkpointCompute("effect", String.class, () -> {
            if (host.handedOff.get()) {
              host.ranAfterHandOff.set(true);
            }
            return "done";
          })), PAYLOADS);
      g.run = run;
      Thread t = Thread.ofVirtual().start(run);
      t.join(30_000);
      assertThat(t.isAlive()).as("the run ended").isFalse();

      assertThat(entry.isRunning()).isFalse();
      assertThat(host.ranAfterHandOff).as("the side effect ran after a hand-off that drained nothing").isFalse();
    }
  }
}
