package io.raftoral.runtime;

import io.raftoral.config.NodeOptions;
import io.raftoral.proto.management.CreateGroup;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.Refusal;
import io.raftoral.proto.management.RemoveNode;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.SetGroupMembers;
import io.raftoral.proto.management.SetRoles;
import io.raftoral.proto.management.Topology;
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
 *   <li>place a node that is in no execution group: into the smallest group below the target
 *       size, else into a new group topped up with the least-loaded nodes; top up groups that
 *       lost members (a removed member's replacement, whenever a spare node exists).
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
      NodeOptions options, GroupProposer groups) {
    this.groups = groups;
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
          joiningSince.clear();
          suspected.clear();
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
    if (!removeFailed(t, silence, term, roundStart, observedSince) && !conformManagement(t, conf, term, roundStart)
        && !openNewGroup(t, term)) {
      place(t, silence, term);
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
          LOG.info("node {}: management reconfiguration not done yet: {}", self, reply.error());
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
   * Opens the first closed execution group to starts, once it runs (its Raft configuration is its
   * members): first every open group is told that starts are now routed over one more group
   * (raft {@code Placement}), so each refuses a start routed without the new group (MOVED); only
   * then is {@code OpenGroup} committed. A node with a stale topology can therefore not start an
   * id in the group it used to hash to while a node that knows the new group starts it there.
   * Idempotent, so a new management leader finishes a half-done opening. True when it acted.
   */
  private boolean openNewGroup(Topology t, long term) {
    List<ExecutionGroupRecord> sorted = t.getExecutionGroupsList().stream()
        .sorted(Comparator.comparingInt(ExecutionGroupRecord::getIndex)).toList();
    ExecutionGroupRecord closed = sorted.stream().filter(g -> !g.getOpen()).findFirst().orElse(null);
    if (closed == null) {
      return false;
    }
    GroupId gid = GroupId.of(UUID.fromString(closed.getGroupId()));
    Set<Long> raftMembers = host.voters(gid);
    if (raftMembers == null || !raftMembers.equals(new TreeSet<>(closed.getMembersList()))) {
      return false; // not running with its members yet: place and conform go on meanwhile
    }
    int routedOver = closed.getIndex() + 1;
    io.raftoral.proto.raft.Command placement = io.raftoral.proto.raft.Command.newBuilder()
        .setPlacement(io.raftoral.proto.raft.Placement.newBuilder().setGroups(routedOver)).build();
    try {
      for (ExecutionGroupRecord g : sorted.subList(0, closed.getIndex())) {
        var outcome = groups.propose(GroupId.of(UUID.fromString(g.getGroupId())), placement)
            .get(options.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        if (outcome.result().getCode() != io.raftoral.proto.raft.ResultCode.APPLIED) {
          LOG.info("node {}: execution group {} did not take the placement of {} groups: {}", self, g.getIndex(), routedOver,
              outcome.result());
          return true;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return true;
    } catch (Exception e) {
      LOG.info("node {}: telling the execution groups about group {} failed ({}); retrying", self, closed.getIndex(), e.toString());
      return true;
    }
    LOG.info("node {}: opening execution group {} to starts ({} groups)", self, closed.getIndex(), routedOver);
    commit(ManagementCommand.newBuilder().setOpenGroup(io.raftoral.proto.management.OpenGroup.newBuilder()
        .setIndex(closed.getIndex())).build(), term);
    return true;
  }

  /** Places unplaced nodes and tops up groups below the target size; true when it committed a decision. */
  private boolean place(Topology t, Map<Long, Long> silence, long term) {
    int target = options.targetGroupSize();
    List<Long> live = t.getNodesList().stream()
        .filter(n -> n.getRole() == Role.VOTER || n.getRole() == Role.LISTENER)
        .map(NodeRecord::getNodeId)
        .filter(id -> id == self || (silence.containsKey(id) && silence.get(id) <= failureTimeoutMs))
        .sorted()
        .toList();
    Map<Long, Integer> load = new HashMap<>();
    live.forEach(id -> load.put(id, 0));
    for (ExecutionGroupRecord g : t.getExecutionGroupsList()) {
      g.getMembersList().forEach(m -> load.computeIfPresent(m, (k, v) -> v + 1));
    }
    Comparator<Long> leastLoaded = Comparator.comparing((Long id) -> load.get(id)).thenComparing(id -> id);
    for (long node : live) {
      if (load.get(node) > 0) {
        continue;
      }
      ExecutionGroupRecord smallest = t.getExecutionGroupsList().stream()
          .filter(g -> g.getMembersCount() < target)
          .min(Comparator.comparingInt(ExecutionGroupRecord::getMembersCount).thenComparingInt(ExecutionGroupRecord::getIndex))
          .orElse(null);
      if (smallest != null) {
        List<Long> members = new ArrayList<>(smallest.getMembersList());
        members.add(node);
        return setMembers(smallest.getIndex(), members, "node " + node + " joined", term);
      }
      if (t.getExecutionGroupsList().stream().anyMatch(g -> !g.getOpen())) {
        continue; // one new group at a time: the last one created is not open yet
      }
      List<Long> members = new ArrayList<>();
      members.add(node);
      live.stream().filter(id -> id != node).sorted(leastLoaded).limit(target - 1L).forEach(members::add);
      LOG.info("node {}: creating execution group {} with members {}", self, t.getExecutionGroupsCount(), members);
      commit(ManagementCommand.newBuilder().setCreateGroup(CreateGroup.newBuilder().addAllMembers(members)).build(), term);
      return true;
    }
    for (ExecutionGroupRecord g : t.getExecutionGroupsList()) {
      if (g.getMembersCount() >= target) {
        continue;
      }
      List<Long> spare = live.stream().filter(id -> !g.getMembersList().contains(id)).sorted(leastLoaded)
          .limit(target - (long) g.getMembersCount()).toList();
      if (!spare.isEmpty()) {
        List<Long> members = new ArrayList<>(g.getMembersList());
        members.addAll(spare);
        return setMembers(g.getIndex(), members, "top up with " + spare, term);
      }
    }
    return false;
  }

  private boolean setMembers(int index, List<Long> members, String reason, long term) {
    LOG.info("node {}: execution group {} members -> {} ({})", self, index, members, reason);
    commit(ManagementCommand.newBuilder().setSetGroupMembers(SetGroupMembers.newBuilder()
        .setIndex(index).addAllMembers(members).setReason(reason)).build(), term);
    return true;
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
            reply.error());
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
