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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Listing workflows: one page from every live execution group, asked in parallel, merged in
 * (started-at, id) order and deduplicated by id, and the page token ({@link Cursor}) that
 * continues after it. Records keep their started-at and id when a merge moves them, so a cursor
 * stays valid across a split or merge between two pages.
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

  /** Matching workflows across every live execution group, merged in (started-at, id) order and paged. */
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
    ListWorkflows f = filter.build();
    List<GroupId> groups = routing.liveGroupIds();
    try {
      return page(q.limit(), f, groups);
    } catch (Errors.UnavailableException e) {
      // A group merged away during the call stops answering: ask the groups live now, once.
      List<GroupId> now = routing.liveGroupIds();
      if (now.equals(groups)) {
        throw e;
      }
      return page(q.limit(), f, now);
    }
  }

  /** A record and the group that answered it. */
  record Item(WorkflowRecord record, GroupId group) {}

  /** One group's answer to a page request. */
  record GroupPage(GroupId group, QueryReply reply) {}

  /** A merged page: its records and the token of the next page (null: the last page). */
  record Merged(List<Item> items, String nextToken) {}

  private static final Comparator<WorkflowRecord> ORDER =
      Comparator.comparingLong(WorkflowRecord::getStartedAtMillis).thenComparing(WorkflowRecord::getWorkflowId);

  /** One page from {@code groups}, asked in parallel (each bounded by the request timeout). */
  private ListPage page(int limit, ListWorkflows filter, List<GroupId> groups) {
    List<CompletableFuture<QueryReply>> asks = new ArrayList<>();
    for (GroupId gid : groups) {
      asks.add(CompletableFuture.supplyAsync(() -> listIn(gid, filter), Thread::startVirtualThread));
    }
    long deadline = ServingGate.deadlineAfter(requestTimeout.plusSeconds(1));
    List<GroupPage> pages = new ArrayList<>();
    for (int i = 0; i < groups.size(); i++) {
      pages.add(new GroupPage(groups.get(i), answer(asks.get(i), groups.get(i), deadline)));
    }
    Merged m = merge(limit, pages, routing::isMergingOrRetired, shadowed(pages));
    return new ListPage(m.items().stream().map(i -> WorkflowInfos.toInfo(i.record(), i.group())).toList(), m.nextToken());
  }

  /**
   * Merges the groups' pages. Each group answered up to {@code limit} records after the cursor,
   * in (started-at, id) order. A record may be in two groups at once (a merge copies it before
   * the source retires): it is listed once, from the group not being merged away
   * ({@code movingAway}). The page ends no later than the last record of any group that has
   * more, so nothing of that group before the next cursor is skipped.
   */
  static Merged merge(int limit, List<GroupPage> pages, java.util.function.Predicate<GroupId> movingAway) {
    return merge(limit, pages, movingAway, Set.of());
  }

  /**
   * As {@link #merge(int, List, java.util.function.Predicate)}, leaving out the records in
   * {@code shadowed} (a group being merged away's copies of workflows its target holds already,
   * maybe in another status than the filter asked for); they still bound the page.
   */
  static Merged merge(int limit, List<GroupPage> pages, java.util.function.Predicate<GroupId> movingAway,
      Set<Item> shadowed) {
    Map<String, Item> byId = new HashMap<>();
    WorkflowRecord bound = null; // the earliest last record of a group that has more
    boolean more = false;
    for (GroupPage p : pages) {
      for (WorkflowRecord r : p.reply().getWorkflowsList()) {
        if (shadowed.contains(new Item(r, p.group()))) {
          continue;
        }
        Item seen = byId.get(r.getWorkflowId());
        if (seen == null || (movingAway.test(seen.group()) && !movingAway.test(p.group()))) {
          byId.put(r.getWorkflowId(), new Item(r, p.group()));
        }
      }
      if (p.reply().getMore()) {
        more = true;
        int n = p.reply().getWorkflowsCount();
        if (n > 0 && (bound == null || ORDER.compare(p.reply().getWorkflows(n - 1), bound) < 0)) {
          bound = p.reply().getWorkflows(n - 1);
        }
      }
    }
    List<Item> merged = new ArrayList<>(byId.values());
    merged.sort(Comparator.comparing(Item::record, ORDER));
    if (bound != null) {
      WorkflowRecord b = bound;
      merged.removeIf(i -> ORDER.compare(i.record(), b) > 0);
    }
    more |= merged.size() > limit;
    List<Item> page = List.copyOf(merged.subList(0, Math.min(limit, merged.size())));
    String next = null;
    if (more && !page.isEmpty()) {
      WorkflowRecord last = page.getLast().record();
      next = new Cursor(last.getStartedAtMillis(), last.getWorkflowId()).token();
    }
    return new Merged(page, next);
  }

  /**
   * The records of groups being merged away whose target holds the workflow already: the
   * target's copy is the live one (a filter by status may leave it out while the source's frozen
   * copy still matches). Asked of the targets in parallel; only during a merge.
   */
  private Set<Item> shadowed(List<GroupPage> pages) {
    List<CompletableFuture<Item>> asks = new ArrayList<>();
    for (GroupPage p : pages) {
      Routing.Target target = routing.isMergingOrRetired(p.group()) ? routing.successor(p.group()) : null;
      if (target == null) {
        continue;
      }
      for (WorkflowRecord r : p.reply().getWorkflowsList()) {
        asks.add(CompletableFuture.supplyAsync(
            () -> routing.recordIn(target.group(), r.getWorkflowId()) != null ? new Item(r, p.group()) : null,
            Thread::startVirtualThread));
      }
    }
    Set<Item> out = new HashSet<>();
    long deadline = ServingGate.deadlineAfter(requestTimeout);
    for (CompletableFuture<Item> ask : asks) {
      try {
        Item i = ask.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (i != null) {
          out.add(i);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Errors.UnavailableException("interrupted while listing", e);
      } catch (ExecutionException | TimeoutException e) {
        throw new Errors.UnavailableException("a merge target did not say which workflows it holds within " + requestTimeout, e);
      }
    }
    return out;
  }

  private QueryReply answer(CompletableFuture<QueryReply> ask, GroupId gid, long deadlineNanos) {
    try {
      return ask.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.UnavailableException("interrupted while listing group " + gid, e);
    } catch (TimeoutException e) {
      throw new Errors.UnavailableException("group " + gid + " did not answer the list within " + requestTimeout, e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new Errors.UnavailableException("listing group " + gid + " failed: " + e.getCause(), e.getCause());
    }
  }

  private QueryReply listIn(GroupId gid, ListWorkflows filter) {
    GroupRuntime local = hosting.get(gid);
    if (local != null && host.isLeader(gid)) {
      local.awaitCaughtUp();
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
