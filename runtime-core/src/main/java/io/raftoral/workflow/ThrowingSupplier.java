package io.raftoral.workflow;

/** A side effect whose result is recorded by {@link WorkflowContext#checkpointCompute}. */
@FunctionalInterface
public interface ThrowingSupplier<T> {
  T get() throws Exception;
}
