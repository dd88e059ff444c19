package io.raftoral.workflow;

/**
 * A workflow: plain blocking code that makes its progress durable through {@link
 * WorkflowContext} checkpoints. It runs on a virtual thread (unless {@link
 * #needsPlatformThread()}). It must be deterministic between checkpoints: every run of it, on
 * every node, makes the same checkpoint calls in the same order for the same input and committed
 * values.
 */
@FunctionalInterface
public interface WorkflowFunction<I, O> {
  O run(WorkflowContext ctx, I input) throws Exception;

  /**
   * Whether its runs need a platform thread each instead of a virtual one: code that computes for
   * long without blocking (an interpreter such as GraalPy making a context) would hold one of the
   * few carriers that every virtual thread of the node shares, its API calls included. False by
   * default: a Java workflow blocks in its ctx calls and costs a virtual thread.
   */
  default boolean needsPlatformThread() {
    return false;
  }
}
