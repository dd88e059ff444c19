package io.raftoral.workflow;

import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowType;
import java.util.function.UnaryOperator;

/**
 * What a running workflow function uses to make its progress durable.
 *
 * <h2>The checkpoint contract</h2>
 * Per (workflow, key) the committed values form one ordered sequence: the n-th write of a key
 * in a run returns the n-th committed value of that key, on every node. A repeated write of a
 * key appends; it never overwrites. Keys are independent. A non-owner returns only committed
 * values; the owner goes on with its own value once it is proposed (pipelined), and every
 * earlier write is committed before a {@link #checkpointCompute} function runs and before the
 * workflow ends.
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
   * Records {@code value} as the next value of {@code key} and returns the committed value.
   * Every node that runs the function computes a value; only the owner's is proposed. The owner
   * gets its value back as soon as it is proposed (pipelined writes): every earlier write is
   * committed before a {@link #checkpointCompute} function runs and before the workflow ends,
   * and a run that went on with a value another owner overwrote is replayed.
   */
  <T> T checkpoint(String key, T value);

  /** As {@link #checkpoint(String, Object)}, for a value whose class is given explicitly. */
  <T> T checkpoint(String key, T value, Class<T> type);

  /** As {@link #checkpoint(String, Object)}, for raw bytes (no codec). */
  byte[] checkpointBytes(String key, byte[] value);

  /**
   * Runs {@code fn} only on the owner and only when the next value of {@code key} is not
   * committed yet; records its result and returns the committed value. Without failures
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
   * A replicated variable backed by checkpoints of {@code key}. Creating it writes {@code
   * initial} as its first value.
   */
  <T> ReplicatedVar<T> var(String key, Class<T> type, T initial);

  /** A variable holding one value of a workflow, replicated like a checkpoint. */
  interface ReplicatedVar<T> {
    /** The current committed value; local, no I/O. */
    T get();

    /** Writes the next value and returns the committed one. */
    T set(T value);

    /** Writes {@code fn(get())} and returns the committed value. */
    T update(UnaryOperator<T> fn);
  }
}
