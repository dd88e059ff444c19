package io.raftoral.api;

import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowInfo;
import java.time.Duration;

/** A started workflow: its id, the execution group that owns it, and its outcome. */
public interface WorkflowHandle<O> {
  String workflowId();

  /** The id of the Raft group that replicates the workflow. */
  String executionGroup();

  /**
   * Waits for the outcome: the result for {@code COMPLETED}, or throws {@link
   * Errors.WorkflowFailedException} for {@code FAILED}, {@link Errors.WorkflowTerminatedException}
   * for {@code TERMINATED}, and {@link Errors.TimeoutException} when {@code timeout} passes
   * first. Works before, during and after completion.
   */
  O result(Duration timeout);

  WorkflowInfo describe();
}
