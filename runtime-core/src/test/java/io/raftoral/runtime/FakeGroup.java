package io.raftoral.runtime;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.OwnerChange;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.raft.Proposer;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.state.WorkflowState;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * The group a {@link WorkflowRun} sees, without Raft: proposals are applied in order to a real
 * {@link WorkflowState} on one thread, as a group's log would apply them, and the run is
 * signalled after each. A test chooses which proposals get lost (fail without being applied).
 */
final class FakeGroup implements WorkflowRun.Host, AutoCloseable {
  static final long TERM = 1;

  final WorkflowState state = new WorkflowState();
  private final ExecutorService log = Executors.newSingleThreadExecutor();
  private final AtomicLong index = new AtomicLong();
  private final Predicate<Command> lose;
  volatile boolean owning = true;
  volatile WorkflowRun run;
  volatile int mostUnconfirmed;
  volatile boolean ended;

  /** @param lose proposals to lose, each tested once when proposed */
  FakeGroup(Predicate<Command> lose) {
    this.lose = lose;
    state.apply(Command.newBuilder().setOwnerChange(OwnerChange.newBuilder().setOwnerNode(1).setClaimantTerm(TERM)).build(), TERM);
  }

  WorkflowEntry start(String workflowId, String input) {
    state.apply(Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder().setWorkflowId(workflowId)
        .setType("t").setVersion(1).setInput(ByteString.copyFromUtf8(input))).build(), TERM);
    return state.get(workflowId);
  }

  @Override
  public WorkflowState.Owner ownership() {
    return owning ? state.owner() : null;
  }

  @Override
  public WorkflowState.Owner owner() {
    return state.owner();
  }

  @Override
  public boolean isOwnerNode() {
    return owning;
  }

  @Override
  public CompletableFuture<Proposer.Outcome> propose(Command command) {
    WorkflowRun r = run;
    if (r != null) {
      mostUnconfirmed = Math.max(mostUnconfirmed, r.unconfirmedWrites());
    }
    if (lose.test(command)) {
      return CompletableFuture.supplyAsync(() -> {
        throw new java.io.UncheckedIOException(new IOException("lost on the way"));
      }, log);
    }
    return CompletableFuture.supplyAsync(() -> {
      var result = state.apply(command, TERM);
      WorkflowRun signalled = run;
      if (signalled != null) {
        signalled.signal();
      }
      return new Proposer.Outcome(result, index.incrementAndGet());
    }, log);
  }

  @Override
  public boolean isClosed() {
    return false;
  }

  @Override
  public void sideEffectStarted() {}

  @Override
  public void sideEffectEnded() {}

  @Override
  public void runEnded(WorkflowRun run) {
    ended = true;
  }

  @Override
  public void close() {
    log.shutdownNow();
  }
}
