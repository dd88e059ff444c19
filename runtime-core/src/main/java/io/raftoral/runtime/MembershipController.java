package io.raftoral.runtime;

import io.raftoral.config.NodeOptions;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.Refusal;
import io.raftoral.proto.management.RemoveNode;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.ReportLoads;
import io.raftoral.proto.management.SetRoles;
import io.raftoral.proto.management.Topology;
import io.raftoral.proto.raft.GroupStatus;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.raft.GroupConfiguration;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.ManagementStateMachine;
import io.raftoral.raft.RaftHost;
import io.raftoral.raft.RaftReply;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the cluster's shape (SPEC §8). Runs on every node and acts only on the management
 * group's leader. Each round makes at most one decision, committed as a management command,
 * in this order:
 *
 * <ol>
 *   <li>remove a member that has not answered the leader for {@code nodeFailureTimeout}, or a
 *       registered node that never came up;
 *   <li>bring the management group's Raft configuration to the topology: at most {@code
 *       maxVoters} voters (existing voters stay; listeners, then joining nodes, are promoted
 *       when voters are missing), every other node a listener;
 *   <li>drive a merge under way ({@link GroupMerge}, one step per round);
 *   <li>every {@link #STATUS_EVERY}: read each live execution group's status from its leader and
 *       commit ReportLoads when a running count changed;
 *   <li>the shape of the disjoint execution groups ({@link PlacementPolicy}: split, top up,
 *       merge, place a node, open a group, spread the groups' leaders).
 * </ol>
 *
 * A second loop brings each execution group's Raft configuration to its committed members, so
 * a slow reconfiguration (a member that does not answer) never delays failure detection.
 * Decisions are committed first and Raft configurations follow them, so a new leader that
 * finds them apart simply continues.
 *
 * <p><b>Safe against a stale leader</b> (docs/ARCHITECTURE.md): every decision carries the term
 * in which this node led when it decided ({@link RaftHost#leaderTerm}), and is appended only
 * through this node's own division ({@link RaftHost#submitLocal}, never forwarded), so the apply
 * rules refuse it if another leader has been elected meanwhile. Silence is counted only while
 * this controller observes it: from the later of when this node began to lead in its term and
 * the end of this process's last pause ({@link PauseWatch}). A node that was frozen (GC, SIGSTOP,
 * a suspended VM) therefore never counts its own pause as the others' silence.
 */
final class MembershipController implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MembershipController.class);
  private static final Duration ROUND = Duration.ofMillis(250);
  // How often the groups' status (running workflows, leader) is read; a read waits at most STATUS_TIMEOUT.
  static final Duration STATUS_EVERY = Duration.ofSeconds(2);
  private static final Duration STATUS_TIMEOUT = Duration.ofSeconds(1);

  private final long self;
  private final RaftHost host;
  private final ManagementStateMachine management;
  private final GroupId managementGroupId;
  private final NodeOptions options;
  private final long failureTimeoutMs;
  private final long joinTimeoutMs;
  private final PauseWatch pauses = new PauseWatch();
  // Decision loop only: the term this node leads in, and since when (nanos).
  private long term;
  private long leaderSince;
  // Registered nodes not yet in the management configuration, since when (nanos).
  private final Map<Long, Long> joiningSince = new HashMap<>();
  // Nodes reported as not answering (logged once until they answer again).
  private final Set<Long> suspected = new HashSet<>();
  // Conform loop only: execution group index -> the members its Raft configuration was last set to in conformedTerm.
  private final Map<Integer, Set<Long>> conformed = new HashMap<>();
  private long conformedTerm;
  // Decision loop only: what the last reads of the execution groups found (group index -> leader, Raft voters).
  private final Map<Integer, Long> leaders = new HashMap<>();
  private final Map<Integer, Set<Long>> raftMembers = new HashMap<>();
  private long nextStatus;
  private final PlacementPolicy policy;
  private final GroupMerge merge;
  private final GroupMerge.GroupQuery queries;
  private final ExecutorService reads = Executors.newVirtualThreadPerTaskExecutor();
  private volatile Thread decisions;
  private volatile Thread conform;
  private volatile boolean closed;

  /** Proposes a command into an execution group (hosted here or not) and completes once it is applied there. */
  interface GroupProposer {
    java.util.concurrent.CompletableFuture<io.raftoral.raft.Proposer.Outcome> propose(GroupId group,
        io.raftoral.proto.raft.Command command);
  }

  private final GroupProposer groups;

  MembershipController(long self, RaftHost host, ManagementStateMachine management, GroupId managementGroupId,
      NodeOptions options, GroupProposer groups, GroupMerge.GroupQuery queries) {
    this.groups = groups;
    this.queries = queries;
    this.policy = new PlacementPolicy(PlacementPolicy.Sizes.of(options));
    this.merge = new GroupMerge(self, groups, queries, options.requestTimeout());
    this.self = self;
    this.host = host;
    this.management = management;
    this.managementGroupId = managementGroupId;
    this.options = options;
    this.failureTimeoutMs = options.nodeFailureTimeout().toMillis();
    // Generous: a node coming back after a long absence may need a while to catch up.
    this.joinTimeoutMs = Math.max(60_000, 6 * failureTimeoutMs);
  }

  void start() {
    pauses.start(self);
    decisions = Thread.ofPlatform().daemon().name("raftoral-membership-" + self).start(this::decisionLoop);
    conform = Thread.ofPlatform().daemon().name("raftoral-conform-" + self).start(this::conformLoop);
  }

  /** Something changed (a topology or a leader): run a round now. */
  void wake() {
    for (Thread t : new Thread[] {decisions, conform}) {
      if (t != null) {
        LockSupport.unpark(t);
      }
    }
  }

  private void decisionLoop() {
    while (!closed) {
      try {
        long now = System.nanoTime();
        long leading = host.leaderTerm(managementGroupId);
        if (leading != term) {
          term = leading;
          leaderSince = now;
          nextStatus = now;
          joiningSince.clear();
          suspected.clear();
          leaders.clear();
          raftMembers.clear();
        }
        if (leading != 0) {
          round(leading, now);
        }
      } catch (RuntimeException e) {
        if (!closed) {
          LOG.debug("node {}: membership round failed; retrying", self, e);
        }
      }
      LockSupport.parkNanos(ROUND.toNanos());
    }
  }

  private void round(long term, long roundStart) {
    Topology t = management.topology();
    GroupConfiguration conf = host.configuration(managementGroupId);
    if (t.getNodesCount() == 0 || conf == null || conf.changing()) {
      return; // not bootstrapped yet, or a configuration change is under way
    }
    if (pauses.pausedSince(roundStart)) {
      return; // this process has just been frozen: the watch has not seen the gap end yet
    }
    // Silence counts only from when this controller could observe it.
    long observedSince = Math.max(leaderSince, pauses.lastPauseEnd());
    long observedMs = TimeUnit.NANOSECONDS.toMillis(roundStart - observedSince);
    Map<Long, Long> silence = new HashMap<>();
    host.followerSilenceMillis(managementGroupId).forEach((id, quiet) -> silence.put(id, Math.min(quiet, observedMs)));
    if (!removeFailed(t, silence, term, roundStart, observedSince) && !conformManagement(t, conf, term, roundStart)) {
      shape(t, silence, term, roundStart);
    }
  }

  private boolean removeFailed(Topology t, Map<Long, Long> silence, long term, long now, long observedSince) {
    for (NodeRecord n : t.getNodesList()) {
      if (n.getNodeId() == self) {
        continue;
      }
      String why = null;
      if (n.getRole() == Role.JOINING) {
        long since = Math.max(joiningSince.computeIfAbsent(n.getNodeId(), id -> now), observedSince);
        if (TimeUnit.NANOSECONDS.toMillis(now - since) > joinTimeoutMs) {
          why = "registered but never came up within " + joinTimeoutMs + " ms";
        }
      } else {
        Long quiet = silence.get(n.getNodeId());
        if (quiet != null && quiet > failureTimeoutMs / 2) {
          if (suspected.add(n.getNodeId())) {
            LOG.info("node {}: node {} has not answered for {} ms (removed after {} ms)", self, n.getNodeId(), quiet, failureTimeoutMs);
          }
        } else if (quiet != null && suspected.remove(n.getNodeId())) {
          LOG.info("node {}: node {} answers again", self, n.getNodeId());
        }
        if (quiet != null && quiet > failureTimeoutMs) {
          why = "no answer for " + quiet + " ms";
        }
      }
      if (why != null) {
        if (pauses.pausedSince(now)) {
          return true; // this process stalled while deciding: look again next round
        }
        LOG.info("node {}: removing node {} from the cluster: {}", self, n.getNodeId(), why);
        commit(ManagementCommand.newBuilder().setRemoveNode(RemoveNode.newBuilder().setNodeId(n.getNodeId()).setReason(why)
            .setAtMillis(System.currentTimeMillis())).build(), term);
        joiningSince.remove(n.getNodeId());
        suspected.remove(n.getNodeId());
        return true;
      }
    }
    return false;
  }

  /** Brings the management group's voters and listeners to the topology; true when it changed something. */
  private boolean conformManagement(Topology t, GroupConfiguration conf, long term, long roundStart) {
    Set<Long> voters = new TreeSet<>(conf.voters());
    Set<Long> listeners = new TreeSet<>(conf.listeners());
    Set<Long> inTopology = t.getNodesList().stream().map(NodeRecord::getNodeId).collect(Collectors.toCollection(TreeSet::new));
    Set<Long> wantVoters = new TreeSet<>(voters);
    wantVoters.retainAll(inTopology);
    // Peers the topology no longer has leave in a change of their own, before anyone is added: a
    // wiped node rejoins on its old raft address under a new id, and Ratis routes messages by
    // group, not by peer id, so the new node would receive the old id's stream until it is gone.
    boolean removing = !wantVoters.equals(voters) || !inTopology.containsAll(listeners);
    List<NodeRecord> promotable = removing ? List.of() : t.getNodesList().stream()
        .filter(n -> !wantVoters.contains(n.getNodeId()))
        .sorted(Comparator.comparing((NodeRecord n) -> !listeners.contains(n.getNodeId())).thenComparingLong(NodeRecord::getNodeId))
        .toList();
    // One new voter per change: Ratis refuses a change whose new voters are not fewer than the
    // kept ones (RATIS-1912), e.g. {1} -> {1,2,3} when two nodes join at once.
    for (NodeRecord n : promotable) {
      if (wantVoters.size() >= options.maxVoters()) {
        break;
      }
      wantVoters.add(n.getNodeId());
      if (!voters.contains(n.getNodeId())) {
        break;
      }
    }
    Set<Long> wantListeners = new TreeSet<>(removing ? listeners : inTopology);
    wantListeners.retainAll(inTopology);
    wantListeners.removeAll(wantVoters);
    if (!wantVoters.equals(voters) || !wantListeners.equals(listeners)) {
      if (!stillLeading(term, roundStart)) {
        return true;
      }
      LOG.info("node {}: management group voters {} listeners {} -> voters {} listeners {}",
          self, voters, listeners, wantVoters, wantListeners);
      try {
        RaftReply reply = host.setConfiguration(managementGroupId, addresses(t, wantVoters), addresses(t, wantListeners));
        if (!reply.isSuccess()) {
          LOG.info("node {}: management reconfiguration not done yet: {}", self, String.valueOf(reply.error()));
          return true;
        }
      } catch (java.io.IOException e) {
        LOG.info("node {}: management reconfiguration not done yet: {}", self, e.toString());
        return true;
      }
    }
    Map<Long, Role> roles = new LinkedHashMap<>();
    for (NodeRecord n : t.getNodesList()) {
      Role want = wantVoters.contains(n.getNodeId()) ? Role.VOTER : Role.LISTENER;
      if (n.getRole() != want) {
        roles.put(n.getNodeId(), want);
      }
    }
    if (!roles.isEmpty()) {
      commit(ManagementCommand.newBuilder().setSetRoles(SetRoles.newBuilder().putAllRoles(roles)).build(), term);
      return true;
    }
    return false;
  }

  /**
   * Decisions 2-8: drives a merge under way (one step), reads the groups' status every {@link
   * #STATUS_EVERY} (committing ReportLoads when a running count changed), then commits what
   * {@link PlacementPolicy} decides. True when it committed or proposed something.
   */
  private boolean shape(Topology t, Map<Long, Long> silence, long term, long roundStart) {
    ExecutionGroupRecord merging = GroupMerge.merging(t);
    if (merging != null) {
      ManagementCommand finish = merge.step(t, merging, term, () -> stillLeading(term, roundStart));
      if (finish != null && stillLeading(term, roundStart)) {
        commit(finish, term);
        return true;
      }
    }
    boolean full = roundStart - nextStatus >= 0;
    if (full) {
      nextStatus = roundStart + STATUS_EVERY.toNanos();
    }
    Map<Integer, Long> running = readGroups(t, full);
    if (!running.isEmpty() && stillLeading(term, roundStart)) {
      commit(ManagementCommand.newBuilder().setReportLoads(ReportLoads.newBuilder().putAllRunning(running)).build(), term);
      return true;
    }
    Set<Long> live = new TreeSet<>();
    live.add(self);
    silence.forEach((id, quiet) -> {
      if (quiet <= failureTimeoutMs) {
        live.add(id);
      }
    });
    var decision = policy.decide(new PlacementPolicy.View(t, live, Map.copyOf(leaders), Map.copyOf(raftMembers), self));
    if (decision.isEmpty() || !stillLeading(term, roundStart)) {
      return false;
    }
    LOG.info("node {}: {}", self, decision.get().reason());
    commit(decision.get().command(), term);
    return true;
  }

  /**
   * Refreshes what the policy needs from the execution groups: each live group's leader and Raft
   * voters (every group when {@code full}, else only those not yet running with their members),
   * and with {@code full} their running workflows (GroupStatus, answered by each group's leader;
   * in parallel, bounded). Returns the running counts that differ from the committed records
   * (empty when none changed or none answered).
   */
  private Map<Integer, Long> readGroups(Topology t, boolean full) {
    List<ExecutionGroupRecord> live = PlacementPolicy.liveGroups(t).stream().filter(g -> g.getMembersCount() > 0).toList();
    Set<Integer> indexes = live.stream().map(ExecutionGroupRecord::getIndex).collect(Collectors.toSet());
    leaders.keySet().retainAll(indexes);
    raftMembers.keySet().retainAll(indexes);
    Map<Integer, CompletableFuture<QueryReply>> statuses = new HashMap<>();
    Map<Integer, CompletableFuture<RaftHost.LeaderView>> views = new HashMap<>();
    Duration timeout = STATUS_TIMEOUT;
    for (ExecutionGroupRecord g : live) {
      GroupId gid = GroupId.of(UUID.fromString(g.getGroupId()));
      if (full || !new TreeSet<>(g.getMembersList()).equals(raftMembers.get(g.getIndex()))) {
        views.put(g.getIndex(), CompletableFuture.supplyAsync(() -> host.leaderView(gid), reads));
      }
      if (full) {
        statuses.put(g.getIndex(), CompletableFuture.supplyAsync(
            () -> queries.query(gid, Query.newBuilder().setStatus(true).build(), timeout), reads));
      }
    }
    views.forEach((index, f) -> {
      RaftHost.LeaderView v = await(f);
      if (v != null) {
        leaders.put(index, v.leader());
        raftMembers.put(index, v.voters());
      } else {
        raftMembers.remove(index);
      }
    });
    Map<Integer, Long> changed = new java.util.TreeMap<>();
    for (ExecutionGroupRecord g : live) {
      QueryReply reply = statuses.containsKey(g.getIndex()) ? await(statuses.get(g.getIndex())) : null;
      if (reply == null || !reply.hasStatus()) {
        continue;
      }
      GroupStatus status = reply.getStatus();
      if (status.getLeaderNode() != 0) {
        leaders.put(g.getIndex(), status.getLeaderNode());
      }
      if (status.getRunningWorkflows() != g.getRunningWorkflows()) {
        changed.put(g.getIndex(), status.getRunningWorkflows());
      }
    }
    return changed;
  }

  private <T> T await(CompletableFuture<T> f) {
    try {
      return f.get(STATUS_TIMEOUT.toMillis() * 2, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (Exception e) {
      LOG.debug("node {}: reading an execution group failed", self, e);
      return null;
    }
  }

  private void conformLoop() {
    while (!closed) {
      try {
        long leading = host.leaderTerm(managementGroupId);
        if (leading != conformedTerm) {
          conformedTerm = leading;
          conformed.clear();
        }
        if (leading != 0) {
          conformExecutionGroups(management.topology(), leading);
        }
      } catch (RuntimeException e) {
        if (!closed) {
          LOG.debug("node {}: conforming execution groups failed; retrying", self, e);
        }
      }
      LockSupport.parkNanos(ROUND.toNanos());
    }
  }

  /** Whether this node still leads in {@code term} and this process has not stalled since {@code since} (nanos). */
  private boolean stillLeading(long term, long since) {
    return host.leaderTerm(managementGroupId) == term && !pauses.pausedSince(since);
  }

  /**
   * Moves each execution group's Raft configuration toward its committed members, one member
   * per change: Ratis refuses a change that replaces a majority at once (RATIS-1912), and
   * adding before removing keeps the group's fault tolerance during the move.
   */
  private void conformExecutionGroups(Topology t, long term) {
    for (ExecutionGroupRecord g : t.getExecutionGroupsList()) {
      Set<Long> members = new TreeSet<>(g.getMembersList());
      if (members.isEmpty() || members.equals(conformed.get(g.getIndex()))) {
        continue;
      }
      GroupId gid = GroupId.of(UUID.fromString(g.getGroupId()));
      long read = System.nanoTime();
      GroupConfiguration local = host.isLeader(gid) ? host.configuration(gid) : null;
      Set<Long> current = local != null ? new TreeSet<>(local.voters()) : host.voters(gid);
      if (current == null) {
        LOG.debug("node {}: execution group {} did not report its configuration", self, g.getIndex());
        continue;
      }
      if (!stillLeading(term, read)) {
        return; // deposed, or this process stalled during the read: it may be stale
      }
      if (current.equals(members)) {
        conformed.put(g.getIndex(), members);
        continue;
      }
      Set<Long> next = new TreeSet<>(current);
      Long missing = members.stream().filter(m -> !current.contains(m)).findFirst().orElse(null);
      if (missing != null) {
        next.add(missing);
      } else {
        next.remove(current.stream().filter(m -> !members.contains(m)).findFirst().orElseThrow());
      }
      // The configuration leaves what was last seen conformed: members that come back to that set
      // later (a split after two joins) must be looked at again, not skipped.
      conformed.remove(g.getIndex());
      try {
        RaftReply reply = host.setConfiguration(gid, addresses(t, next), Map.of());
        LOG.info("node {}: execution group {} configuration {} -> {}{}", self, g.getIndex(), current, next,
            reply.isSuccess() ? "" : " not done yet: " + reply.error());
      } catch (java.io.IOException e) {
        LOG.info("node {}: execution group {} configuration {} -> {} not done yet: {}", self, g.getIndex(), current, next, e.toString());
      }
      return; // one change per round; the next round looks again
    }
  }

  /**
   * Commits a decision taken while leading in {@code term}: through this node's own division
   * only (a deposed leader's decision must not reach the new leader's log), stamped with the
   * term so that applying it refuses it once another leader has been elected.
   */
  private void commit(ManagementCommand command, long term) {
    try {
      RaftReply reply = host.submitLocal(managementGroupId, command.toBuilder().setProposerTerm(term).build().toByteArray())
          .get(options.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
      if (!reply.isSuccess()) {
        LOG.info("node {}: management command {} of term {} not committed: {}", self, command.getKindCase(), term,
            String.valueOf(reply.error())); // a string: SLF4J would print a trailing exception as a stack trace
        return;
      }
      ManagementResult result = ManagementResult.parseFrom(reply.message());
      if (result.getRefusal() == Refusal.REFUSAL_STALE_TERM) {
        LOG.info("node {}: management command {} refused: {}", self, command.getKindCase(), result.getError());
      } else if (!result.getApplied()) {
        LOG.warn("node {}: management command {} refused: {}", self, command.getKindCase(), result.getError());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      LOG.info("node {}: management command {} failed: {}", self, command.getKindCase(), e.toString());
    }
  }

  private static Map<Long, String> addresses(Topology t, Set<Long> ids) {
    Map<Long, String> out = new LinkedHashMap<>();
    for (NodeRecord n : t.getNodesList()) {
      if (ids.contains(n.getNodeId())) {
        out.put(n.getNodeId(), n.getRaftAddress());
      }
    }
    return out;
  }

  @Override
  public void close() {
    closed = true;
    pauses.close();
    reads.shutdownNow();
    wake();
  }

  /**
   * Notices when this process did not run for a while (a long GC pause, SIGSTOP, a suspended
   * VM): a thread that wakes every 100 ms records when a wake-up came more than a second late.
   * Whatever this node measured across such a gap is not evidence about the others.
   */
  static final class PauseWatch implements AutoCloseable {
    private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long PAUSE_NANOS = TimeUnit.SECONDS.toNanos(1);
    private volatile long lastTick = System.nanoTime();
    private volatile long lastPauseEnd = System.nanoTime();
    private volatile boolean closed;

    void start(long self) {
      Thread.ofPlatform().daemon().name("raftoral-pause-watch-" + self).start(() -> {
        while (!closed) {
          LockSupport.parkNanos(TICK_NANOS);
          long now = System.nanoTime();
          if (now - lastTick > PAUSE_NANOS) {
            lastPauseEnd = now;
            LOG.info("node {}: this process did not run for {} ms; silence observed across the gap does not count", self,
                TimeUnit.NANOSECONDS.toMillis(now - lastTick));
          }
          lastTick = now;
        }
      });
    }

    /** When the last pause ended (nanos); the watch's start counts as one. */
    long lastPauseEnd() {
      return lastPauseEnd;
    }

    /**
     * Whether a pause ended after {@code since}, or one is going on now (the watch has not
     * ticked for a second): whatever was read since then may be stale.
     */
    boolean pausedSince(long since) {
      long now = System.nanoTime();
      return lastPauseEnd - since > 0 || now - lastTick > PAUSE_NANOS;
    }

    @Override
    public void close() {
      closed = true;
    }
  }
}
