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
import java.util.function.BiPredicate;
import java.util.function.Predicate;

/**
 * The group a {@link WorkflowRun} sees, without Raft: proposals are applied in order to a real
 * {@link WorkflowState} on one thread, as a group's log would apply them, and the run is
 * signalled after each. A test chooses which proposals get lost: on the way (never applied), or
 * after they were applied (the reply lost, as a client timeout after the commit), by their
 * number (from 1, in proposal order) and command.
 */
final class FakeGroup implements WorkflowRun.Host, AutoCloseable {
  static final long TERM = 1;

  final WorkflowState state = new WorkflowState();
  private final ExecutorService log = Executors.newSingleThreadExecutor();
  private final AtomicLong index = new AtomicLong();
  private final AtomicLong proposals = new AtomicLong();
  private final BiPredicate<Long, Command> loseBefore;
  private final BiPredicate<Long, Command> loseAfter;
  volatile boolean owning = true;
  // Whether a majority confirms this owner's leadership now (RaftHost.confirmLeadership).
  volatile boolean leaseHeld = true;
  // How long each confirmation of the lease takes (a freeze while its answers wait), how many
  // were asked for, and the margin the host gives a side effect after one began.
  volatile long leaseConfirmMillis;
  final java.util.concurrent.atomic.AtomicInteger leaseConfirmations = new java.util.concurrent.atomic.AtomicInteger();
  volatile long leaseMarginNanos = Long.MAX_VALUE;
  volatile WorkflowRun run;
  volatile int mostUnconfirmed;
  volatile boolean ended;

  /** @param lose proposals to lose on the way, each tested once */
  FakeGroup(Predicate<Command> lose) {
    this((n, c) -> lose.test(c), (n, c) -> false);
  }

  FakeGroup(BiPredicate<Long, Command> loseBefore, BiPredicate<Long, Command> loseAfter) {
    this.loseBefore = loseBefore;
    this.loseAfter = loseAfter;
    state.apply(Command.newBuilder().setOwnerChange(OwnerChange.newBuilder().setOwnerNode(1).setClaimantTerm(TERM)).build(), TERM);
  }

  /** Starts workflow {@code workflowId} (input "in") and runs {@code fn} as it to its end; returns its final entry. */
  WorkflowEntry runToEnd(String workflowId, io.raftoral.workflow.WorkflowFunction<String, String> fn) throws InterruptedException {
    return runToEnd(workflowId, io.raftoral.workflow.WorkflowDefinition.of("t", 1, String.class, String.class, fn));
  }

  /** As {@link #runToEnd(String, io.raftoral.workflow.WorkflowFunction)}, with the whole definition. */
  WorkflowEntry runToEnd(String workflowId, io.raftoral.workflow.WorkflowDefinition<String, String> definition)
      throws InterruptedException {
    WorkflowEntry entry = start(workflowId, "\"in\"");
    WorkflowRun r = new WorkflowRun(this, entry, definition, new Payloads(new io.raftoral.workflow.JsonCodec(), 1 << 20));
    run = r;
    Thread t = Thread.ofVirtual().start(r);
    t.join(60_000);
    org.assertj.core.api.Assertions.assertThat(t.isAlive()).as("the run ended").isFalse();
    return entry;
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
  public boolean leaseHeld(WorkflowState.Owner owner) {
    leaseConfirmations.incrementAndGet();
    long confirming = leaseConfirmMillis;
    if (confirming > 0) {
      try {
        Thread.sleep(confirming);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return leaseHeld;
  }

  @Override
  public long leaseMarginNanos() {
    return leaseMarginNanos;
  }

  @Override
  public CompletableFuture<Proposer.Outcome> propose(Command command) {
    WorkflowRun r = run;
    if (r != null) {
      mostUnconfirmed = Math.max(mostUnconfirmed, r.unconfirmedWrites());
    }
    long n = proposals.incrementAndGet();
    return CompletableFuture.supplyAsync(() -> {
      if (loseBefore.test(n, command)) {
        throw new java.io.UncheckedIOException(new IOException("lost on the way"));
      }
      var result = state.apply(command, TERM);
      WorkflowRun signalled = run;
      if (signalled != null) {
        signalled.signal();
      }
      if (loseAfter.test(n, command)) {
        throw new java.io.UncheckedIOException(new IOException("applied, but the reply was lost"));
      }
      return new Proposer.Outcome(result, index.incrementAndGet());
    }, log);
  }

  @Override
  public boolean isClosed() {
    return false;
  }

  @Override
  public boolean isSealed() {
    return state.sealed();
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
