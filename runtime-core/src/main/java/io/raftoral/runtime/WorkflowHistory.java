package io.raftoral.runtime;

import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.proto.raft.ExportedCheckpoint;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.runtime.Routing.Located;
import io.raftoral.storage.StateStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The history call: a page of one workflow's committed checkpoints, asked of the leader of the
 * group that holds the workflow (found as describe finds it, following merges), which reads it
 * from its state store.
 */
final class WorkflowHistory {
  private final Duration requestTimeout;
  private final Routing routing;
  private final ServingGate gate;

  WorkflowHistory(Duration requestTimeout, Routing routing, ServingGate gate) {
    this.requestTimeout = requestTimeout;
    this.routing = routing;
    this.gate = gate;
  }

  /**
   * @throws Errors.WorkflowNotFoundException for an unknown id (or one pruned meanwhile)
   * @throws Errors.InvalidArgumentException for a malformed id
   */
  HistoryPage page(String workflowId, HistoryQuery q) {
    gate.checkServing();
    WorkflowCalls.checkWorkflowId(workflowId);
    io.raftoral.proto.raft.HistoryQuery.Builder ask = io.raftoral.proto.raft.HistoryQuery.newBuilder()
        .setWorkflowId(workflowId).setLimit(q.limit());
    if (q.key() != null) {
      ask.setKey(q.key());
    }
    HistoryQuery.Cursor after = q.cursor(workflowId);
    if (after != null) {
      ask.setHasCursor(true).setAfterCommitOrdinal(after.commitOrdinal()).setAfterKey(after.key()).setAfterSeq(after.seq());
    }
    Query query = Query.newBuilder().setHistory(ask).build();
    Located l = routing.locate(workflowId);
    QueryReply reply = routing.query(l.group(), query, requestTimeout);
    if (!reply.getFound()) {
      // Moved by a merge between the lookup and the query (the source group's copy is pruned
      // after the target adopted it), or pruned: look once more, then it is gone.
      Located again = routing.locate(workflowId);
      reply = again.group().equals(l.group()) ? reply : routing.query(again.group(), query, requestTimeout);
      if (!reply.getFound()) {
        throw new Errors.WorkflowNotFoundException(workflowId);
      }
    }
    List<HistoryEntry> entries = reply.getHistoryList().stream().map(WorkflowHistory::entry).toList();
    String next = null;
    if (reply.getMore() && reply.getHistoryCount() > 0) {
      ExportedCheckpoint last = reply.getHistory(reply.getHistoryCount() - 1);
      next = HistoryQuery.Cursor.token(workflowId, q.key(), new HistoryQuery.Cursor(StateStore.commitOrder(last), last.getKey(), last.getSeq()));
    }
    return new HistoryPage(entries, next);
  }

  static HistoryEntry entry(ExportedCheckpoint c) {
    return new HistoryEntry(c.getKey(), c.getSeq(), c.getValue().toByteArray(), Instant.ofEpochMilli(c.getCommittedAtMillis()),
        c.getOwnerNode(), c.getOwnerTerm());
  }
}
