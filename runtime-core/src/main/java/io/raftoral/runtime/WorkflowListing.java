package io.raftoral.runtime;

import io.raftoral.common.Errors;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.proto.raft.ListWorkflows;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.RaftHost;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;

/**
 * Listing workflows: one page from every execution group (scatter-gather), merged in
 * (started-at, id) order, and the page token ({@link Cursor}) that continues after it.
 */
final class WorkflowListing {
  private final Duration requestTimeout;
  private final RaftHost host;
  private final GroupHosting hosting;
  private final Routing routing;
  private final ServingGate gate;

  WorkflowListing(Duration requestTimeout, RaftHost host, GroupHosting hosting, Routing routing, ServingGate gate) {
    this.requestTimeout = requestTimeout;
    this.host = host;
    this.hosting = hosting;
    this.routing = routing;
    this.gate = gate;
  }

  /** Matching workflows across every execution group, merged in (started-at, id) order and paged. */
  ListPage list(ListQuery q) {
    gate.checkServing();
    ListWorkflows.Builder filter = ListWorkflows.newBuilder()
        .setType(q.type() == null ? "" : q.type()).setVersion(q.version()).setLimit(q.limit())
        .setStartedAfterMillis(q.startedAfter() == null ? 0 : q.startedAfter().toEpochMilli())
        .setStartedBeforeMillis(q.startedBefore() == null ? 0 : q.startedBefore().toEpochMilli());
    q.statuses().forEach(s -> filter.addStatuses(WorkflowStatusCode.valueOf(s.name())));
    if (q.pageToken() != null && !q.pageToken().isEmpty()) {
      Cursor c = Cursor.parse(q.pageToken());
      filter.setHasCursor(true).setAfterStartedAtMillis(c.startedAtMillis()).setAfterWorkflowId(c.workflowId());
    }
    record Item(WorkflowRecord record, GroupId group) {}
    List<Item> merged = new ArrayList<>();
    boolean more = false;
    for (GroupId gid : routing.executionGroupIds()) {
      QueryReply page = listIn(gid, filter.build());
      page.getWorkflowsList().forEach(r -> merged.add(new Item(r, gid)));
      more |= page.getMore();
    }
    merged.sort(Comparator.comparingLong((Item i) -> i.record().getStartedAtMillis()).thenComparing(i -> i.record().getWorkflowId()));
    more |= merged.size() > q.limit();
    List<Item> page = merged.subList(0, Math.min(q.limit(), merged.size()));
    String next = null;
    if (more && !page.isEmpty()) {
      WorkflowRecord last = page.getLast().record();
      next = new Cursor(last.getStartedAtMillis(), last.getWorkflowId()).token();
    }
    return new ListPage(page.stream().map(i -> WorkflowInfos.toInfo(i.record(), i.group())).toList(), next);
  }

  private QueryReply listIn(GroupId gid, ListWorkflows filter) {
    GroupRuntime local = hosting.get(gid);
    if (local != null && host.isLeader(gid)) {
      return local.stateMachine().list(filter).build();
    }
    return routing.query(gid, Query.newBuilder().setList(filter).build(), requestTimeout);
  }

  /** A page token: the (started-at, id) of the last workflow of the previous page. */
  record Cursor(long startedAtMillis, String workflowId) {
    String token() {
      return Base64.getUrlEncoder().withoutPadding()
          .encodeToString(("v1|" + startedAtMillis + "|" + workflowId).getBytes(StandardCharsets.UTF_8));
    }

    static Cursor parse(String token) {
      try {
        String s = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
        String[] parts = s.split("\\|", 3);
        if (parts.length != 3 || !parts[0].equals("v1")) {
          throw new IllegalArgumentException("unknown format");
        }
        return new Cursor(Long.parseLong(parts[1]), parts[2]);
      } catch (IllegalArgumentException e) {
        // An excerpt only: echoing unbounded input would overflow the status's metadata.
        String excerpt = token.length() <= 64 ? token : token.substring(0, 32) + "..." + " (" + token.length() + " characters)";
        throw new Errors.InvalidArgumentException("malformed page token '" + excerpt + "': pass the next_page_token of a previous page");
      }
    }
  }
}
