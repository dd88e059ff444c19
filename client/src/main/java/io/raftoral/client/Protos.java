package io.raftoral.client;

import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.ReplayReport;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.client.ListReply;
import io.raftoral.proto.client.ListRequest;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Optional;

/**
 * The client half of the conversions between the Java API types and the {@code client_api.proto}
 * messages: requests out, replies in. The node's half (requests in, replies out) is {@code
 * io.raftoral.node.ApiProtos} in runtime-core; both use the status conversions here, and {@code
 * ApiProtosTest} there round-trips every field through both halves.
 */
public final class Protos {
  private Protos() {}

  public static io.raftoral.proto.client.WorkflowStatus toProto(WorkflowStatus status) {
    return switch (status) {
      case RUNNING -> io.raftoral.proto.client.WorkflowStatus.RUNNING;
      case COMPLETED -> io.raftoral.proto.client.WorkflowStatus.COMPLETED;
      case FAILED -> io.raftoral.proto.client.WorkflowStatus.FAILED;
      case TERMINATED -> io.raftoral.proto.client.WorkflowStatus.TERMINATED;
    };
  }

  /** @throws Errors.InvalidArgumentException for UNSPECIFIED or a value this version does not know */
  public static WorkflowStatus fromProto(io.raftoral.proto.client.WorkflowStatus status) {
    return switch (status) {
      case RUNNING -> WorkflowStatus.RUNNING;
      case COMPLETED -> WorkflowStatus.COMPLETED;
      case FAILED -> WorkflowStatus.FAILED;
      case TERMINATED -> WorkflowStatus.TERMINATED;
      case WORKFLOW_STATUS_UNSPECIFIED, UNRECOGNIZED ->
          throw new Errors.InvalidArgumentException("workflow status must be one of " + EnumSet.allOf(WorkflowStatus.class));
    };
  }

  public static WorkflowInfo fromProto(io.raftoral.proto.client.WorkflowInfo p) {
    return new WorkflowInfo(
        p.getWorkflowId(),
        new WorkflowType(p.getType(), p.getVersion()),
        fromProto(p.getStatus()),
        p.getOwnerNode(),
        p.getExecutionGroup(),
        Instant.ofEpochMilli(p.getStartedAtMillis()),
        p.getEndedAtMillis() == 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(p.getEndedAtMillis())),
        p.getCheckpointCount(),
        emptyToNone(p.getErrorType()),
        emptyToNone(p.getErrorMessage()));
  }

  public static ListRequest toProto(ListQuery q) {
    ListRequest.Builder b = ListRequest.newBuilder()
        .setType(nullToEmpty(q.type()))
        .setVersion(q.version())
        .setStartedAfterMillis(q.startedAfter() == null ? 0 : q.startedAfter().toEpochMilli())
        .setStartedBeforeMillis(q.startedBefore() == null ? 0 : q.startedBefore().toEpochMilli())
        .setLimit(q.limit())
        .setPageToken(nullToEmpty(q.pageToken()));
    q.statuses().stream().sorted().forEach(s -> b.addStatuses(toProto(s)));
    return b.build();
  }

  public static ListPage fromProto(ListReply r) {
    return new ListPage(r.getWorkflowsList().stream().map(Protos::fromProto).toList(),
        r.getNextPageToken().isEmpty() ? null : r.getNextPageToken());
  }

  /** The request for one page of {@code workflowId}'s history; the query was validated when built. */
  public static io.raftoral.proto.client.HistoryRequest toProto(String workflowId, HistoryQuery q) {
    return io.raftoral.proto.client.HistoryRequest.newBuilder().setWorkflowId(workflowId).setKey(nullToEmpty(q.key()))
        .setLimit(q.limit()).setPageToken(nullToEmpty(q.pageToken())).build();
  }

  public static HistoryPage fromProto(io.raftoral.proto.client.HistoryReply r) {
    return new HistoryPage(r.getEntriesList().stream().map(e -> new HistoryEntry(e.getKey(), e.getSeq(), e.getValue().toByteArray(),
            Instant.ofEpochMilli(e.getCommittedAtMillis()), e.getOwnerNode(), e.getOwnerTerm())).toList(),
        r.getNextPageToken().isEmpty() ? null : r.getNextPageToken());
  }

  public static io.raftoral.proto.client.ReplayReply toProto(ReplayReport r) {
    io.raftoral.proto.client.ReplayReply.Builder b = io.raftoral.proto.client.ReplayReply.newBuilder()
        .setWorkflowId(r.workflowId()).setType(r.type().name()).setVersion(r.type().version()).setStatus(toProto(r.status()))
        .setStepsReplayed(r.stepsReplayed()).setRecordedSteps(r.recordedSteps()).setEndOfHistory(r.endOfHistory());
    ReplayReport.Divergence d = r.divergence();
    if (d != null) {
      b.setDivergence(io.raftoral.proto.client.ReplayDivergence.newBuilder().setStep(d.step())
          .setReason(io.raftoral.proto.client.ReplayDivergenceReason.valueOf("DIVERGENCE_" + d.reason().name()))
          .setKey(d.key()).setSeq(d.seq()).setExpected(d.expected()).setGot(d.got()).setMessage(d.message()));
    }
    for (ReplayReport.Note note : r.notes()) {
      b.addNotes(io.raftoral.proto.client.ReplayNote.newBuilder().setStep(note.step())
          .setKind(io.raftoral.proto.client.ReplayNoteKind.valueOf("NOTE_" + note.kind().name()))
          .setKey(note.key()).setSeq(note.seq()).setMessage(note.message()));
    }
    return b.build();
  }

  public static ReplayReport fromProto(io.raftoral.proto.client.ReplayReply r) {
    ReplayReport.Divergence d = null;
    if (r.hasDivergence()) {
      io.raftoral.proto.client.ReplayDivergence p = r.getDivergence();
      if (!p.getReason().name().startsWith("DIVERGENCE_")) {
        throw new IllegalStateException("unknown replay divergence reason " + p.getReason());
      }
      d = new ReplayReport.Divergence(p.getStep(), ReplayReport.Reason.valueOf(p.getReason().name().substring("DIVERGENCE_".length())),
          p.getKey(), p.getSeq(), p.getExpected(), p.getGot(), p.getMessage());
    }
    java.util.List<ReplayReport.Note> notes = new java.util.ArrayList<>();
    for (io.raftoral.proto.client.ReplayNote p : r.getNotesList()) {
      if (!p.getKind().name().startsWith("NOTE_")) {
        throw new IllegalStateException("unknown replay note kind " + p.getKind());
      }
      notes.add(new ReplayReport.Note(p.getStep(), ReplayReport.NoteKind.valueOf(p.getKind().name().substring("NOTE_".length())),
          p.getKey(), p.getSeq(), p.getMessage()));
    }
    return new ReplayReport(r.getWorkflowId(), new WorkflowType(r.getType(), r.getVersion()), fromProto(r.getStatus()),
        r.getStepsReplayed(), r.getRecordedSteps(), r.getEndOfHistory(), d, notes);
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static Optional<String> emptyToNone(String s) {
    return s.isEmpty() ? Optional.empty() : Optional.of(s);
  }
}
