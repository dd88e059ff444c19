package io.raftoral.runtime;

import io.raftoral.workflow.WorkflowContext.ReplicatedVar;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.UnaryOperator;

/**
 * A {@link ReplicatedVar} over one checkpoint key of a run (a live run or a replay): every set is
 * the next checkpoint of the key, taken under the run's call lock, so an update reads and writes
 * as one call and concurrent updates do not lose one another.
 */
final class CheckpointedVar<T> implements ReplicatedVar<T> {
  private final ReentrantLock calls;
  private final UnaryOperator<T> checkpoint;
  private final Runnable guard;
  private volatile T current;

  /**
   * @param first the key's first value, already checkpointed
   * @param checkpoint writes (or replays) the next value of the key and returns the committed one
   * @param guard checks, before a set, that the call is allowed where it is made
   */
  CheckpointedVar(T first, ReentrantLock calls, UnaryOperator<T> checkpoint, Runnable guard) {
    this.current = first;
    this.calls = calls;
    this.checkpoint = checkpoint;
    this.guard = guard;
  }

  @Override
  public T get() {
    return current;
  }

  @Override
  public T set(T value) {
    guard.run();
    calls.lock();
    try {
      current = checkpoint.apply(value);
      return current;
    } finally {
      calls.unlock();
    }
  }

  @Override
  public T update(UnaryOperator<T> fn) {
    guard.run();
    calls.lock();
    try {
      return set(fn.apply(current));
    } finally {
      calls.unlock();
    }
  }
}
