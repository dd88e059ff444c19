package io.raftoral.workflow;

import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowType;
import java.time.Duration;
import java.time.Instant;
import java.util.function.UnaryOperator;

/**
 * What a running workflow function uses to make its progress durable.
 *
 * <h2>The checkpoint contract</h2>
 * Per (workflow, key) the committed values form one ordered sequence, the same on every node:
 * the n-th write of a key in a run stands for the n-th value of that key. A repeated write of a
 * key appends; it never overwrites. Keys are independent. A write whose position is already
 * committed (a replay) returns the committed value. Otherwise a non-owner waits for it to
 * commit, while the owner proposes its own value and goes on with it at once, before a
 * majority has accepted it (pipelined writes, docs/ARCHITECTURE.md). What waiting would
 * protect holds through two barriers: every earlier write is committed before a
 * {@link #checkpointCompute} function runs, and before the workflow ends. Should ownership
 * move while writes are unconfirmed and another value commit at one of their positions, the
 * run that went on with its own value stops and a fresh run replays the committed ones: plain
 * code between checkpoints may therefore run with a value that is not kept, so anything that
 * acts on the outside world belongs in {@link #checkpointCompute}.
 *
 * <h2>Errors</h2>
 * Every checkpoint call throws {@link Errors.WorkflowTerminatedException} once the workflow is
 * terminated, so that the function unwinds. A call may also unwind the function with an
 * internal error when the workflow already ended elsewhere; do not catch {@link Throwable}.
 *
 * <h2>Thread safety</h2>
 * A context belongs to one run of one function. The function may call it from threads it
 * starts: the calls are serialized, so the n-th write of a key is the n-th call that got its
 * turn on this node. Another node running the function may serialize its threads' calls
 * differently, so threads that write the same key may get each other's values there: give each
 * thread its own keys when that matters. {@link ReplicatedVar#update} reads and writes as one
 * call. After the function returns, every call throws {@link Errors.InvalidArgumentException}.
 */
public interface WorkflowContext {
  String workflowId();

  WorkflowType workflowType();

  /** Whether this node is the workflow's owner right now (it may change at any checkpoint). */
  boolean isOwner();

  /** Whether the workflow has been terminated; a cooperative function checks it in long loops. */
  boolean isTerminated();

  /**
   * Records {@code value} as the next value of {@code key} and returns that position's value.
   * Every node that runs the function computes a value; only the owner's is proposed. A
   * committed position returns its committed value; otherwise the owner gets its value back as
   * soon as it is proposed (pipelined writes) and a non-owner once it is committed. A run that
   * went on with a value another owner's commit replaced is stopped and replayed (see above).
   */
  <T> T checkpoint(String key, T value);

  /** As {@link #checkpoint(String, Object)}, for a value whose class is given explicitly. */
  <T> T checkpoint(String key, T value, Class<T> type);

  /** As {@link #checkpoint(String, Object)}, for raw bytes (no codec). */
  byte[] checkpointBytes(String key, byte[] value);

  /**
   * Runs {@code fn} only on the owner and only when the next value of {@code key} is not
   * committed yet; records its result and returns that position's value as {@link #checkpoint}
   * does (on the owner, {@code fn}'s result once proposed). Without failures
   * {@code fn} runs exactly once in the whole cluster; around an owner crash it runs again only
   * if its result was never committed. Non-owners never run it. {@code fn} may not use this
   * context: a checkpoint call from it throws {@link Errors.InvalidArgumentException}, as such a write would
   * exist on the owner only and the owner's and the other nodes' runs would then read different
   * values. Calls from other threads wait until {@code fn} returns, so {@code fn} must not wait
   * for a thread that uses the context.
   */
  <T> T checkpointCompute(String key, Class<T> type, ThrowingSupplier<T> fn);

  /** As {@link #checkpointCompute}, for raw bytes (no codec). */
  byte[] checkpointComputeBytes(String key, ThrowingSupplier<byte[]> fn);

  /**
   * Durable sleep: the workflow goes on once {@code duration} has passed, counted from the
   * owner's clock when it reached this call. The wake-up time is committed like a checkpoint
   * (key {@link #SLEEP_KEY}), so a replay, a restart or a new owner wakes it at that same time,
   * not later. A sleep longer than a moment holds no thread: the function's run ends here and a
   * new run, replaying the committed steps, comes back to this call at the wake-up time. From the
   * sleep on, every context call of this run, on any thread of the function, ends it the same way
   * (do not catch {@link Throwable}). A terminated workflow stops sleeping.
   *
   * @throws Errors.InvalidArgumentException for a negative or null duration
   */
  void sleep(Duration duration);

  /**
   * As {@link #sleep}, until {@code wakeUp} on the owner's clock; a time already past returns at
   * once (after its commit).
   */
  void sleepUntil(Instant wakeUp);

  /**
   * The key under which sleeps commit their wake-up times (epoch milliseconds), one position
   * per sleep. Keys starting with {@code raftoral:} belong to the runtime: a checkpoint of one
   * is refused.
   */
  String SLEEP_KEY = "raftoral:sleep";

  /**
   * A replicated variable backed by checkpoints of {@code key}. Creating it writes {@code
   * initial} as its first value.
   */
  <T> ReplicatedVar<T> var(String key, Class<T> type, T initial);

  /** A variable holding one value of a workflow, replicated like a checkpoint. */
  interface ReplicatedVar<T> {
    /** The value the last write or read of this variable returned; local, no I/O. */
    T get();

    /** Writes the next value and returns it as {@link WorkflowContext#checkpoint} does. */
    T set(T value);

    /** Writes {@code fn(get())} and returns it as {@link #set} does. */
    T update(UnaryOperator<T> fn);
  }
}
