package io.raftoral.workflow;

/**
 * Implemented by the engine's {@link WorkflowContext}, for workflow functions that run their code
 * somewhere else (a worker process) and so wait for long stretches without calling the context:
 * while they wait they ask whether the run is still wanted, and stop when it is not, exactly as a
 * checkpoint call would have stopped them.
 */
public interface RunControl {
  /**
   * Returns when this run should go on; throws what a checkpoint call would throw when it should
   * not: {@link io.raftoral.common.Errors.WorkflowTerminatedException} once the workflow is
   * terminated, or the engine's own signal (not to be caught) when it ended elsewhere, this node
   * may no longer run it (an owner-only workflow that moved, a sealed group) or the node is stopping.
   */
  void checkStillWanted();
}
