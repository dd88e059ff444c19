package io.raftoral.common;

import java.util.List;
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
 * @param notes what the replay assumed where the history cannot say (e.g. a side effect that
 *     failed in the recorded run), in step order; not divergences
 */
public record ReplayReport(
    String workflowId, WorkflowType type, WorkflowStatus status, long stepsReplayed, long recordedSteps, boolean endOfHistory,
    Divergence divergence, List<Note> notes) {

  public ReplayReport {
    Objects.requireNonNull(workflowId, "workflowId");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(status, "status");
    notes = notes == null ? List.of() : List.copyOf(notes);
  }

  /** A report without notes (what the gRPC API carries). */
  public ReplayReport(
      String workflowId, WorkflowType type, WorkflowStatus status, long stepsReplayed, long recordedSteps, boolean endOfHistory,
      Divergence divergence) {
    this(workflowId, type, status, stepsReplayed, recordedSteps, endOfHistory, divergence, List.of());
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

  /** What a replay assumed at a step, where the history cannot tell. */
  public enum NoteKind {
    /**
     * The code called {@code checkpointCompute} for a position the history has no value for (the
     * key#seq is nowhere in the history, or it is past the history of a FAILED or COMPLETED
     * workflow): taken as a side effect that failed in the recorded run, which commits nothing;
     * the call threw {@code ReplayedSideEffectFailure} into the code.
     */
    ASSUMED_FAILED
  }

  /**
   * @param step 1-based, the step the code asked for (an assumed failure uses no recorded step)
   * @param key the key the code asked for
   * @param seq the seq the code asked for
   * @param message one sentence saying what was assumed
   */
  public record Note(long step, NoteKind kind, String key, long seq, String message) {
    public Note {
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(message, "message");
    }
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
