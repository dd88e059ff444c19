package io.raftoral.runtime;

import com.google.protobuf.InvalidProtocolBufferException;
import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowIds;
import io.raftoral.proto.management.ClaimWorkflowId;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementQuery;
import io.raftoral.proto.management.ManagementQueryReply;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.Refusal;
import io.raftoral.proto.management.Topology;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.ManagementStateMachine;
import io.raftoral.raft.RaftHost;
import io.raftoral.raft.RaftReply;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which execution group a workflow goes to or lives in, and how to ask a group: its leader (this
 * replica when it leads), or this replica when only a final status is needed.
 *
 * <p>Placement: a start goes to the least-loaded open live group (its running workflows as the
 * management leader last reported them plus the starts this node placed there since). Lookup is
 * one step, never a scan of the groups: the claim of a caller-chosen id (this node's management
 * replica, else the management leader), or the index a generated id carries
 * ({@link WorkflowIds}); the index then resolves through {@code merged_into} to the live group.
 */
final class Routing {
  private static final Logger LOG = LoggerFactory.getLogger(Routing.class);

  /** A workflow record and the execution group it lives in. */
  record Located(GroupId group, WorkflowRecord record) {}

  /** An execution group: its index and its id. */
  record Target(int index, GroupId group) {}

  private final long nodeId;
  private final Duration requestTimeout;
  private final RaftHost host;
  private final ManagementStateMachine management;
  private final GroupId managementGroupId;
  private final GroupHosting hosting;
  private final ServingGate gate;
  // This node's management replica's claim of a caller-chosen id (a group index), or null.
  private final Function<String, Integer> localClaims;
  // The execution groups of the bootstrap configuration, until the topology is applied.
  private final List<GroupId> bootstrapGroups;
  // Starts this node placed in each group (by index) since the loads it last saw reported.
  private final Map<Integer, AtomicLong> placedSinceReport = new ConcurrentHashMap<>();
  private volatile Map<Integer, Long> lastReport = Map.of();

  Routing(long nodeId, Duration requestTimeout, RaftHost host, ManagementStateMachine management, GroupId managementGroupId,
      GroupHosting hosting, ServingGate gate, Function<String, Integer> localClaims, List<GroupId> bootstrapGroups) {
    this.nodeId = nodeId;
    this.requestTimeout = requestTimeout;
    this.host = host;
    this.management = management;
    this.managementGroupId = managementGroupId;
    this.hosting = hosting;
    this.gate = gate;
    this.localClaims = localClaims;
    this.bootstrapGroups = bootstrapGroups;
  }

  List<GroupId> bootstrapGroups() {
    return bootstrapGroups;
  }

  /** Every execution group in index order, retired ones included: from the topology once known, else the bootstrap ones. */
  List<GroupId> executionGroupIds() {
    Topology t = management.topology();
    if (t.getExecutionGroupsCount() == 0) {
      return bootstrapGroups;
    }
    return t.getExecutionGroupsList().stream()
        .sorted(Comparator.comparingInt(ExecutionGroupRecord::getIndex))
        .map(Routing::idOf)
        .toList();
  }

  /** The groups that hold workflows (not retired), in index order: the ones a list asks. */
  List<GroupId> liveGroupIds() {
    Topology t = management.topology();
    if (t.getExecutionGroupsCount() == 0) {
      return bootstrapGroups;
    }
    return t.getExecutionGroupsList().stream()
        .filter(Routing::isLive)
        .sorted(Comparator.comparingInt(ExecutionGroupRecord::getIndex))
        .map(Routing::idOf)
        .toList();
  }

  /** The groups that take starts, in index order: open, live and not being merged (the bootstrap ones before the topology is known). */
  List<Target> openGroups() {
    Topology t = management.topology();
    if (t.getExecutionGroupsCount() == 0) {
      List<Target> out = new ArrayList<>();
      for (int i = 0; i < bootstrapGroups.size(); i++) {
        out.add(new Target(i, bootstrapGroups.get(i)));
      }
      return out;
    }
    return t.getExecutionGroupsList().stream()
        .filter(g -> g.getOpen() && isLive(g) && g.getMergeTarget().isEmpty())
        .sorted(Comparator.comparingInt(ExecutionGroupRecord::getIndex))
        .map(g -> new Target(g.getIndex(), idOf(g)))
        .toList();
  }

  /**
   * The group a new start goes to: the open group with the fewest running workflows as last
   * reported plus the starts this node placed there since (ties at random, so that nodes that
   * see the same report do not all pick the same group).
   */
  Target place() {
    List<Target> open = openGroups();
    if (open.isEmpty()) {
      throw new Errors.UnavailableException("node " + nodeId + " knows no execution group open to starts yet", null);
    }
    Map<Integer, Long> reported = reportedLoads();
    Target best = null;
    long bestLoad = Long.MAX_VALUE;
    int ties = 0;
    for (Target t : open) {
      long load = reported.getOrDefault(t.index(), 0L) + placedSinceReport.computeIfAbsent(t.index(), i -> new AtomicLong()).get();
      if (load < bestLoad) {
        best = t;
        bestLoad = load;
        ties = 1;
      } else if (load == bestLoad && ThreadLocalRandom.current().nextInt(++ties) == 0) {
        best = t; // reservoir choice: each tied group equally likely
      }
    }
    return best;
  }

  /** Counts a start this node placed in group {@code index} (until the next reported loads include it). */
  void placed(int index) {
    placedSinceReport.computeIfAbsent(index, i -> new AtomicLong()).incrementAndGet();
  }

  /** The running workflows per group index as last reported; a new report resets this node's own counts. */
  private Map<Integer, Long> reportedLoads() {
    Map<Integer, Long> now = new HashMap<>();
    for (ExecutionGroupRecord g : management.topology().getExecutionGroupsList()) {
      now.put(g.getIndex(), g.getRunningWorkflows());
    }
    synchronized (placedSinceReport) {
      if (!now.equals(lastReport)) {
        // ReportLoads changed a count: the report counts the starts placed before it.
        lastReport = Map.copyOf(now);
        placedSinceReport.values().forEach(c -> c.set(0));
      }
    }
    return now;
  }

  // --- claims of caller-chosen ids ---

  /**
   * The index of the group that holds a caller-chosen id: claims it (ClaimWorkflowId through the
   * management group, which keeps the earlier claim of an id) in the least-loaded open group.
   * A group that closed meanwhile is refused: pick again once this node's topology shows it.
   * Ids of the {@link WorkflowIds} form are never claimed: they name their group.
   */
  int claim(String workflowId, long deadlineNanos) {
    while (true) {
      gate.checkServing();
      awaitTopology(deadlineNanos, "claim workflow id " + workflowId);
      Target chosen = place();
      ManagementCommand command = ManagementCommand.newBuilder()
          .setClaimWorkflowId(ClaimWorkflowId.newBuilder().setWorkflowId(workflowId).setGroupIndex(chosen.index())).build();
      RaftReply reply = gate.await(host.submit(managementGroupId, command.toByteArray()), "claim of workflow id " + workflowId);
      if (!reply.isSuccess()) {
        throw new Errors.UnavailableException("the claim of workflow id " + workflowId + " failed: " + reply.error(), reply.error());
      }
      ManagementResult result;
      try {
        result = ManagementResult.parseFrom(reply.message());
      } catch (InvalidProtocolBufferException e) {
        throw new Errors.UnavailableException("unreadable reply to the claim of workflow id " + workflowId, e);
      }
      if (result.getApplied()) {
        return Math.toIntExact(result.getValue());
      }
      if (result.getRefusal() != Refusal.REFUSAL_GROUP_CLOSED) {
        throw new Errors.UnavailableException("the claim of workflow id " + workflowId + " was refused: " + result.getRefusal()
            + " " + result.getError(), null);
      }
      awaitTopologyShows(() -> !isOpenToStarts(chosen.index()), deadlineNanos,
          "group " + chosen.index() + " refused the claim of " + workflowId + " as closed");
    }
  }

  /**
   * The group index a workflow id was placed in, in one step: this replica's claim, else the
   * index a generated id carries (when that group holds it), else the management leader's claim
   * (this replica may be behind it). Null when the id is nowhere.
   */
  Located locate(String workflowId) {
    var named = WorkflowIds.groupOf(workflowId);
    if (named.isPresent()) {
      // Never claimed: the id names its group (followed through merges), or no group at all.
      Located l = knowsIndex(named.getAsInt()) ? findIn(workflowId, named.getAsInt()) : null;
      if (l == null) {
        throw new Errors.WorkflowNotFoundException(workflowId);
      }
      return l;
    }
    Integer claimed = localClaims.apply(workflowId);
    if (claimed == null) {
      // Not applied here (yet): the management leader's claim, linearizable.
      claimed = claimAtLeader(workflowId);
    }
    Located l = claimed == null ? null : findIn(workflowId, claimed);
    if (l == null) {
      throw new Errors.WorkflowNotFoundException(workflowId); // never claimed, or claimed but its start refused or not committed
    }
    return l;
  }

  /**
   * The live group an id was placed in, from its name or claim alone (no group is asked, so a
   * stalled group does not hold this up): null when the id names no known group and has no claim.
   */
  GroupId placedGroup(String workflowId) {
    var named = WorkflowIds.groupOf(workflowId);
    Integer index = named.isPresent() ? Integer.valueOf(named.getAsInt()) : localClaims.apply(workflowId);
    if (index == null && named.isEmpty()) {
      index = claimAtLeader(workflowId);
    }
    List<GroupId> holders = index == null || !knowsIndex(index) ? List.of() : holders(index);
    return holders.isEmpty() ? null : holders.getLast();
  }

  /** Whether this node's topology knows group {@code index}. */
  boolean knowsGroup(int index) {
    return knowsIndex(index);
  }

  /** The management leader's claim of {@code workflowId} (linearizable), or null when it has none. */
  private Integer claimAtLeader(String workflowId) {
    byte[] query = ManagementQuery.newBuilder().setClaimedWorkflowId(workflowId).build().toByteArray();
    ManagementQueryReply answer;
    try {
      RaftReply reply = host.query(managementGroupId, query).get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!reply.isSuccess()) {
        throw new Errors.UnavailableException("the management group did not answer where workflow " + workflowId
            + " lives: " + reply.error(), reply.error());
      }
      answer = ManagementQueryReply.parseFrom(reply.message());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.UnavailableException("interrupted while asking where workflow " + workflowId + " lives", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new Errors.UnavailableException("the management group did not answer where workflow " + workflowId
          + " lives within " + requestTimeout, e);
    } catch (InvalidProtocolBufferException e) {
      throw new Errors.UnavailableException("unreadable claim reply from the management group", e);
    }
    return answer.getFound() ? answer.getGroupIndex() : null;
  }

  /**
   * The workflow in the groups that may hold what was placed in group {@code index}
   * ({@link #holders}), or null. A group that does not answer because it retired meanwhile is
   * asked again through the topology once.
   */
  private Located findIn(String workflowId, int index) {
    awaitTopologyShows(() -> knowsIndex(index), ServingGate.deadlineAfter(requestTimeout),
        "workflow " + workflowId + " lives in group " + index + ", which node " + nodeId + " does not know yet");
    for (int attempt = 0; ; attempt++) {
      List<GroupId> holders = holders(index);
      Errors.UnavailableException unreachable = null;
      for (GroupId gid : holders) {
        try {
          WorkflowRecord r = recordIn(gid, workflowId);
          if (r != null) {
            return new Located(gid, r);
          }
        } catch (Errors.UnavailableException e) {
          unreachable = e;
        }
      }
      if (unreachable == null) {
        return null;
      }
      if (attempt > 0 || holders.equals(holders(index))) {
        throw unreachable;
      }
    }
  }

  // --- group indices and where they lead ---

  private boolean knowsIndex(int index) {
    Topology t = management.topology();
    if (t.getExecutionGroupsCount() == 0) {
      return index < bootstrapGroups.size();
    }
    return record(t, index) != null;
  }

  private boolean isOpenToStarts(int index) {
    return openGroups().stream().anyMatch(t -> t.index() == index);
  }

  /**
   * The groups that may hold a workflow placed in group {@code index}, in the order to ask: the
   * live group the index resolves to through {@code merged_into}; while that one is being merged,
   * its merge target first (the live copy once adopted), then it. Empty for an unknown index.
   */
  List<GroupId> holders(int index) {
    Topology t = management.topology();
    if (t.getExecutionGroupsCount() == 0) {
      return index < bootstrapGroups.size() ? List.of(bootstrapGroups.get(index)) : List.of();
    }
    ExecutionGroupRecord live = resolve(t, index);
    if (live == null) {
      return List.of();
    }
    List<GroupId> out = new ArrayList<>();
    if (!live.getMergeTarget().isEmpty()) {
      ExecutionGroupRecord target = byId(t, live.getMergeTarget());
      ExecutionGroupRecord targetLive = target == null ? null : resolve(t, target.getIndex());
      if (targetLive != null && !targetLive.getGroupId().equals(live.getGroupId())) {
        out.add(idOf(targetLive));
      }
    }
    out.add(idOf(live));
    return out;
  }

  /**
   * Where a start refused MOVED by {@code group} goes next: its merge target (or, once retired,
   * the group it merged into), resolved to a live group; null while this node's topology shows
   * neither.
   */
  Target successor(GroupId group) {
    Topology t = management.topology();
    ExecutionGroupRecord g = byId(t, group.uuid().toString());
    if (g == null) {
      return null;
    }
    String next = !g.getMergedInto().isEmpty() ? g.getMergedInto() : g.getMergeTarget();
    ExecutionGroupRecord n = next.isEmpty() ? null : byId(t, next);
    ExecutionGroupRecord live = n == null ? null : resolve(t, n.getIndex());
    return live == null ? null : new Target(live.getIndex(), idOf(live));
  }

  /** Whether this node's topology shows {@code group} being merged or retired. */
  boolean isMergingOrRetired(GroupId group) {
    ExecutionGroupRecord g = byId(management.topology(), group.uuid().toString());
    return g != null && (!g.getMergeTarget().isEmpty() || !g.getMergedInto().isEmpty());
  }

  /**
   * Whether {@code group} takes part in a merge under way, as the group merged away (or already
   * retired) or as the target: retention waits in both, since a merge redone from the seal (a new
   * management leader) adopts again what the target does not hold, a pruned workflow included.
   */
  boolean inMerge(GroupId group) {
    String id = group.uuid().toString();
    return isMergingOrRetired(group)
        || management.topology().getExecutionGroupsList().stream().anyMatch(g -> g.getMergeTarget().equals(id));
  }

  /** Whether this node's topology shows {@code group} retired (its records all moved to the group it merged into). */
  boolean isRetired(GroupId group) {
    ExecutionGroupRecord g = byId(management.topology(), group.uuid().toString());
    return g != null && !g.getMergedInto().isEmpty();
  }

  /** The group index of {@code group}, or -1 when the topology does not know it. */
  int indexOf(GroupId group) {
    Topology t = management.topology();
    if (t.getExecutionGroupsCount() == 0) {
      return bootstrapGroups.indexOf(group);
    }
    ExecutionGroupRecord g = byId(t, group.uuid().toString());
    return g == null ? -1 : g.getIndex();
  }

  /** The live group holding what was placed in group {@code index} (through merged_into); null when unknown. */
  static ExecutionGroupRecord resolve(Topology t, int index) {
    return io.raftoral.state.ManagementState.resolve(t, index);
  }

  private static ExecutionGroupRecord record(Topology t, int index) {
    for (ExecutionGroupRecord g : t.getExecutionGroupsList()) {
      if (g.getIndex() == index) {
        return g;
      }
    }
    return null;
  }

  private static ExecutionGroupRecord byId(Topology t, String groupId) {
    for (ExecutionGroupRecord g : t.getExecutionGroupsList()) {
      if (g.getGroupId().equals(groupId)) {
        return g;
      }
    }
    return null;
  }

  private static boolean isLive(ExecutionGroupRecord g) {
    return g.getMergedInto().isEmpty();
  }

  private static GroupId idOf(ExecutionGroupRecord g) {
    return GroupId.of(UUID.fromString(g.getGroupId()));
  }

  // --- waiting for the topology ---

  private void awaitTopology(long deadlineNanos, String what) {
    awaitTopologyShows(() -> management.topology().getExecutionGroupsCount() > 0, deadlineNanos,
        "node " + nodeId + " has not applied the cluster's topology yet (" + what + ")");
  }

  /** Waits until {@code condition} holds on this node's topology; Unavailable (saying {@code why}) at the deadline. */
  void awaitTopologyShows(java.util.function.BooleanSupplier condition, long deadlineNanos, String why) {
    while (!condition.getAsBoolean()) {
      gate.checkServing();
      if (System.nanoTime() - deadlineNanos > 0) {
        throw new Errors.UnavailableException(why + "; node " + nodeId + "'s topology did not catch up within "
            + requestTimeout + "; retry, or call another node", null);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Errors.UnavailableException("interrupted while catching up with the cluster's topology", e);
      }
    }
  }

  // --- asking a group ---

  /**
   * The workflow from a replica here that holds it still running, or null. Waiting for its end
   * then needs no leader: the replica applies the end as the leader does. (A final status here
   * is not trusted without the leader: this replica may be behind a prune and a new start.) Only
   * this node's own replicas are read (a few at most), never other groups.
   */
  Located runningHere(String workflowId) {
    for (var e : hosting.all().entrySet()) {
      var w = e.getValue().state().get(workflowId);
      if (w != null && w.isRunning() && !isMergingOrRetired(e.getKey())) {
        return new Located(e.getKey(), w.toRecord());
      }
    }
    return null;
  }

  /**
   * The workflow as the group's leader knows it (this replica when it leads); null when absent.
   * When no leader answers, this replica answers only a final status, which never changes: a
   * replica cut off from its group may be behind, and "running" or "unknown" from it may be stale
   * (a partitioned node answered RUNNING for workflows the others had completed before the call:
   * PartitionHealProcessesTest).
   */
  WorkflowRecord recordIn(GroupId gid, String workflowId) {
    GroupRuntime local = hosting.get(gid);
    if (local != null && host.isLeader(gid)) {
      local.awaitCaughtUp();
      var w = local.state().get(workflowId);
      return w == null ? null : w.toRecord();
    }
    try {
      QueryReply answer = query(gid, Query.newBuilder().setDescribeWorkflowId(workflowId).build(), requestTimeout);
      return answer.getFound() ? answer.getWorkflow() : null;
    } catch (Errors.UnavailableException e) {
      var w = local == null ? null : local.state().get(workflowId);
      if (w == null || w.isRunning()) {
        throw e;
      }
      LOG.debug("describe {} on the leader failed; answering the final status from this replica", workflowId, e);
      return w.toRecord();
    }
  }

  QueryReply query(GroupId gid, Query query, Duration timeout) {
    RaftReply reply = queryReply(gid, query, timeout);
    try {
      return QueryReply.parseFrom(reply.message());
    } catch (InvalidProtocolBufferException e) {
      throw new Errors.UnavailableException("unreadable query reply from group " + gid, e);
    }
  }

  RaftReply queryReply(GroupId gid, Query query, Duration timeout) {
    try {
      RaftReply reply = host.query(gid, query.toByteArray())
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!reply.isSuccess()) {
        throw new Errors.UnavailableException("group " + gid + " did not answer: " + reply.error(), reply.error());
      }
      return reply;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.UnavailableException("interrupted while asking group " + gid, e);
    } catch (TimeoutException e) {
      throw new Errors.UnavailableException("group " + gid + " did not answer within " + timeout, e);
    } catch (ExecutionException e) {
      throw new Errors.UnavailableException("asking group " + gid + " failed: " + e.getCause(), e.getCause());
    }
  }
}
