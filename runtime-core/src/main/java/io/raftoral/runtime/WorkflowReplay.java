package io.raftoral.runtime;

import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.common.ReplayReport;
import io.raftoral.common.ReplayReport.Divergence;
import io.raftoral.common.ReplayReport.Reason;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.runtime.Routing.Located;
import io.raftoral.workflow.ForeignException;
import io.raftoral.workflow.ReplayedSideEffectFailure;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The replay call: runs a workflow function on this node, read-only, against a workflow's
 * recorded input and checkpoint history (read as {@link WorkflowHistory} reads it, every page,
 * commit order), and reports the first step where the code diverges from it
 * (docs/ARCHITECTURE.md, "Replay"). Nothing is proposed and no side effect runs.
 */
final class WorkflowReplay {
  private static final int PREVIEW = 200;

  private final Routing routing;
  private final WorkflowHistory history;
  private final ServingGate gate;
  private final Payloads payloads;
  private final WorkflowRegistry registry;

  WorkflowReplay(Routing routing, WorkflowHistory history, ServingGate gate, Payloads payloads, WorkflowRegistry registry) {
    this.routing = routing;
    this.history = history;
    this.gate = gate;
    this.payloads = payloads;
    this.registry = registry;
  }

  /**
   * Replays with {@code definition}, or with the one registered here for the workflow's type
   * and version when null.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   * @throws Errors.NotRegisteredException when no definition is given and none is registered
   * @throws Errors.TimeoutException when the function has not ended (or stopped) within {@code timeout}
   * @throws Errors.InvalidArgumentException when a retention policy trimmed the workflow's history
   */
  ReplayReport replay(String workflowId, WorkflowDefinition<?, ?> definition, Duration timeout) {
    gate.checkServing();
    WorkflowCalls.checkWorkflowId(workflowId);
    // The record first: a workflow that has ended appends nothing more, so the history read
    // after it is complete; one still running may have appended more since, which only moves
    // the end of its history later.
    Located l = routing.locate(workflowId);
    WorkflowRecord record = l.record();
    if (record.getHistoryKeptLastPerKey() > 0) {
      throw new Errors.InvalidArgumentException("workflow " + workflowId + " cannot be replayed: its type keeps only the last "
          + record.getHistoryKeptLastPerKey() + " checkpoints of each key once a workflow ends (keepLastPerKey), so its history "
          + "no longer starts at its first step");
    }
    WorkflowInfo info = WorkflowInfos.toInfo(record, l.group());
    WorkflowDefinition<?, ?> code = definition;
    if (code == null) {
      code = registry.find(info.type());
      if (code == null) {
        throw new Errors.NotRegisteredException(info.type());
      }
    }
    List<HistoryEntry> steps = allSteps(workflowId);
    @SuppressWarnings("unchecked")
    WorkflowDefinition<Object, Object> fn = (WorkflowDefinition<Object, Object>) code;
    boolean failed = info.status() == WorkflowStatus.FAILED;
    ReplayRun run = new ReplayRun(workflowId, info.type(), steps, info.status(), failed ? record.getError().getType() : null,
        failed ? record.getError().getMessage() : null, payloads);
    Object input;
    try {
      input = payloads.decode(record.getInput().toByteArray(), fn.inputType());
    } catch (RuntimeException e) {
      return report(info, run, steps, new Divergence(1, Reason.UNDECODABLE_VALUE, "", -1, preview(record.getInput().toByteArray()),
          fn.inputType().getName(), "the recorded input cannot be decoded as " + fn.inputType().getName() + ": " + e.getMessage()));
    }
    CompletableFuture<Object> done = new CompletableFuture<>();
    Thread thread = Thread.ofVirtual().name("raftoral-replay-" + workflowId).start(() -> {
      try {
        done.complete(fn.function().run(run, input));
      } catch (Throwable t) {
        done.completeExceptionally(t);
      } finally {
        run.returned();
      }
    });
    Object result;
    Throwable thrown = null;
    try {
      result = done.get(nanos(timeout), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      result = null;
      thrown = e.getCause();
    } catch (java.util.concurrent.TimeoutException e) {
      thread.interrupt();
      throw new Errors.TimeoutException("the replay of workflow " + workflowId + " did not end within " + timeout
          + " (after " + run.stepsReplayed() + " steps): the code blocks outside checkpoint calls");
    } catch (InterruptedException e) {
      thread.interrupt();
      Thread.currentThread().interrupt();
      throw new Errors.UnavailableException("the replay of workflow " + workflowId + " was interrupted", e);
    }
    if (run.divergence() != null) {
      return report(info, run, steps, run.divergence());
    }
    if (thrown instanceof ReplayRun.Stop) {
      return report(info, run, steps, null); // the end of a running workflow's history
    }
    return report(info, run, steps, ending(info, record, fn, run, result, thrown));
  }

  /** The timeout in nanoseconds, saturated: a timeout of centuries means no limit, not an overflow. */
  static long nanos(Duration timeout) {
    try {
      return timeout.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /** The divergence of how the code ended (returned or threw), or null when it ended as recorded. */
  private Divergence ending(WorkflowInfo info, WorkflowRecord record, WorkflowDefinition<Object, Object> fn, ReplayRun run,
      Object result, Throwable thrown) {
    long stepNo = run.stepsReplayed() + 1L;
    HistoryEntry unused = run.nextRecorded();
    String recordedHere = unused == null ? "the end of the history" : unused.key() + "#" + unused.seq();
    String unusedKey = unused == null ? "" : unused.key();
    long unusedSeq = unused == null ? -1 : unused.seq();
    if (thrown != null) {
      String error = errorType(thrown) + ": " + Objects.requireNonNullElse(thrown.getMessage(), "");
      if (info.status() == WorkflowStatus.FAILED && unused == null) {
        String recordedError = record.getError().getType() + ": " + record.getError().getMessage();
        return recordedError.equals(error) ? null : new Divergence(stepNo, Reason.RESULT_DIFFERS, "", -1, "failed with " + recordedError,
            "failed with " + error, "the code fails with another error than the recorded run");
      }
      return new Divergence(stepNo, Reason.CODE_THREW, unusedKey, unusedSeq, recordedHere, "threw " + error,
          "the code threw " + error + " after " + run.stepsReplayed() + " steps" + (unused == null ? "" : ", where the history has "
          + recordedHere) + (thrown instanceof ReplayedSideEffectFailure
              ? " (the replay's stand-in for a side effect that failed in the recorded run, see the notes: the code did not catch "
                  + "it, so either it changed or it catches only the original exception type, which the history does not record)"
              : ""));
    }
    if (unused != null) {
      return new Divergence(stepNo, Reason.UNUSED_STEPS, unusedKey, unusedSeq, recordedHere, "the end of the function",
          "the code returned after " + run.stepsReplayed() + " steps, leaving " + run.unusedSteps() + " recorded steps unused"
          + " from " + recordedHere);
    }
    byte[] got;
    try {
      got = payloads.encode("result of workflow " + info.workflowId(), result, fn.resultType());
    } catch (RuntimeException e) {
      // The live run failed the workflow with this error (e.g. PayloadTooLargeException): the same
      // error type is the same ending; its message (a size, a limit) may vary with the node's settings.
      if (info.status() == WorkflowStatus.FAILED && errorType(e).equals(record.getError().getType())) {
        return null;
      }
      return new Divergence(stepNo, Reason.RESULT_DIFFERS, "", -1, recordedEnding(info, record), "a result that cannot be encoded",
          "the code's result cannot be encoded: " + e.getMessage());
    }
    return switch (info.status()) {
      case COMPLETED -> sameResult(record.getResult().toByteArray(), got, result, fn.resultType()) ? null
          : new Divergence(stepNo, Reason.RESULT_DIFFERS, "", -1, preview(record.getResult().toByteArray()), preview(got),
              "the code returns another result than the recorded one");
      case FAILED -> new Divergence(stepNo, Reason.RESULT_DIFFERS, "", -1, recordedEnding(info, record), preview(got),
          "the code returns a result where the recorded run failed");
      // Not ended (or ended by a terminate): the code reaching its end has nothing to be compared with.
      case RUNNING, TERMINATED -> null;
    };
  }

  private boolean sameResult(byte[] recorded, byte[] got, Object result, Class<?> type) {
    if (Arrays.equals(recorded, got)) {
      return true;
    }
    // A codec need not encode equal values to equal bytes (e.g. a map's order): compare decoded.
    try {
      return Objects.deepEquals(payloads.decode(recorded, type), result);
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static String recordedEnding(WorkflowInfo info, WorkflowRecord record) {
    return info.status() == WorkflowStatus.FAILED
        ? "failed with " + record.getError().getType() + ": " + record.getError().getMessage()
        : preview(record.getResult().toByteArray());
  }

  private static String errorType(Throwable t) {
    if (t instanceof ReplayedSideEffectFailure stand && stand.recordedErrorType() != null) {
      return stand.recordedErrorType(); // the recorded failure it stands for
    }
    return t instanceof ForeignException foreign ? foreign.errorType() : t.getClass().getName();
  }

  private static ReplayReport report(WorkflowInfo info, ReplayRun run, List<HistoryEntry> steps, Divergence divergence) {
    long replayed = divergence == null ? run.stepsReplayed() : Math.min(run.stepsReplayed(), divergence.step() - 1);
    return new ReplayReport(info.workflowId(), info.type(), info.status(), replayed, steps.size(),
        divergence == null && run.endOfHistory(), divergence, run.notes());
  }

  private List<HistoryEntry> allSteps(String workflowId) {
    List<HistoryEntry> all = new ArrayList<>();
    HistoryQuery q = HistoryQuery.allKeys();
    while (true) {
      HistoryPage page = history.page(workflowId, q);
      all.addAll(page.entries());
      if (page.nextPageToken() == null) {
        return all;
      }
      q = q.after(page.nextPageToken());
    }
  }

  /** A value as text, cut to a readable length; bytes that are not UTF-8 show as their size. */
  static String preview(byte[] value) {
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(value)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      return "(" + value.length + " bytes, binary)";
    }
    return text.length() <= PREVIEW ? text : text.substring(0, PREVIEW - 3) + "...";
  }
}
