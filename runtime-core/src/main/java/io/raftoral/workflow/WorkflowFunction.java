package io.raftoral.workflow;

/**
 * A workflow: plain blocking code that makes its progress durable through {@link
 * WorkflowContext} checkpoints. It runs on a virtual thread. It must be deterministic between
 * checkpoints: every run of it, on every node, makes the same checkpoint calls in the same
 * order for the same input and committed values.
 */
@FunctionalInterface
public interface WorkflowFunction<I, O> {
  O run(WorkflowContext ctx, I input) throws Exception;
}
