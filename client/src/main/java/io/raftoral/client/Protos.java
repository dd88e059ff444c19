package io.raftoral.client;

import io.raftoral.common.Errors;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.client.ListReply;
import io.raftoral.proto.client.ListRequest;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * The one place where the Java API types and the {@code client_api.proto} messages are converted,
 * in both directions; the client and the node's API server both use it, so they cannot drift.
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

  public static io.raftoral.proto.client.WorkflowInfo toProto(WorkflowInfo info) {
    return io.raftoral.proto.client.WorkflowInfo.newBuilder()
        .setWorkflowId(info.workflowId())
        .setType(info.type().name())
        .setVersion(info.type().version())
        .setStatus(toProto(info.status()))
        .setOwnerNode(info.ownerNode())
        .setExecutionGroup(nullToEmpty(info.executionGroup()))
        .setStartedAtMillis(info.startedAt() == null ? 0 : info.startedAt().toEpochMilli())
        .setEndedAtMillis(info.endedAt() == null ? 0 : info.endedAt().map(Instant::toEpochMilli).orElse(0L))
        .setCheckpointCount(info.checkpointCount())
        .setErrorType(info.errorType() == null ? "" : info.errorType().orElse(""))
        .setErrorMessage(info.errorMessage() == null ? "" : info.errorMessage().orElse(""))
        .build();
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

  /**
   * A request as the server receives it; {@link ListQuery} validates the rest.
   *
   * @throws Errors.InvalidArgumentException for a bad status, limit, version or time range
   */
  public static ListQuery fromProto(ListRequest r) {
    Set<WorkflowStatus> statuses = EnumSet.noneOf(WorkflowStatus.class);
    for (io.raftoral.proto.client.WorkflowStatus s : r.getStatusesList()) {
      statuses.add(fromProto(s));
    }
    if (r.getStartedAfterMillis() < 0 || r.getStartedBeforeMillis() < 0) {
      throw new Errors.InvalidArgumentException("started_after_millis and started_before_millis must be >= 0");
    }
    if (r.getLimit() < 0) {
      throw new Errors.InvalidArgumentException("limit must be between 1 and " + ListQuery.MAX_LIMIT + " (0 means "
          + ListQuery.DEFAULT_LIMIT + "), got " + r.getLimit());
    }
    return new ListQuery(
        statuses,
        r.getType().isEmpty() ? null : r.getType(),
        r.getVersion(),
        r.getStartedAfterMillis() == 0 ? null : Instant.ofEpochMilli(r.getStartedAfterMillis()),
        r.getStartedBeforeMillis() == 0 ? null : Instant.ofEpochMilli(r.getStartedBeforeMillis()),
        r.getLimit() == 0 ? ListQuery.DEFAULT_LIMIT : r.getLimit(),
        r.getPageToken().isEmpty() ? null : r.getPageToken());
  }

  public static ListReply toProto(ListPage page) {
    ListReply.Builder b = ListReply.newBuilder().setNextPageToken(nullToEmpty(page.nextPageToken()));
    page.workflows().forEach(w -> b.addWorkflows(toProto(w)));
    return b.build();
  }

  public static ListPage fromProto(ListReply r) {
    return new ListPage(r.getWorkflowsList().stream().map(Protos::fromProto).toList(),
        r.getNextPageToken().isEmpty() ? null : r.getNextPageToken());
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }

  private static Optional<String> emptyToNone(String s) {
    return s.isEmpty() ? Optional.empty() : Optional.of(s);
  }
}
