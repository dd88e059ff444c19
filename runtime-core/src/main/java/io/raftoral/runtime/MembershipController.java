package io.raftoral.runtime;

import io.raftoral.proto.management.CreateGroup;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.RemoveNode;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.SetGroupMembers;
import io.raftoral.proto.management.SetRoles;
import io.raftoral.proto.management.Topology;
import io.raftoral.raft.PeerIds;
import io.raftoral.raft.RaftHost;
import io.raftoral.state.ManagementStateMachine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.server.RaftConfiguration;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
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
 *       lost members;
 *   <li>bring each execution group's Raft configuration to its committed members.
 * </ol>
 *
 * Decisions are committed first and Raft configurations follow them, so a new leader that
 * finds them apart simply continues.
 */
final class MembershipController implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MembershipController.class);
  private static final Duration ROUND = Duration.ofMillis(250);

  private final long self;
  private final RaftHost host;
  private final ManagementStateMachine management;
  private final RaftGroupId managementGroupId;
  private final NodeRuntime.Options options;
  private final long failureTimeoutMs;
  private final long joinTimeoutMs;
  // Registered nodes not yet in the management configuration, since when (nanos).
  private final Map<Long, Long> joiningSince = new HashMap<>();
  // Execution group index -> the members its Raft configuration was last set to by this leader.
  private final Map<Integer, Set<Long>> conformed = new HashMap<>();
  private volatile Thread thread;
  private volatile boolean closed;

  MembershipController(long self, RaftHost host, ManagementStateMachine management, RaftGroupId managementGroupId,
      NodeRuntime.Options options) {
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
    thread = Thread.ofPlatform().daemon().name("raftoral-membership-" + self).start(this::loop);
  }

  /** Something changed (a topology or a leader): run a round now. */
  void wake() {
    Thread t = thread;
    if (t != null) {
      LockSupport.unpark(t);
    }
  }

  private void loop() {
    while (!closed) {
      try {
        if (host.isLeader(managementGroupId)) {
          round();
        } else {
          conformed.clear();
          joiningSince.clear();
        }
      } catch (RuntimeException e) {
        if (!closed) {
          LOG.debug("node {}: membership round failed; retrying", self, e);
        }
      }
      LockSupport.parkNanos(ROUND.toNanos());
    }
  }

  private void round() {
    Topology t = management.topology();
    RaftConfiguration conf = host.configuration(managementGroupId);
    if (t.getNodesCount() == 0 || conf == null || !conf.getPreviousPeers().isEmpty()) {
      return; // not bootstrapped yet, or a configuration change is under way
    }
    Map<Long, Long> silence = host.followerSilenceMillis(managementGroupId);
    if (removeFailed(t, silence) || conformManagement(t, conf) || place(t, silence)) {
      return;
    }
    conformExecutionGroups(t);
  }

  private boolean removeFailed(Topology t, Map<Long, Long> silence) {
    long now = System.nanoTime();
    for (NodeRecord n : t.getNodesList()) {
      if (n.getNodeId() == self) {
        continue;
      }
      String why = null;
      if (n.getRole() == Role.JOINING) {
        long since = joiningSince.computeIfAbsent(n.getNodeId(), id -> now);
        if (TimeUnit.NANOSECONDS.toMillis(now - since) > joinTimeoutMs) {
          why = "registered but never came up within " + joinTimeoutMs + " ms";
        }
      } else {
        Long quiet = silence.get(n.getNodeId());
        if (quiet != null && quiet > failureTimeoutMs) {
          why = "no answer for " + quiet + " ms";
        }
      }
      if (why != null) {
        LOG.info("node {}: removing node {} from the cluster: {}", self, n.getNodeId(), why);
        commit(ManagementCommand.newBuilder().setRemoveNode(RemoveNode.newBuilder().setNodeId(n.getNodeId()).setReason(why)).build());
        joiningSince.remove(n.getNodeId());
        return true;
      }
    }
    return false;
  }

  /** Brings the management group's voters and listeners to the topology; true when it changed something. */
  private boolean conformManagement(Topology t, RaftConfiguration conf) {
    Set<Long> voters = ids(conf.getCurrentPeers(RaftPeerRole.FOLLOWER));
    Set<Long> listeners = ids(conf.getCurrentPeers(RaftPeerRole.LISTENER));
    Set<Long> inTopology = t.getNodesList().stream().map(NodeRecord::getNodeId).collect(Collectors.toCollection(TreeSet::new));
    Set<Long> wantVoters = new TreeSet<>(voters);
    wantVoters.retainAll(inTopology);
    List<NodeRecord> promotable = t.getNodesList().stream()
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
    Set<Long> wantListeners = new TreeSet<>(inTopology);
    wantListeners.removeAll(wantVoters);
    if (!wantVoters.equals(voters) || !wantListeners.equals(listeners)) {
      LOG.info("node {}: management group voters {} listeners {} -> voters {} listeners {}",
          self, voters, listeners, wantVoters, wantListeners);
      try {
        RaftClientReply reply = host.setConfiguration(managementGroupId, addresses(t, wantVoters), addresses(t, wantListeners));
        if (!reply.isSuccess()) {
          LOG.info("node {}: management reconfiguration not done yet: {}", self, reply.getException());
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
      commit(ManagementCommand.newBuilder().setSetRoles(SetRoles.newBuilder().putAllRoles(roles)).build());
      return true;
    }
    return false;
  }

  /** Places unplaced nodes and tops up groups below the target size; true when it committed a decision. */
  private boolean place(Topology t, Map<Long, Long> silence) {
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
        return setMembers(smallest.getIndex(), members, "node " + node + " joined");
      }
      List<Long> members = new ArrayList<>();
      members.add(node);
      live.stream().filter(id -> id != node).sorted(leastLoaded).limit(target - 1L).forEach(members::add);
      LOG.info("node {}: creating execution group {} with members {}", self, t.getExecutionGroupsCount(), members);
      commit(ManagementCommand.newBuilder().setCreateGroup(CreateGroup.newBuilder().addAllMembers(members)).build());
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
        return setMembers(g.getIndex(), members, "top up with " + spare);
      }
    }
    return false;
  }

  private boolean setMembers(int index, List<Long> members, String reason) {
    LOG.info("node {}: execution group {} members -> {} ({})", self, index, members, reason);
    commit(ManagementCommand.newBuilder().setSetGroupMembers(SetGroupMembers.newBuilder()
        .setIndex(index).addAllMembers(members).setReason(reason)).build());
    return true;
  }

  /**
   * Moves each execution group's Raft configuration toward its committed members, one member
   * per change: Ratis refuses a change that replaces a majority at once (RATIS-1912), and
   * adding before removing keeps the group's fault tolerance during the move.
   */
  private void conformExecutionGroups(Topology t) {
    for (ExecutionGroupRecord g : t.getExecutionGroupsList()) {
      Set<Long> members = new TreeSet<>(g.getMembersList());
      if (members.isEmpty() || members.equals(conformed.get(g.getIndex()))) {
        continue;
      }
      RaftGroupId gid = RaftGroupId.valueOf(UUID.fromString(g.getGroupId()));
      Set<Long> current = host.voters(gid);
      if (current == null) {
        LOG.debug("node {}: execution group {} did not report its configuration", self, g.getIndex());
        continue;
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
        RaftClientReply reply = host.setConfiguration(gid, addresses(t, next), Map.of());
        LOG.info("node {}: execution group {} configuration {} -> {}{}", self, g.getIndex(), current, next,
            reply.isSuccess() ? "" : " not done yet: " + reply.getException());
      } catch (java.io.IOException e) {
        LOG.info("node {}: execution group {} configuration {} -> {} not done yet: {}", self, g.getIndex(), current, next, e.toString());
      }
      return; // one change per round; the next round looks again
    }
  }

  private void commit(ManagementCommand command) {
    try {
      RaftClientReply reply = host.submit(managementGroupId, UnsafeByteOperations.unsafeWrap(command.toByteArray()))
          .get(options.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
      ManagementResult result = ManagementResult.parseFrom(reply.getMessage().getContent().asReadOnlyByteBuffer());
      if (!result.getApplied()) {
        LOG.warn("node {}: management command {} refused: {}", self, command.getKindCase(), result.getError());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      LOG.info("node {}: management command {} failed: {}", self, command.getKindCase(), e.toString());
    }
  }

  private static Set<Long> ids(java.util.Collection<RaftPeer> peers) {
    return peers.stream().map(p -> PeerIds.nodeId(p.getId())).collect(Collectors.toCollection(TreeSet::new));
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
    wake();
  }
}
