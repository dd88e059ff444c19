package io.raftoral.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.client.Protos;
import io.raftoral.common.Errors;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.client.ListRequest;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The node's half of the proto conversions ({@link ApiProtos}) against the client's ({@link Protos}): every field survives. */
class ApiProtosTest {
  private static final WorkflowInfo DONE = new WorkflowInfo("wf-1", new WorkflowType("order", 2), WorkflowStatus.COMPLETED, 3,
      "group-a", Instant.ofEpochMilli(1_700_000_000_000L), Optional.of(Instant.ofEpochMilli(1_700_000_001_000L)), 8,
      Optional.empty(), Optional.empty());
  private static final WorkflowInfo FAILED = new WorkflowInfo("wf-2", new WorkflowType("order", 1), WorkflowStatus.FAILED, 1, "g",
      Instant.ofEpochMilli(1), Optional.of(Instant.ofEpochMilli(2)), 0, Optional.of("java.lang.IllegalArgumentException"),
      Optional.of("no items"));
  private static final WorkflowInfo RUNNING = new WorkflowInfo("wf-3", new WorkflowType("t", 5), WorkflowStatus.RUNNING, 2, "g",
      Instant.ofEpochMilli(10), Optional.empty(), 4, Optional.empty(), Optional.empty());

  @Test
  void workflowInfosAndPagesKeepEveryField() {
    for (WorkflowInfo info : List.of(DONE, FAILED, RUNNING)) {
      assertThat(Protos.fromProto(ApiProtos.toProto(info))).isEqualTo(info);
    }
    ListPage page = new ListPage(List.of(DONE, FAILED), "next");
    assertThat(Protos.fromProto(ApiProtos.toProto(page))).isEqualTo(page);
    ListPage last = new ListPage(List.of(RUNNING), null);
    assertThat(Protos.fromProto(ApiProtos.toProto(last))).isEqualTo(last);
  }

  @Test
  void historyPagesAndQueriesKeepEveryField() {
    io.raftoral.common.HistoryEntry known = new io.raftoral.common.HistoryEntry("k", 4, new byte[] {1, 2}, Instant.ofEpochMilli(1_700_000_000_123L), 3, 9);
    io.raftoral.common.HistoryEntry unknown = new io.raftoral.common.HistoryEntry("old", 0, new byte[0], Instant.EPOCH, 0, 0);
    io.raftoral.common.HistoryPage page = new io.raftoral.common.HistoryPage(List.of(known, unknown),
        io.raftoral.common.HistoryQuery.Cursor.token("wf", "k", new io.raftoral.common.HistoryQuery.Cursor(12, "k", 4)));
    assertThat(Protos.fromProto(ApiProtos.toProto(page))).isEqualTo(page);
    io.raftoral.common.HistoryPage last = new io.raftoral.common.HistoryPage(List.of(), null);
    assertThat(Protos.fromProto(ApiProtos.toProto(last))).isEqualTo(last);
    io.raftoral.common.HistoryQuery query = new io.raftoral.common.HistoryQuery("k", 7, page.nextPageToken());
    assertThat(ApiProtos.fromProto(Protos.toProto("wf", query))).isEqualTo(query);
    assertThat(ApiProtos.fromProto(Protos.toProto("wf", io.raftoral.common.HistoryQuery.allKeys())))
        .isEqualTo(io.raftoral.common.HistoryQuery.allKeys());
    assertThat(ApiProtos.fromProto(io.raftoral.proto.client.HistoryRequest.getDefaultInstance()))
        .isEqualTo(io.raftoral.common.HistoryQuery.allKeys());
  }

  @Test
  void listQueriesKeepEveryField() {
    ListQuery query = new ListQuery(EnumSet.of(WorkflowStatus.FAILED, WorkflowStatus.RUNNING), "order", 2,
        Instant.ofEpochMilli(1000), Instant.ofEpochMilli(5000), 7, "tok");
    assertThat(ApiProtos.fromProto(Protos.toProto(query))).isEqualTo(query);
    assertThat(ApiProtos.fromProto(Protos.toProto(ListQuery.all()))).isEqualTo(ListQuery.all());
  }

  @Test
  void listDefaultsAndBadRequestsAreHandledByTheConversion() {
    assertThat(ApiProtos.fromProto(ListRequest.getDefaultInstance())).isEqualTo(ListQuery.all());
    assertThatThrownBy(() -> ApiProtos.fromProto(ListRequest.newBuilder()
        .addStatuses(io.raftoral.proto.client.WorkflowStatus.WORKFLOW_STATUS_UNSPECIFIED).build()))
        .isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> ApiProtos.fromProto(ListRequest.newBuilder().setLimit(1001).build()))
        .isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> ApiProtos.fromProto(ListRequest.newBuilder().setLimit(-1).build()))
        .isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> ApiProtos.fromProto(ListRequest.newBuilder().setStartedAfterMillis(-1).build()))
        .isInstanceOf(Errors.InvalidArgumentException.class);
    assertThat(ApiProtos.fromProto(ListRequest.newBuilder().setType("t").build()).statuses()).isEqualTo(Set.of());
  }
}
