package io.raftoral.runtime;

import com.google.protobuf.InvalidProtocolBufferException;
import io.raftoral.common.Errors;
import io.raftoral.config.NodeOptions;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.proto.client.JoinReply;
import io.raftoral.proto.client.JoinRequest;
import io.raftoral.proto.client.LeaveReply;
import io.raftoral.proto.client.LeaveRequest;
import io.raftoral.proto.client.ManagementRole;
import io.raftoral.proto.client.MemberLag;
import io.raftoral.proto.client.NodeInfo;
import io.raftoral.proto.client.NodeMembership;
import io.raftoral.proto.client.NodeStatusReply;
import io.raftoral.proto.client.NodeStatusRequest;
import io.raftoral.proto.client.RemovedNodeInfo;
import io.raftoral.proto.client.ReplicaInfo;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.LeaveCluster;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.RegisterNode;
import io.raftoral.proto.management.RemovedNode;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.Topology;
import io.raftoral.proto.raft.GroupStatus;
import io.raftoral.proto.raft.Query;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.ManagementStateMachine;
import io.raftoral.raft.RaftHost;
import io.raftoral.raft.RaftReply;
import io.raftoral.raft.RaftSettings;
import io.raftoral.state.ManagementState;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's shape through this node: cluster info, the management commands this node submits
 * (the bootstrap topology, registering a joiner, taking back a failed join), a node's membership
 * status, and this node's own admission and removal as its applied topology records them.
 */
final class ClusterAdministration {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterAdministration.class);

  /**
   * How a removed node comes back by hand. It names --join: a removed node restarted with
   * --bootstrap would start a second cluster under the same name.
   */
  static final String JOIN_ADVICE = "Restart it with an empty data directory and --join SEED (the api address of a "
      + "running member; not --bootstrap, which would start a second cluster)";

  /** How long the cluster view waits for a group's status; a group that is slower shows no leader report. */
  static final Duration STATUS_TIMEOUT = Duration.ofSeconds(2);
  // One virtual thread per group asked: the queries mostly wait on the network.
  private static final Executor FAN_OUT = task -> Thread.ofVirtual().name("cluster-view").start(task);

  private final RaftSettings raft;
  private final NodeOptions options;
  private final String incarnation;
  private final RaftHost host;
  private final GroupId managementGroupId;
  private final ManagementStateMachine management;
  private final GroupHosting hosting;
  private final Routing routing;
  private final ServingGate gate;

  ClusterAdministration(RaftSettings raft, NodeOptions options, String incarnation, RaftHost host, GroupId managementGroupId,
      ManagementStateMachine management, GroupHosting hosting, Routing routing, ServingGate gate) {
    this.raft = raft;
    this.options = options;
    this.incarnation = incarnation;
    this.host = host;
    this.managementGroupId = managementGroupId;
    this.management = management;
    this.hosting = hosting;
    this.routing = routing;
    this.gate = gate;
  }

  /** Records the bootstrap topology in the management group; the first one applied wins. */
  void recordBootstrapTopology() {
    List<GroupId> bootstrapGroups = routing.bootstrapGroups();
    Topology.Builder topology = Topology.newBuilder().setClusterId(options.clusterId());
    raft.sortedMembers().forEach((id, address) -> topology.addNodes(NodeRecord.newBuilder()
        .setNodeId(id).setRaftAddress(address).setRole(Role.VOTER)
        .setApiAddress(id == raft.nodeId() && options.apiAddress() != null ? options.apiAddress() : "")
        .setIncarnation(id == raft.nodeId() ? incarnation : ""))); // the others record theirs when they restart
    for (int i = 0; i < bootstrapGroups.size(); i++) {
      topology.addExecutionGroups(ExecutionGroupRecord.newBuilder()
          .setIndex(i).setGroupId(bootstrapGroups.get(i).uuid().toString())
          .addAllMembers(raft.sortedMembers().keySet()).addAllInitialMembers(raft.sortedMembers().keySet()));
    }
    try {
      submitManagement(ManagementCommand.newBuilder().setBootstrap(topology).build());
    } catch (RuntimeException e) {
      if (!gate.closed()) {
        LOG.warn("node {}: recording the topology failed", raft.nodeId(), e);
      }
    }
  }

  ManagementResult submitManagement(ManagementCommand command) {
    RaftReply reply = gate.await(host.submit(managementGroupId, command.toByteArray()),
        "management command " + command.getKindCase());
    if (!reply.isSuccess()) {
      throw new Errors.UnavailableException("management command " + command.getKindCase() + " failed: " + reply.error(),
          reply.error());
    }
    try {
      return ManagementResult.parseFrom(reply.message());
    } catch (InvalidProtocolBufferException e) {
      throw new Errors.UnavailableException("unreadable reply to a management command", e);
    }
  }

  /** Waits until the applied topology lists this node as a voter or listener of the management group. */
  boolean awaitAdmitted(Duration timeout) throws InterruptedException {
    long deadline = ServingGate.deadlineAfter(timeout);
    while (System.nanoTime() < deadline && !gate.closed()) {
      for (NodeRecord n : management.topology().getNodesList()) {
        if (n.getNodeId() == raft.nodeId() && (n.getRole() == Role.VOTER || n.getRole() == Role.LISTENER)) {
          return true;
        }
      }
      Thread.sleep(20);
    }
    return false;
  }

  /**
   * Members, roles, execution groups and their leaders, as this node sees them; with
   * {@code replicaDigests}, also this node's replicas and their state digests; with
   * {@code groupStatus}, each group's status from its leader (a query per group).
   */
  ClusterInfoReply clusterInfo(boolean replicaDigests, boolean groupStatus) {
    gate.checkOpen();
    Topology t = management.topology();
    ClusterInfoReply.Builder reply = ClusterInfoReply.newBuilder()
        .setClusterId(options.clusterId()).setNodeId(raft.nodeId())
        .setManagementLeader(host.leaderNode(managementGroupId));
    for (NodeRecord n : t.getNodesList()) {
      reply.addNodes(NodeInfo.newBuilder().setNodeId(n.getNodeId()).setRaftAddress(n.getRaftAddress())
          .setApiAddress(n.getApiAddress()).setRole(switch (n.getRole()) {
            case VOTER -> ManagementRole.VOTER;
            case LISTENER -> ManagementRole.LISTENER;
            case JOINING -> ManagementRole.JOINING;
            default -> ManagementRole.MANAGEMENT_ROLE_UNSPECIFIED;
          }));
    }
    // Every group is asked at once, each bounded by STATUS_TIMEOUT: one silent group must not
    // hold the view back by a request timeout per group.
    List<CompletableFuture<ExecutionGroupInfo>> groups = t.getExecutionGroupsList().stream()
        .map(g -> CompletableFuture.supplyAsync(() -> groupInfo(g, groupStatus), FAN_OUT)).toList();
    groups.forEach(g -> reply.addExecutionGroups(g.join()));
    t.getRemovedList().forEach(r -> reply.addRemovedNodes(RemovedNodeInfo.newBuilder().setNodeId(r.getNodeId())
        .setRaftAddress(r.getRaftAddress()).setApiAddress(r.getApiAddress()).setRemovedAtMillis(r.getRemovedAtMillis())
        .setReason(r.getReason())));
    if (replicaDigests) {
      hosting.all().forEach((gid, g) -> reply.addReplicas(ReplicaInfo.newBuilder().setGroupId(gid.uuid().toString())
        .setAppliedIndex(Math.max(0, g.stateMachine().appliedIndex())).setWorkflows(g.state().size()).setDigest(g.state().digest())));
    }
    return reply.build();
  }

  /**
   * A group as the topology records it (members, open, merge, preferred leader) and as its leader
   * reports it (GroupStatus: leader, running workflows, commit index, each member's lag). A group
   * that does not answer within {@link #STATUS_TIMEOUT} keeps those at 0 / empty; its leader is
   * then what this node knows of it. A retired group has no members to ask. Without
   * {@code groupStatus}, the leader is what a ping of the group says and the running workflows
   * are those last reported to the management group.
   */
  private ExecutionGroupInfo groupInfo(ExecutionGroupRecord g, boolean groupStatus) {
    GroupId gid = GroupId.of(UUID.fromString(g.getGroupId()));
    ExecutionGroupInfo.Builder info = ExecutionGroupInfo.newBuilder().setGroupId(g.getGroupId()).setIndex(g.getIndex())
        .addAllMembers(g.getMembersList()).addAllRaftMembers(raftMembers(gid)).setOpen(g.getOpen())
        .setMergedInto(g.getMergedInto()).setMergeTarget(g.getMergeTarget()).setPreferredLeader(g.getPreferredLeader());
    if (!g.getMergedInto().isEmpty()) {
      return info.build();
    }
    if (!groupStatus) {
      return info.setLeaderNode(leaderOf(gid)).setRunningWorkflows(g.getRunningWorkflows()).build();
    }
    try {
      GroupStatus status = routing.query(gid, Query.newBuilder().setStatus(true).build(), STATUS_TIMEOUT).getStatus();
      info.setLeaderNode(status.getLeaderNode()).setRunningWorkflows(status.getRunningWorkflows())
          .setCommitIndex(status.getCommitIndex());
      status.getMembersList().forEach(m -> info.addMemberLag(MemberLag.newBuilder().setNodeId(m.getNodeId())
          .setMatchIndex(m.getMatchIndex()).setLagEntries(m.getLagEntries()).setMillisSinceContact(m.getMillisSinceContact())));
    } catch (Errors.UnavailableException e) {
      LOG.debug("node {}: group {} did not report its status", raft.nodeId(), gid, e);
      // A leader that answers other queries but not this one (a node of an older version) is
      // still named; a group that timed out is not asked again.
      info.setLeaderNode(e.getCause() instanceof TimeoutException ? localLeader(gid) : leaderOf(gid));
    }
    return info.build();
  }

  private long localLeader(GroupId gid) {
    return hosting.hosts(gid) ? host.leaderNode(gid) : 0;
  }

  /** The group's Raft configuration: from this node's division, else as the group reports it. */
  private List<Long> raftMembers(GroupId gid) {
    var conf = hosting.hosts(gid) ? host.configuration(gid) : null;
    if (conf != null) {
      return conf.voters().stream().sorted().toList();
    }
    java.util.Set<Long> voters = host.voters(gid);
    return voters == null ? List.of() : List.copyOf(voters);
  }

  /** The group's leader: known locally for hosted groups, else the server that answers a ping. */
  private long leaderOf(GroupId gid) {
    if (hosting.hosts(gid)) {
      return host.leaderNode(gid);
    }
    try {
      return routing.queryReply(gid, Query.newBuilder().setPing(true).build(), STATUS_TIMEOUT).serverNode();
    } catch (Errors.UnavailableException e) {
      return 0;
    }
  }

  /**
   * Registers a joining node (allocating its id from the replicated counter) through the
   * management group; this node forwards to the management leader. A join is not a leader
   * decision: the apply rules decide on the committed topology (id, raft address, incarnation).
   *
   * @throws Errors.InvalidArgumentException for another cluster id, a malformed address, no
   *     incarnation, or a restart with another raft address
   * @throws Errors.NodeRemovedException when the cluster removed the joining node
   */
  JoinReply join(JoinRequest request) {
    gate.checkServing();
    checkCluster(request.getClusterId());
    checkAddress("raft address", request.getRaftAddress());
    if (!request.getApiAddress().isEmpty()) {
      checkAddress("api address", request.getApiAddress());
    }
    if (request.getIncarnation().isBlank()) {
      throw new Errors.InvalidArgumentException("a join needs the incarnation of the joiner's identity");
    }
    ManagementResult result = submitManagement(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder()
        .setRaftAddress(request.getRaftAddress()).setApiAddress(request.getApiAddress()).setNodeId(request.getNodeId())
        .setIncarnation(request.getIncarnation()).setAtMillis(System.currentTimeMillis())).build());
    if (!result.getApplied()) {
      switch (result.getRefusal()) {
        case REFUSAL_NOT_BOOTSTRAPPED ->
            throw new Errors.UnavailableException("the cluster is not ready for joins yet: " + result.getError(), null);
        case REFUSAL_NODE_REMOVED ->
            throw new Errors.NodeRemovedException(removedMessage(options.clusterId(), result.getRemoved()) + ". " + JOIN_ADVICE);
        default -> throw new Errors.InvalidArgumentException("the cluster refused the join: " + result.getError());
      }
    }
    JoinReply.Builder reply = JoinReply.newBuilder().setNodeId(result.getValue()).setClusterId(options.clusterId());
    for (NodeRecord n : management.topology().getNodesList()) {
      if (n.getRole() == Role.VOTER || n.getRole() == Role.LISTENER) {
        reply.addMembers(NodeInfo.newBuilder().setNodeId(n.getNodeId()).setRaftAddress(n.getRaftAddress()).setApiAddress(n.getApiAddress()));
      }
    }
    if (request.getNodeId() == 0) {
      LOG.info("node {}: registered node {} at {}", raft.nodeId(), result.getValue(), request.getRaftAddress());
    }
    awaitAddressLeftManagement(request.getRaftAddress(), result.getValue());
    return reply.build();
  }

  /**
   * A wiped node that rejoins on its old raft address gets a new id; its old id leaves the Raft
   * configurations first. Ratis routes messages by group, not by peer id, so while the old id is a
   * peer the leader's messages for it would reach the new node: it may start only after that.
   *
   * @throws Errors.UnavailableException when the old id has not left within a few seconds (the
   *     joiner asks again; its registration stands)
   */
  private void awaitAddressLeftManagement(String raftAddress, long newId) {
    long deadline = ServingGate.deadlineAfter(Duration.ofSeconds(10));
    while (host.peersAt(managementGroupId, raftAddress).stream().anyMatch(id -> id != newId)) {
      if (System.nanoTime() - deadline > 0) {
        throw new Errors.UnavailableException("the node that had raft address " + raftAddress + " before is still leaving "
            + "the management group; ask again shortly", null);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Errors.UnavailableException("interrupted while the previous node at " + raftAddress + " leaves", e);
      }
    }
  }

  /** What a node the cluster removed is told, and logs: when and why (without what to do). */
  static String removedMessage(String clusterId, RemovedNode removed) {
    String at = removed.getRemovedAtMillis() > 0 ? " at " + Instant.ofEpochMilli(removed.getRemovedAtMillis()) : "";
    return "node " + removed.getNodeId() + " was removed from cluster " + clusterId + at + " (" + removed.getReason()
        + "); its replicas are stale";
  }

  /**
   * Whether a node is still a member, from this node's applied topology (no Raft round trip).
   *
   * @throws Errors.InvalidArgumentException for another cluster id
   */
  NodeStatusReply status(NodeStatusRequest request) {
    gate.checkOpen();
    checkCluster(request.getClusterId());
    Topology t = management.topology();
    NodeStatusReply.Builder reply = NodeStatusReply.newBuilder().setClusterId(options.clusterId()).setAnsweredBy(raft.nodeId());
    RemovedNode removed = ManagementState.removal(t, request.getNodeId());
    if (removed != null) {
      return reply.setMembership(NodeMembership.NODE_REMOVED).setRemovedAtMillis(removed.getRemovedAtMillis())
          .setReason(removed.getReason()).build();
    }
    boolean member = t.getNodesList().stream().anyMatch(n -> n.getNodeId() == request.getNodeId());
    return reply.setMembership(member ? NodeMembership.NODE_MEMBER : NodeMembership.NODE_UNKNOWN).build();
  }

  /**
   * Takes back the registration of a node whose start failed after it registered (it never
   * ran); the node's own incarnation must match.
   */
  LeaveReply leave(LeaveRequest request) {
    gate.checkOpen();
    checkCluster(request.getClusterId());
    ManagementResult result = submitManagement(ManagementCommand.newBuilder().setLeaveCluster(LeaveCluster.newBuilder()
        .setNodeId(request.getNodeId()).setIncarnation(request.getIncarnation()).setReason(request.getReason())
        .setAtMillis(System.currentTimeMillis())).build());
    if (result.getApplied()) {
      LOG.info("node {}: node {} took back its registration: {}", raft.nodeId(), request.getNodeId(), request.getReason());
    }
    return LeaveReply.newBuilder().setLeft(result.getApplied()).build();
  }

  private void checkCluster(String clusterId) {
    if (!clusterId.isEmpty() && !clusterId.equals(options.clusterId())) {
      throw new Errors.InvalidArgumentException("this node belongs to cluster '" + options.clusterId() + "', not '" + clusterId + "'");
    }
  }

  private static void checkAddress(String what, String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    try {
      int port = Integer.parseInt(hostPort.substring(colon + 1));
      if (colon <= 0 || port < 1 || port > 65535) {
        throw new NumberFormatException();
      }
    } catch (RuntimeException e) {
      throw new Errors.InvalidArgumentException(what + " '" + hostPort + "' is not host:port");
    }
  }

  /** This node's removal as its applied topology records it, or null while that says nothing of one. */
  RemovedNode removalInTopology() {
    return ManagementState.removal(management.topology(), raft.nodeId());
  }

  /** How long ago this node last heard from its management group's leader (0 while it leads). */
  long millisSinceManagementLeader() {
    return host.millisSinceLeaderContact(managementGroupId);
  }
}
