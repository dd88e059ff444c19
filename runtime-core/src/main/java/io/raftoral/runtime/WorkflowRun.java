package io.raftoral.runtime;

import com.google.protobuf.ByteString;
import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.raft.CheckpointPosition;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.SetCheckpoint;
import io.raftoral.proto.raft.WorkflowEnd;
import io.raftoral.proto.raft.WorkflowError;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.raft.Proposer;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.state.WorkflowState;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.ForeignException;
import io.raftoral.workflow.RunControl;
import io.raftoral.workflow.ThrowingSupplier;
import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * One local execution of a workflow function, and the {@link WorkflowContext} it sees.
 *
 * <p>Every durable step goes through one loop ({@link #commit}): return the committed value
 * of the position if there is one; otherwise, if this node is the owner, propose a value for
 * it; otherwise wait. The state machine {@link #signal}s the run whenever something it may be
 * waiting for was applied, so a non-owner ahead of the owner blocks and one behind it reads
 * committed values without blocking. Nothing is ever skipped or repeated, because a value is
 * only ever read from the replicated state at its sequence number.
 *
 * <p>Every owner decision is stamped with the owner term read when it was taken (before a side
 * effect runs, not after): if ownership moved meanwhile, the apply rules refuse the proposal
 * instead of taking it under the new owner's term.
 *
 * <p>The owner pipelines its writes: once it has proposed a value, the function goes on with
 * it before it commits. Two barriers keep that invisible: a {@code checkpointCompute} function
 * runs only after every earlier write of the run is committed ({@link #confirmWrites}), and the
 * end names the writes still unconfirmed, so the state machine refuses it until they are. A
 * write whose proposal failed or was refused is proposed again, in order, at the next step. If
 * one of them commits with another value (ownership moved meanwhile), this run went on with a
 * value that is not the workflow's: it stops, and a fresh run replays the committed ones.
 *
 * <p>The function may call the context from several threads: calls are serialized (one at a
 * time, in the order they take {@link #calls}), so the n-th write of a key is the n-th call
 * that got the lock.
 */
final class WorkflowRun implements WorkflowContext, RunControl, Runnable {
  // A wait is bounded so that a lost wake-up costs at most this long.
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(WorkflowRun.class);
  private static final long MAX_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  private static final long RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
  private static final long LEASE_RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  private static final java.util.concurrent.Executor AFTER_RETRY_PAUSE =
      CompletableFuture.delayedExecutor(RETRY_NANOS + TimeUnit.MILLISECONDS.toNanos(1), TimeUnit.NANOSECONDS);
  // Writes the owner may have proposed without their commit; past it, it waits for half of them,
  // so a loop that writes faster than the group commits does not grow memory without bound.
  static final int MAX_UNCONFIRMED = 1024;
  // A sleep with less than this left waits in place: ending the run and replaying it would cost more.
  static final long WAIT_IN_PLACE_MILLIS = 1000;

  /** What a run needs of its execution group: {@link GroupRuntime} in a node, a fake in unit tests. */
  interface Host {
    /** This node's ownership now (the owner and its term), or null when it may not decide as owner. */
    WorkflowState.Owner ownership();

    /** The group's owner and term as the replicated state has them, whoever it is. */
    WorkflowState.Owner owner();

    /** The replicated state names this node as owner (it may have just lost Raft leadership). */
    boolean isOwnerNode();

    CompletableFuture<Proposer.Outcome> propose(Command command);

    boolean isClosed();

    /**
     * The group is sealed for a merge: nothing more commits here (checkpoints and ends are
     * refused SEALED), and the merge target's owner resumes the workflow from what did.
     */
    boolean isSealed();

    /**
     * This node still leads in {@code owner}'s term, confirmed by a majority (the leader's lease,
     * or a heartbeat round): no other owner can exist now. A frozen or cut-off leader may believe
     * it owns long after another node took over and went further; it must not run a side effect
     * on that belief. May wait (at most an election timeout).
     */
    boolean leaseHeld(WorkflowState.Owner owner);

    /**
     * How long after a confirmation ({@link #leaseHeld}) began a side effect may still start on
     * it. The confirmation proves that no other leader can exist for a while counted from before
     * it began (Ratis's lease: 0.9 of the minimum election timeout from the last answered
     * heartbeat's sending; a heartbeat round: the whole timeout from its sending), so what is left
     * of the timeout bounds the wait. A node frozen during the confirmation (the answers wait in
     * its sockets) or after it confirms again.
     */
    default long leaseMarginNanos() {
      return Long.MAX_VALUE;
    }

    /** A side effect starts running here as owner ... */
    void sideEffectStarted();

    /** ... and its result's proposal is answered (or it failed): a leadership hand-off waits in between. */
    void sideEffectEnded();

    void runEnded(WorkflowRun run);

    /** The spans of a run of {@code entry} on this node (none in unit tests). */
    default RunTrace trace(WorkflowEntry entry) {
      return NodeTracing.none().run(entry, 0);
    }
  }

  private final Host host;
  private final WorkflowEntry entry;
  private final WorkflowDefinition<Object, Object> definition;
  private final Payloads payloads;
  private final RunTrace trace;

  // Serializes the context's calls (the function may use it from several threads) and the
  // end; everything below it is touched only under it.
  private final ReentrantLock calls = new ReentrantLock();
  private final Map<String, Long> nextSeq = new HashMap<>();
  // Set once the function has returned: the context may not be used any more.
  private volatile boolean returned;
  // The thread running a checkpointCompute function here, while it runs: the function runs on
  // the owner only, so a context call made from it would exist on the owner alone.
  private volatile Thread sideEffectThread;

  // An interrupt that reached a wait of the runtime while the node is open: the runtime itself
  // interrupts runs only when the node closes, so it is the function's own; it is handed back
  // (the flag set again) when the context call returns. Touched under calls.
  private boolean interruptHeld;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private long signals;

  // The committed wake-up time (epoch ms) once a durable sleep ended the run, else 0. From then
  // on every context call, on any of the function's threads, ends it again: what the function
  // does while it unwinds (a finally block's step, a caught error) is not its next step.
  private volatile long sleepingUntil;

  /**
   * Ends a run at a durable sleep: the workflow needs no run until {@code wakeAtMillis}. An
   * {@link Error}, stackless, as {@link WorkflowAbort}.
   */
  private static final class Sleep extends Error {
    final long wakeAtMillis;

    Sleep(long wakeAtMillis) {
      super("workflow run sleeps", null, false, false);
      this.wakeAtMillis = wakeAtMillis;
    }
  }

  /** The proposal of one thing (a write, the end): at most one out, and a pause after a failed one. */
  private static final class Attempt {
    CompletableFuture<Proposer.Outcome> out;
    long retryAtNanos;

    /** Whether it may be proposed now: none is out, and one that failed has waited {@link WorkflowRun#RETRY_NANOS}. */
    boolean mayGo() {
      if (out != null) {
        if (!out.isDone()) {
          return false;
        }
        if (out.isCompletedExceptionally()) {
          retryAtNanos = System.nanoTime() + RETRY_NANOS;
        }
        out = null;
      }
      return System.nanoTime() >= retryAtNanos;
    }

    boolean inFlight() {
      return out != null && !out.isDone();
    }
  }

  // The owner's proposal of the workflow's end.
  private final Attempt end = new Attempt();

  /** A write this run went on with before it committed: its position, value and proposal. */
  private static final class Unconfirmed {
    final String key;
    final long seq;
    final ByteString value;
    long ownerTerm;
    // Proposed at least once: a proposal now is a retry.
    boolean sent;
    final Attempt attempt = new Attempt();
    // The step's span, ended once a proposal of it commits (null: none).
    io.opentelemetry.api.trace.Span span;

    Unconfirmed(String key, long seq, ByteString value, long ownerTerm) {
      this.key = key;
      this.seq = seq;
      this.value = value;
      this.ownerTerm = ownerTerm;
    }
  }

  // In proposal order.
  private final ArrayDeque<Unconfirmed> unconfirmed = new ArrayDeque<>();

  @SuppressWarnings("unchecked")
  WorkflowRun(Host host, WorkflowEntry entry, WorkflowDefinition<?, ?> definition, Payloads payloads) {
    this.host = host;
    this.entry = entry;
    this.definition = (WorkflowDefinition<Object, Object>) definition;
    this.payloads = payloads;
    this.trace = host.trace(entry);
  }

  ExecutionMode mode() {
    return definition.mode();
  }

  /** The committed wake-up time when the run ended at a durable sleep, else 0. */
  long sleepingUntil() {
    return sleepingUntil;
  }

  /** Writes this run went on with whose commit it has not seen yet (call on the run's threads, for tests). */
  int unconfirmedWrites() {
    return unconfirmed.size();
  }

  /** Wakes the run: something it may wait for was applied. Never blocks for long. */
  void signal() {
    lock.lock();
    try {
      signals++;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void run() {
    try {
      Object input = payloads.decode(entry.input().toByteArray(), definition.inputType());
      Object result;
      try {
        result = definition.function().run(this, input);
      } finally {
        returned = true;
      }
      if (sleepingUntil != 0) {
        throw new Sleep(sleepingUntil); // the function swallowed it: it still sleeps
      }
      byte[] bytes = payloads.encode("result of workflow " + workflowId(), result, definition.resultType());
      finish(WorkflowEnd.newBuilder().setResult(ByteString.copyFrom(bytes)));
      trace.end("completed", null);
    } catch (WorkflowAbort abort) {
      // The workflow no longer needs this run.
      trace.end(entry.isRunning() ? "stopped" : "ended elsewhere", null);
    } catch (Sleep sleep) {
      trace.end("sleeping", null); // the host wakes the workflow at sleepingUntil (runEnded)
    } catch (Errors.WorkflowTerminatedException terminated) {
      if (entry.status() != WorkflowStatusCode.TERMINATED) {
        finish(failure(terminated));
      }
      trace.end("terminated", null);
    } catch (Throwable t) {
      if (sleepingUntil != 0) {
        trace.end("sleeping", null); // an error the function threw while a sleep unwound it: not its outcome
      } else {
        finish(failure(t));
        trace.end("failed", t);
      }
    } finally {
      unconfirmed.forEach(w -> endSpan(w, "not committed by this run"));
      host.runEnded(this);
    }
  }

  private void checkNotInSideEffect() {
    if (sideEffectThread == Thread.currentThread()) {
      throw new Errors.InvalidArgumentException("the context of workflow " + workflowId() + " was used inside a checkpointCompute "
          + "function: that function runs on the owner only, so it may not checkpoint; return its value instead");
    }
  }

  private static WorkflowEnd.Builder failure(Throwable t) {
    String type = t instanceof ForeignException foreign ? foreign.errorType() : t.getClass().getName();
    return WorkflowEnd.newBuilder().setError(WorkflowError.newBuilder()
        .setType(type)
        .setMessage(Objects.requireNonNullElse(t.getMessage(), "")));
  }

  // --- WorkflowContext ---

  @Override
  public String workflowId() {
    return entry.workflowId();
  }

  @Override
  public WorkflowType workflowType() {
    return definition.type();
  }

  @Override
  public boolean isOwner() {
    return host.ownership() != null;
  }

  @Override
  public boolean isTerminated() {
    return entry.status() == WorkflowStatusCode.TERMINATED;
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> T checkpoint(String key, T value) {
    if (value == null) {
      throw new Errors.InvalidArgumentException("checkpoint value of '" + key + "' must not be null; use checkpoint(key, value, type)");
    }
    return checkpoint(key, value, (Class<T>) value.getClass());
  }

  @Override
  public <T> T checkpoint(String key, T value, Class<T> type) {
    byte[] bytes = payloads.encode("checkpoint '" + key + "'", value, type);
    return payloads.decode(commit(key, false, () -> bytes), type);
  }

  @Override
  public byte[] checkpointBytes(String key, byte[] value) {
    return checkpoint(key, value, byte[].class);
  }

  @Override
  public <T> T checkpointCompute(String key, Class<T> type, ThrowingSupplier<T> fn) {
    Objects.requireNonNull(fn, "fn");
    byte[] committed = commit(key, true, () -> payloads.encode("checkpoint '" + key + "'", fn.get(), type));
    return payloads.decode(committed, type);
  }

  @Override
  public byte[] checkpointComputeBytes(String key, ThrowingSupplier<byte[]> fn) {
    return checkpointCompute(key, byte[].class, fn);
  }

  @Override
  public <T> ReplicatedVar<T> var(String key, Class<T> type, T initial) {
    T first = checkpoint(key, initial, type);
    return new CheckpointedVar<>(first, calls, value -> checkpoint(key, value, type), this::checkNotInSideEffect);
  }

  @Override
  public void sleep(Duration duration) {
    long millis = ContextArguments.sleepMillis(duration);
    sleepUntilCommitted(() -> saturatedAdd(System.currentTimeMillis(), millis));
  }

  @Override
  public void sleepUntil(Instant wakeUp) {
    long at = ContextArguments.wakeUpMillis(wakeUp);
    sleepUntilCommitted(() -> at);
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
  }

  /**
   * Commits the next wake-up time (the owner's {@code ownerWakeUp}, decided once) and waits for
   * it: in place when it is near, else by ending the run ({@link Sleep}); the host starts a new
   * one at the wake-up time, which replays to here and finds the time passed. Every write of the
   * run, the wake-up time last, is committed before the run lets go: the run that comes back
   * must find the same time, not decide another.
   */
  private void sleepUntilCommitted(LongSupplier ownerWakeUp) {
    calls.lock();
    try {
      checkUsable();
      byte[] committed = commitLocked(SLEEP_KEY, false,
          () -> Long.toString(ownerWakeUp.getAsLong()).getBytes(StandardCharsets.US_ASCII));
      long wakeAt = Long.parseLong(new String(committed, StandardCharsets.US_ASCII));
      confirmWrites(0);
      while (true) {
        long now = System.currentTimeMillis();
        if (wakeAt <= now) { // compared, not subtracted: a wake-up long past must not overflow into the future
          return;
        }
        long left = wakeAt - now; // now >= 0, so no overflow
        checkStillWanted();
        if (left > WAIT_IN_PLACE_MILLIS) {
          sleepingUntil = wakeAt; // before the lock is released: a call waiting for it ends here too
          throw new Sleep(wakeAt);
        }
        awaitChange(signalCount(), TimeUnit.MILLISECONDS.toNanos(left)); // a termination ends it early
      }
    } finally {
      releaseCalls();
    }
  }

  // --- the commit loop ---

  /**
   * The value of the next position of {@code key}: the committed one if there is one; on the
   * owner, {@code ownerValue} once proposed (pipelined). A side effect ({@code sideEffect}) runs
   * only after every earlier write of the run is committed.
   */
  private byte[] commit(String key, boolean sideEffect, ThrowingSupplier<byte[]> ownerValue) {
    ContextArguments.userKey(key);
    calls.lock();
    try {
      checkUsable();
      return commitLocked(key, sideEffect, ownerValue);
    } finally {
      releaseCalls();
    }
  }

  /**
   * Refuses a context call once a sleep ended the run (any thread: it ends there too), after the
   * function returned, or from inside a side effect. Under {@link #calls}.
   */
  private void checkUsable() {
    long asleep = sleepingUntil;
    if (asleep != 0) {
      throw new Sleep(asleep);
    }
    if (returned) {
      throw new Errors.InvalidArgumentException("the context of workflow " + workflowId() + " was used after its function returned");
    }
    checkNotInSideEffect();
  }

  /** Ends a context call: hands back an interrupt held during it, then the lock. */
  private void releaseCalls() {
    if (interruptHeld) {
      interruptHeld = false;
      Thread.currentThread().interrupt();
    }
    calls.unlock();
  }

  private byte[] commitLocked(String key, boolean sideEffect, ThrowingSupplier<byte[]> ownerValue) {
    // The position is consumed only once its value is proposed: a side effect that throws
    // leaves it free, so the function may catch the error and write the key again.
    long seq = nextSeq.getOrDefault(key, 0L);
    while (true) {
      long seen = signalCount();
      settleWrites();
      ByteString committed = committed(key, seq);
      if (committed != null) {
        nextSeq.put(key, seq + 1);
        return committed.toByteArray();
      }
      checkStillWanted();
      WorkflowState.Owner owner = host.ownership();
      if (owner != null) {
        if ((sideEffect && !unconfirmed.isEmpty()) || unconfirmed.size() >= MAX_UNCONFIRMED) {
          confirmWrites(sideEffect ? 0 : MAX_UNCONFIRMED / 2);
          continue;
        }
        byte[] value;
        io.opentelemetry.api.trace.Span step;
        if (sideEffect) {
          host.sideEffectStarted();
          CompletableFuture<Proposer.Outcome> result = null;
          try {
            // Read again once counted: a hand-off that began after the read above either sees
            // this side effect in its drain, or this read sees the hand-off and waits.
            if (!owner.equals(host.ownership())) {
              continue;
            }
            // The fencing of the apply rules refuses a stale owner's result, but only after its
            // side effect ran: a leader back from a freeze must first hear from a majority.
            long confirming = System.nanoTime();
            if (!host.leaseHeld(owner)) {
              // A short pause before deciding again: the next heartbeats' answers renew the lease,
              // or a newer term arrives (and with it, applied, another owner).
              awaitChange(signalCount(), LEASE_RECHECK_NANOS);
              continue;
            }
            // The last look before the function runs: a confirmation that began too long ago (a
            // freeze while its answers waited in the sockets, or since) proves a past leadership.
            if (System.nanoTime() - confirming >= host.leaseMarginNanos()) {
              continue;
            }
            step = trace.step("compute", key, seq);
            sideEffectThread = Thread.currentThread();
            try {
              value = computeOwnerValue(ownerValue);
            } catch (Throwable e) { // checked ones too: the function's own exceptions pass through unchanged
              step.recordException(e);
              step.setStatus(io.opentelemetry.api.trace.StatusCode.ERROR, String.valueOf(e.getMessage()));
              step.end();
              throw e;
            } finally {
              sideEffectThread = null;
            }
            result = writeAs(owner, key, seq, value, step).attempt.out;
          } finally {
            if (result == null) {
              host.sideEffectEnded();
            } else {
              result.whenComplete((outcome, error) -> host.sideEffectEnded());
            }
          }
        } else {
          step = trace.step("checkpoint", key, seq);
          try {
            value = computeOwnerValue(ownerValue);
          } catch (Throwable e) {
            step.recordException(e);
            step.end();
            throw e;
          }
          writeAs(owner, key, seq, value, step);
        }
        nextSeq.put(key, seq + 1);
        return value;
      }
      awaitChange(seen);
    }
  }

  /**
   * Goes on with {@code value} at (key, seq), decided as {@code owner}: proposed with that
   * owner's term even if ownership moved while the value was computed, so that the apply rules
   * refuse it (STALE_OWNER) rather than take it under another owner's term.
   */
  private Unconfirmed writeAs(WorkflowState.Owner owner, String key, long seq, byte[] value, io.opentelemetry.api.trace.Span step) {
    Unconfirmed w = new Unconfirmed(key, seq, ByteString.copyFrom(value), owner.term());
    if (step.isRecording()) {
      w.span = step; // ended when a proposal of it commits
    } else {
      step.end(); // not traced (no OpenTelemetry, or not sampled): nothing to wait for
    }
    unconfirmed.add(w);
    sendWrites(owner);
    return w;
  }

  /** Waits until at most {@code atMost} writes this run went on with are unconfirmed, proposing again any that was not committed. */
  private void confirmWrites(int atMost) {
    while (true) {
      long seen = signalCount();
      settleWrites();
      if (unconfirmed.size() <= atMost) {
        return;
      }
      checkStillWanted();
      WorkflowState.Owner owner = host.ownership();
      if (owner != null) {
        sendWrites(owner);
      }
      awaitChange(seen);
    }
  }

  /**
   * Proposes, in order, every unconfirmed write that is not in flight: new ones, and those whose
   * proposal failed or was refused (a proposal that is done but not settled did not commit: the
   * state machine's answer is applied before the proposal completes), these with the term of
   * {@code owner}, this node's ownership now. A new write follows writes of its key in flight (the
   * proposer keeps their order); any write waits behind a write of its key that waits out a
   * retry pause, and a write proposed again waits behind one in flight, as it was probably refused
   * only for being ahead of that one.
   */
  private void sendWrites(WorkflowState.Owner owner) {
    Set<String> inFlight = null;
    Set<String> held = null;
    for (Unconfirmed w : unconfirmed) {
      if (w.attempt.inFlight()) {
        inFlight = add(inFlight, w.key);
        continue;
      }
      boolean again = w.sent;
      if (contains(held, w.key) || (again && contains(inFlight, w.key)) || !w.attempt.mayGo()) {
        held = add(held, w.key);
        continue;
      }
      w.ownerTerm = owner.term();
      w.sent = true;
      w.attempt.out = propose(setCheckpoint(w));
      if (w.span != null) {
        w.attempt.out.whenComplete((outcome, error) -> {
          if (error == null && outcome.result().getCode() == ResultCode.APPLIED) {
            endSpan(w, null);
          }
        });
      }
    }
  }

  /** Ends a write's span once: committed ({@code why} null), or not by this run. */
  private static void endSpan(Unconfirmed w, String why) {
    io.opentelemetry.api.trace.Span span;
    synchronized (w) {
      span = w.span;
      w.span = null;
    }
    if (span != null) {
      if (why != null) {
        span.setAttribute(RunTrace.OUTCOME, why);
      }
      span.end();
    }
  }

  private static Set<String> add(Set<String> keys, String key) {
    Set<String> out = keys == null ? new HashSet<>() : keys;
    out.add(key);
    return out;
  }

  private static boolean contains(Set<String> keys, String key) {
    return keys != null && keys.contains(key);
  }

  /**
   * Drops the unconfirmed writes that committed with this run's value; stops the run if one
   * committed with another value, which only another owner can have written.
   */
  private void settleWrites() {
    while (!unconfirmed.isEmpty() && committedAsProposed(unconfirmed.peek())) {
      unconfirmed.poll();
    }
    if (!unconfirmed.isEmpty() && unconfirmed.peek().ownerTerm != host.owner().term()) {
      // Ownership moved since: the new owner may fill any of these positions, in any order.
      unconfirmed.removeIf(this::committedAsProposed);
    }
  }

  private boolean committedAsProposed(Unconfirmed w) {
    ByteString committed = committed(w.key, w.seq);
    if (committed == null) {
      return false;
    }
    if (!committed.equals(w.value)) {
      throw WorkflowAbort.INSTANCE;
    }
    return true;
  }

  /**
   * The committed value at (key, seq), or null; when the store that holds it cannot be read (the
   * node closing, a snapshot install that did not finish) this run stops, and the node starts
   * another once the store is back ({@link GroupRuntime#restored}).
   */
  private ByteString committed(String key, long seq) {
    try {
      return entry.checkpoint(key, seq);
    } catch (io.raftoral.state.CommittedValues.Unavailable e) {
      LOG.info("workflow {}: stopping its run here: {}", workflowId(), e.getMessage());
      throw WorkflowAbort.INSTANCE;
    }
  }

  private Command setCheckpoint(Unconfirmed w) {
    return Command.newBuilder().setSetCheckpoint(SetCheckpoint.newBuilder()
        .setWorkflowId(workflowId()).setKey(w.key).setSeq(w.seq).setValue(w.value).setOwnerTerm(w.ownerTerm)
        // The history's commit time: this owner's clock now, so every replica stores the same.
        .setCommittedAtMillis(System.currentTimeMillis())).build();
  }

  /**
   * Waits until the workflow has a final status; the owner proposes its end with {@code result},
   * naming the writes not confirmed yet, which the state machine then requires committed. Waits
   * first for calls still made by threads the function left running.
   */
  private void finish(WorkflowEnd.Builder result) {
    calls.lock();
    try {
      while (entry.isRunning()) {
        long seen = signalCount();
        settleWrites();
        checkStillWanted();
        if (refusedAsEarly(end.out)) {
          end.out = null;
          confirmWrites(0);
          continue;
        }
        WorkflowState.Owner owner;
        if (end.mayGo() && (owner = host.ownership()) != null) {
          trace.ending();
          sendWrites(owner);
          WorkflowEnd.Builder proposal = result.clone()
              .setWorkflowId(workflowId()).setOwnerTerm(owner.term())
              .setEndedAtMillis(System.currentTimeMillis())
              // The end is where the type's history retention applies (never while it runs: a
              // replay reads every value from seq 0); carried so every replica trims the same.
              .setKeepLastPerKey(definition.keepLastPerKey());
          for (Unconfirmed w : unconfirmed) {
            proposal.addAwaited(CheckpointPosition.newBuilder().setKey(w.key).setSeq(w.seq));
          }
          end.out = propose(Command.newBuilder().setWorkflowEnd(proposal).build());
        }
        awaitChange(seen);
      }
    } catch (WorkflowAbort | Errors.WorkflowTerminatedException done) {
      // Ended elsewhere, terminated, or no longer ours to finish.
    } finally {
      calls.unlock();
    }
  }

  /** Whether the end was refused because one of the writes it awaited was not committed. */
  private static boolean refusedAsEarly(CompletableFuture<Proposer.Outcome> proposal) {
    return proposal != null && proposal.isDone() && !proposal.isCompletedExceptionally()
        && proposal.join().result().getCode() == ResultCode.OUT_OF_ORDER;
  }

  private static byte[] computeOwnerValue(ThrowingSupplier<byte[]> ownerValue) {
    try {
      return ownerValue.get();
    } catch (Exception e) {
      throw WorkflowRun.<RuntimeException>sneakyThrow(e);
    }
  }

  /** Rethrows a workflow's own exception unchanged, so that FAILED records its real type. */
  @SuppressWarnings("unchecked")
  private static <E extends Throwable> E sneakyThrow(Throwable t) throws E {
    throw (E) t;
  }

  private CompletableFuture<Proposer.Outcome> propose(Command command) {
    CompletableFuture<Proposer.Outcome> proposal = host.propose(command);
    proposal.whenComplete((outcome, error) -> {
      signal();
      if (error != null) {
        AFTER_RETRY_PAUSE.execute(this::signal); // its retry may go then: do not wait for the next change
      }
    });
    return proposal;
  }

  /** Throws when the run must stop: terminated, ended elsewhere, not ours, or node closing. */
  @Override
  public void checkStillWanted() {
    WorkflowStatusCode status = entry.status();
    if (status == WorkflowStatusCode.TERMINATED) {
      throw new Errors.WorkflowTerminatedException(workflowId(), entry.toRecord().getTerminationReason());
    }
    if (status != WorkflowStatusCode.RUNNING || host.isClosed()) {
      throw WorkflowAbort.INSTANCE;
    }
    // Sealed: stop quietly, as a deposed owner's run does; neither FAILED nor proposals that can
    // only be refused. Nothing this run did after the seal committed, so the target re-runs nothing committed.
    if (host.isSealed()) {
      throw WorkflowAbort.INSTANCE;
    }
    if (definition.mode() == ExecutionMode.OWNER_ONLY && !host.isOwnerNode()) {
      throw WorkflowAbort.INSTANCE;
    }
  }

  private long signalCount() {
    lock.lock();
    try {
      return signals;
    } finally {
      lock.unlock();
    }
  }

  private void awaitChange(long seen) {
    awaitChange(seen, MAX_WAIT_NANOS);
  }

  /** Waits until the state machine signals a change after {@code seen}, at most {@code maxNanos}. */
  private void awaitChange(long seen, long maxNanos) {
    lock.lock();
    try {
      long left = maxNanos;
      while (signals == seen && left > 0) {
        left = changed.awaitNanos(left);
      }
    } catch (InterruptedException e) {
      if (host.isClosed()) {
        throw WorkflowAbort.INSTANCE;
      }
      // Not the node closing: aborting here would start a fresh run that finds this run's
      // proposals still in flight and runs their side effects again.
      interruptHeld = true;
    } finally {
      lock.unlock();
    }
  }
}
