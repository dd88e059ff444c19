package io.raftoral.node;

import io.raftoral.client.Protos;
import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.client.ListReply;
import io.raftoral.proto.client.ListRequest;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Set;

/**
 * The node's half of the conversions between the Java API types and the {@code client_api.proto}
 * messages: requests in, replies out. The client's half is {@link Protos}, whose status
 * conversions both use; {@code ApiProtosTest} round-trips every field through both halves.
 */
final class ApiProtos {
  private ApiProtos() {}

  static io.raftoral.proto.client.WorkflowInfo toProto(WorkflowInfo info) {
    return io.raftoral.proto.client.WorkflowInfo.newBuilder()
        .setWorkflowId(info.workflowId())
        .setType(info.type().name())
        .setVersion(info.type().version())
        .setStatus(Protos.toProto(info.status()))
        .setOwnerNode(info.ownerNode())
        .setExecutionGroup(nullToEmpty(info.executionGroup()))
        .setStartedAtMillis(info.startedAt() == null ? 0 : info.startedAt().toEpochMilli())
        .setEndedAtMillis(info.endedAt() == null ? 0 : info.endedAt().map(Instant::toEpochMilli).orElse(0L))
        .setCheckpointCount(info.checkpointCount())
        .setErrorType(info.errorType() == null ? "" : info.errorType().orElse(""))
        .setErrorMessage(info.errorMessage() == null ? "" : info.errorMessage().orElse(""))
        .build();
  }

  /**
   * A request as the server receives it; {@link ListQuery} validates the rest.
   *
   * @throws Errors.InvalidArgumentException for a bad status, limit, version or time range
   */
  static ListQuery fromProto(ListRequest r) {
    Set<WorkflowStatus> statuses = EnumSet.noneOf(WorkflowStatus.class);
    for (io.raftoral.proto.client.WorkflowStatus s : r.getStatusesList()) {
      statuses.add(Protos.fromProto(s));
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

  static ListReply toProto(ListPage page) {
    ListReply.Builder b = ListReply.newBuilder().setNextPageToken(nullToEmpty(page.nextPageToken()));
    page.workflows().forEach(w -> b.addWorkflows(toProto(w)));
    return b.build();
  }

  /**
   * A history request as the server receives it; {@link HistoryQuery} validates the rest.
   *
   * @throws Errors.InvalidArgumentException for a bad limit or page token
   */
  static HistoryQuery fromProto(io.raftoral.proto.client.HistoryRequest r) {
    if (r.getLimit() < 0) {
      throw new Errors.InvalidArgumentException("limit must be between 1 and " + HistoryQuery.MAX_LIMIT + " (0 means "
          + HistoryQuery.DEFAULT_LIMIT + "), got " + r.getLimit());
    }
    return new HistoryQuery(r.getKey(), r.getLimit() == 0 ? HistoryQuery.DEFAULT_LIMIT : r.getLimit(), r.getPageToken());
  }

  static io.raftoral.proto.client.HistoryReply toProto(HistoryPage page) {
    io.raftoral.proto.client.HistoryReply.Builder b = io.raftoral.proto.client.HistoryReply.newBuilder()
        .setNextPageToken(nullToEmpty(page.nextPageToken()));
    for (HistoryEntry e : page.entries()) {
      b.addEntries(io.raftoral.proto.client.HistoryEntry.newBuilder().setKey(e.key()).setSeq(e.seq())
          .setValue(com.google.protobuf.ByteString.copyFrom(e.value())).setCommittedAtMillis(e.committedAt().toEpochMilli())
          .setOwnerNode(e.ownerNode()).setOwnerTerm(e.ownerTerm()));
    }
    return b.build();
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
