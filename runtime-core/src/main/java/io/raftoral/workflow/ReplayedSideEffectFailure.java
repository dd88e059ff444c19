package io.raftoral.workflow;

/**
 * Thrown into workflow code by a replay ({@code RaftoralNode.replay}) from a
 * {@link WorkflowContext#checkpointCompute} call whose position the recorded history has no value
 * for: the replay takes it as a side effect that failed in the recorded run, since a failed
 * attempt commits nothing (docs/ARCHITECTURE.md, "Replay"). The original exception is not
 * recorded, so this one stands for it: an {@link IllegalStateException}, so that the usual
 * fallbacks ({@code catch (Exception|RuntimeException|IllegalStateException e)}) take it; a catch
 * of another type does not, and the replay then reports where the code threw. Never thrown by a
 * live run.
 */
public final class ReplayedSideEffectFailure extends IllegalStateException {
  private final String recordedErrorType;

  /**
   * @param recordedErrorType the workflow's recorded error type when this stands for the failure
   *     that ended a FAILED workflow, else null
   */
  public ReplayedSideEffectFailure(String message, String recordedErrorType) {
    super(message);
    this.recordedErrorType = recordedErrorType;
  }

  /** The recorded error type this failure stands for, or null when the history says nothing of it. */
  public String recordedErrorType() {
    return recordedErrorType;
  }
}
