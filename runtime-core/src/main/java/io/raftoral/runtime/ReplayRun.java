package io.raftoral.runtime;

import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.ReplayReport.Divergence;
import io.raftoral.common.ReplayReport.Note;
import io.raftoral.common.ReplayReport.NoteKind;
import io.raftoral.common.ReplayReport.Reason;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.common.WorkflowType;
import io.raftoral.workflow.ReplayedSideEffectFailure;
import io.raftoral.workflow.ThrowingSupplier;
import io.raftoral.workflow.WorkflowContext;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The {@link WorkflowContext} of a replay: every checkpoint call is the next step of the recorded
 * history. It answers with the value committed at the call's (key, seq) when the history has
 * that position as its next step; it never runs a {@code checkpointCompute} function, never
 * proposes, never waits. At the first call that does not match it records the {@link Divergence}
 * (or that the history ended) and unwinds the function with {@link Stop}. A failed
 * {@code checkpointCompute} commits nothing, so a compute whose position the history has no
 * value for is taken as one that failed in the recorded run: it throws
 * {@link ReplayedSideEffectFailure} (the recorded error, past the history of a FAILED workflow)
 * and leaves a {@link Note}.
 */
final class ReplayRun implements WorkflowContext {
  /** Unwinds the replayed function; an {@link Error} so that its {@code catch (Exception e)} cannot swallow it. */
  static final class Stop extends Error {
    static final Stop INSTANCE = new Stop();

    private Stop() {
      super("replay stopped", null, false, false);
    }
  }

  private final String workflowId;
  private final WorkflowType type;
  private final List<HistoryEntry> steps;
  // The workflow has ended: a step past the history is a divergence, not the history's end.
  private final boolean ended;
  private final WorkflowStatus status;
  // The recorded error of a FAILED workflow (type, message), else null.
  private final String errorType;
  private final String errorMessage;
  private final Payloads payloads;

  // Serializes the calls, as a live run does, when the function calls from several threads.
  private final ReentrantLock calls = new ReentrantLock();
  private final Map<String, Long> nextSeq = new HashMap<>();
  private int next;
  private volatile boolean returned;
  private Divergence divergence;
  private boolean endOfHistory;
  private final List<Note> notes = new ArrayList<>();

  ReplayRun(String workflowId, WorkflowType type, List<HistoryEntry> steps, WorkflowStatus status, String errorType, String errorMessage,
      Payloads payloads) {
    this.workflowId = workflowId;
    this.type = type;
    this.steps = steps;
    this.status = status;
    this.ended = status == WorkflowStatus.COMPLETED || status == WorkflowStatus.FAILED;
    this.errorType = errorType;
    this.errorMessage = errorMessage;
    this.payloads = payloads;
  }

  /** What the replay assumed so far, in step order. */
  List<Note> notes() {
    calls.lock();
    try {
      return List.copyOf(notes);
    } finally {
      calls.unlock();
    }
  }

  /** The steps the code has used so far. */
  int stepsReplayed() {
    calls.lock();
    try {
      return next;
    } finally {
      calls.unlock();
    }
  }

  /** The first recorded step the code has not used, or null when it used them all. */
  HistoryEntry nextRecorded() {
    calls.lock();
    try {
      return next < steps.size() ? steps.get(next) : null;
    } finally {
      calls.unlock();
    }
  }

  int unusedSteps() {
    calls.lock();
    try {
      return steps.size() - next;
    } finally {
      calls.unlock();
    }
  }

  /** What stopped the replay at a checkpoint call, or null. */
  Divergence divergence() {
    calls.lock();
    try {
      return divergence;
    } finally {
      calls.unlock();
    }
  }

  boolean endOfHistory() {
    calls.lock();
    try {
      return endOfHistory;
    } finally {
      calls.unlock();
    }
  }

  void returned() {
    returned = true;
  }

  // --- WorkflowContext ---

  @Override
  public String workflowId() {
    return workflowId;
  }

  @Override
  public WorkflowType workflowType() {
    return type;
  }

  /** Nobody owns a replay: code that branches on ownership sees what a hot standby sees. */
  @Override
  public boolean isOwner() {
    return false;
  }

  @Override
  public boolean isTerminated() {
    return false;
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> T checkpoint(String key, T value) {
    if (value == null) {
      throw new Errors.InvalidArgumentException("checkpoint value of '" + key + "' must not be null; use checkpoint(key, value, type)");
    }
    return checkpoint(key, value, (Class<T>) value.getClass());
  }

  @Override
  public <T> T checkpoint(String key, T value, Class<T> type) {
    // Encoded as a live run does, so that a value the codec refuses fails here too; not compared
    // with the recorded one: a live run replaying committed positions returns those, whatever it computed.
    ContextArguments.userKey(key);
    payloads.encode("checkpoint '" + key + "'", value, type);
    return decode(key, step(key, false), type);
  }

  @Override
  public byte[] checkpointBytes(String key, byte[] value) {
    return checkpoint(key, value, byte[].class);
  }

  @Override
  public <T> T checkpointCompute(String key, Class<T> type, ThrowingSupplier<T> fn) {
    Objects.requireNonNull(fn, "fn");
    // fn is never called: the recorded value stands for it, and a side effect must not run again.
    ContextArguments.userKey(key);
    return decode(key, step(key, true), type);
  }

  @Override
  public byte[] checkpointComputeBytes(String key, ThrowingSupplier<byte[]> fn) {
    return checkpointCompute(key, byte[].class, fn);
  }

  @Override
  public <T> ReplicatedVar<T> var(String key, Class<T> type, T initial) {
    T first = checkpoint(key, initial, type);
    return new CheckpointedVar<>(first, calls, value -> checkpoint(key, value, type), () -> {});
  }

  /** A replay never waits: the recorded wake-up time is the sleep's step, and the code goes on. */
  @Override
  public void sleep(java.time.Duration duration) {
    ContextArguments.sleepMillis(duration);
    step(SLEEP_KEY, false);
  }

  @Override
  public void sleepUntil(java.time.Instant wakeUp) {
    ContextArguments.wakeUpMillis(wakeUp);
    step(SLEEP_KEY, false);
  }

  // --- the steps ---

  /**
   * The recorded step the call stands for, or a stop with the divergence (or the history's end),
   * or, for a compute ({@code compute}) the history has no value for, the failure it stands for.
   */
  private Step step(String key, boolean compute) {
    calls.lock();
    try {
      if (returned) {
        throw new Errors.InvalidArgumentException("the context of workflow " + workflowId + " was used after its function returned");
      }
      if (divergence != null || endOfHistory) {
        throw Stop.INSTANCE; // another thread of the function already stopped the replay
      }
      long seq = nextSeq.getOrDefault(key, 0L);
      long stepNo = next + 1L;
      if (next >= steps.size()) {
        if (!ended) {
          endOfHistory = true;
          throw Stop.INSTANCE;
        }
        if (compute) {
          throw assumeFailed(key, seq, stepNo, null);
        }
        divergence = new Divergence(stepNo, Reason.MISSING_STEP, "", -1, "the end of the history (" + steps.size() + " steps)",
            key + "#" + seq, "the code asks for step " + stepNo + " (" + key + "#" + seq + ") but the finished workflow recorded only "
            + steps.size() + " steps");
        throw Stop.INSTANCE;
      }
      HistoryEntry recorded = steps.get(next);
      if (!recorded.key().equals(key) || recorded.seq() != seq) {
        int later = laterStep(key, seq);
        if (compute && later < 0) {
          throw assumeFailed(key, seq, stepNo, recorded);
        }
        divergence = new Divergence(stepNo, Reason.KEY_ORDER, recorded.key(), recorded.seq(), recorded.key() + "#" + recorded.seq(),
            key + "#" + seq, "the code asks for " + key + "#" + seq + " at step " + stepNo + " but the history has "
            + recorded.key() + "#" + recorded.seq() + " there" + (later < 0 ? " (it has no " + key + "#" + seq + ")"
            : " (it has " + key + "#" + seq + " at step " + (later + 1) + (compute ? ": a reordered step, or the recorded run's "
                + "attempt of this side effect failed and a later one committed" : "") + ")"));
        throw Stop.INSTANCE;
      }
      next++;
      nextSeq.put(key, seq + 1);
      return new Step(recorded, stepNo);
    } finally {
      calls.unlock();
    }
  }

  /** The index of a later step with the position the code asked for out of order (a reordered step), or -1. */
  private int laterStep(String key, long seq) {
    for (int i = next + 1; i < steps.size(); i++) {
      HistoryEntry e = steps.get(i);
      if (e.key().equals(key) && e.seq() == seq) {
        return i;
      }
    }
    return -1;
  }

  /**
   * A compute the history has no value for: a failed side effect commits nothing, so the replay
   * cannot tell one that failed in the recorded run from one the code added, and takes it as
   * failed (docs/ARCHITECTURE.md, "Replay"). Past the history of a FAILED workflow it is the
   * failure that ended the run, with the recorded error. Called holding {@code calls}.
   *
   * @param recorded the history's next step, null past its end
   */
  private ReplayedSideEffectFailure assumeFailed(String key, long seq, long stepNo, HistoryEntry recorded) {
    String asked = key + "#" + seq;
    ReplayedSideEffectFailure failure;
    String note;
    if (recorded == null && status == WorkflowStatus.FAILED) {
      failure = new ReplayedSideEffectFailure(errorMessage, errorType);
      note = "checkpointCompute " + asked + " at step " + stepNo + " is past the history of the FAILED workflow: taken as the side "
          + "effect that failed it, throwing the recorded error " + errorType + ": " + errorMessage;
    } else {
      failure = new ReplayedSideEffectFailure("checkpointCompute " + asked + " failed in the recorded run (assumed by the replay: "
          + "the history has no value for it)", null);
      note = "checkpointCompute " + asked + " at step " + stepNo + " has no value in the history ("
          + (recorded == null ? "past its end" : "its next step is " + recorded.key() + "#" + recorded.seq())
          + "): taken as a side effect that failed in the recorded run, throwing ReplayedSideEffectFailure into the code";
    }
    notes.add(new Note(stepNo, NoteKind.ASSUMED_FAILED, key, seq, note));
    return failure;
  }

  private record Step(HistoryEntry recorded, long no) {}

  private <T> T decode(String key, Step step, Class<T> type) {
    HistoryEntry recorded = step.recorded();
    try {
      return payloads.decode(recorded.value(), type);
    } catch (RuntimeException e) {
      calls.lock();
      try {
        if (divergence == null) {
          divergence = new Divergence(step.no(), Reason.UNDECODABLE_VALUE, key, recorded.seq(), WorkflowReplay.preview(recorded.value()),
              type.getName(), "the recorded value of " + key + "#" + recorded.seq() + " at step " + step.no() + " cannot be decoded as "
              + type.getName() + ": " + e.getMessage());
        }
      } finally {
        calls.unlock();
      }
      throw Stop.INSTANCE;
    }
  }
}
