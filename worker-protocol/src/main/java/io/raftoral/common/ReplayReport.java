package io.raftoral.common;

import java.util.Objects;

/**
 * What a replay found: whether the workflow code, run again read-only against a workflow's
 * recorded input and checkpoint history, makes the same checkpoint calls the recorded run made
 * and ends as it ended (docs/ARCHITECTURE.md, "Replay").
 *
 * @param status the workflow's status when the replay read it
 * @param stepsReplayed the checkpoint calls the code made that the history answered
 * @param recordedSteps the checkpoints in the history
 * @param endOfHistory the code asked for a step past the history of a workflow that has not ended
 *     (running, or terminated): the replay stopped there, which is not a divergence
 * @param divergence null when the code matches the history
 */
public record ReplayReport(
    String workflowId, WorkflowType type, WorkflowStatus status, long stepsReplayed, long recordedSteps, boolean endOfHistory,
    Divergence divergence) {

  public ReplayReport {
    Objects.requireNonNull(workflowId, "workflowId");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(status, "status");
  }

  public boolean matches() {
    return divergence == null;
  }

  /** Why the code and the history part ways. */
  public enum Reason {
    /** The code asked for another key (or another seq of it) than the history committed at that step. */
    KEY_ORDER,
    /** The code asked for a step past the history of a finished workflow. */
    MISSING_STEP,
    /** The recorded value cannot be decoded into the type the code asks for. */
    UNDECODABLE_VALUE,
    /** The code's result (or failure) is not the recorded one. */
    RESULT_DIFFERS,
    /** The code ended before it used every recorded step. */
    UNUSED_STEPS,
    /** The code threw where the recorded run did not. */
    CODE_THREW
  }

  /**
   * The first step where the code diverges.
   *
   * @param step 1-based: the n-th checkpoint call of the code, and the n-th checkpoint the
   *     workflow committed (its commit order); for a result, the step after the last
   * @param key the recorded step's key (empty when there is none: past the history, or the result)
   * @param seq the recorded step's seq, -1 when there is none
   * @param expected what the history has there (a key#seq, a value or result preview)
   * @param got what the code did there
   * @param message one sentence saying what happened
   */
  public record Divergence(long step, Reason reason, String key, long seq, String expected, String got, String message) {
    public Divergence {
      Objects.requireNonNull(reason, "reason");
      key = Objects.requireNonNullElse(key, "");
      expected = Objects.requireNonNullElse(expected, "");
      got = Objects.requireNonNullElse(got, "");
      Objects.requireNonNull(message, "message");
    }
  }
}
