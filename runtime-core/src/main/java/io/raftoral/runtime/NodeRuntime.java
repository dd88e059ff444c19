package io.raftoral.runtime;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.raftoral.common.Errors;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.proto.client.JoinReply;
import io.raftoral.proto.client.JoinRequest;
import io.raftoral.proto.client.LeaveReply;
import io.raftoral.proto.client.LeaveRequest;
import io.raftoral.proto.client.ManagementRole;
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
import io.raftoral.proto.raft.AwaitWorkflow;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandBatch;
import io.raftoral.proto.raft.ListWorkflows;
import io.raftoral.proto.raft.PruneWorkflows;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.Refused;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.proto.raft.WorkflowTerminate;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.GroupIds;
import io.raftoral.raft.GroupPeers;
import io.raftoral.raft.GroupStateMachine;
import io.raftoral.raft.ManagementStateMachine;
import io.raftoral.raft.RaftReply;
import io.raftoral.raft.WorkflowStateMachine;
import io.raftoral.raft.Proposer;
import io.raftoral.raft.RaftHost;
import io.raftoral.raft.RaftSettings;
import io.raftoral.state.ManagementState;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything one node runs: the Raft host with the management group and the execution groups
 * this node is a member of, their runtimes, the membership controller, and the client calls
 * (start, await, describe, list, terminate), which reach any execution group, hosted here or
 * not. The public facade is {@link io.raftoral.api.RaftoralNode}.
 */
public final class NodeRuntime implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NodeRuntime.class);
  private static final Duration LEADER_WAIT = Duration.ofSeconds(10);
  private static final Duration REMOTE_AWAIT_POLL = Duration.ofSeconds(2);
  // How long a leadership hand-off (a clean stop, a transfer) waits for the side effects running
  // here to propose their results, so that the new owner does not run them again.
  private static final Duration HANDOFF_DRAIN = Duration.ofSeconds(10);

  /** What a node needs beyond its Raft settings. */
  public record Options(
      String clusterId,
      int executionGroups,
      Payloads payloads,
      Duration requestTimeout,
      int maxInFlight,
      int maxBatchBytes,
      int maxVoters,
      int targetGroupSize,
      Duration nodeFailureTimeout,
      String apiAddress,
      Duration retention,
      Duration batchLinger,
      // The random token of this node's identity, sent with its joins (see ManagementState).
      String incarnation) {}

  /** How this node enters its cluster. */
  public enum Entry {
    /** Form the cluster from the member list of the settings (every member starts alike). */
    BOOTSTRAP,
    /** Registered with a running cluster; wait for its management leader to add this node. */
    JOIN,
    /** Restarted with a data directory: every group comes back from storage. */
    RECOVER
  }

  private final RaftSettings raft;
  private final Options options;
  private final WorkflowRegistry registry;
  private final ExecutorService executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("raftoral-wf-", 0).factory());
  private final GroupId managementGroupId;
  private final ManagementStateMachine management = new ManagementStateMachine();
  private final Map<GroupId, GroupRuntime> hosted = new ConcurrentHashMap<>();
  // State machines Ratis asked for while the host was being built (groups recovered from storage).
  private final Map<GroupId, WorkflowStateMachine> unattached = new HashMap<>();
  // Proposers for execution groups this node is not a member of: commands go to their leader.
  private final Map<GroupId, Proposer> remote = new ConcurrentHashMap<>();
  // The execution groups of the bootstrap configuration, until the topology is applied.
  private final List<GroupId> bootstrapGroups = new ArrayList<>();
  private final AtomicBoolean reconcilePending = new AtomicBoolean();
  private volatile RaftHost host;
  private final MembershipController membership;
  private final NodeHealth health;
  private volatile Runnable recovery;
  private volatile boolean closed;
  // Set once the cluster removed this node: every client call then fails with this message.
  private volatile String removedMessage;

  public NodeRuntime(RaftSettings raft, Options options, WorkflowRegistry registry) throws IOException {
    this.raft = raft;
    this.options = options;
    this.registry = registry;
    this.managementGroupId = GroupIds.management(options.clusterId());
    for (int i = 0; i < options.executionGroups(); i++) {
      bootstrapGroups.add(GroupIds.execution(options.clusterId(), i));
    }
    RaftHost.StateMachines stateMachines = this::stateMachineFor;
    this.host = new RaftHost(raft, stateMachines);
    // Building the Ratis server already asked for the state machines of the groups in its
    // storage (a restart), before the host existed: give them their runtimes now.
    synchronized (unattached) {
      unattached.forEach((gid, machine) -> hosted.put(gid, newGroupRuntime(gid, machine)));
      unattached.clear();
    }
    this.membership = new MembershipController(raft.nodeId(), host, management, managementGroupId, options, this::propose);
    List<DiskWatch> disks = new ArrayList<>(List.of(new DiskWatch(raft.storageDir(), NodeHealth.MIN_FREE_BYTES)));
    if (!raft.stateDir().equals(raft.storageDir())) {
      disks.add(new DiskWatch(raft.stateDir(), 0));
    }
    this.health = new NodeHealth(raft.nodeId(), disks, this::replicaFault, Duration.ofSeconds(1), new NodeHealth.Reaction() {
      @Override
      public void faulted(String why) {
        LOG.error("node {}: {}; it stops serving clients and hands the leadership of its groups to others until this is "
            + "fixed, then resumes by itself", raft.nodeId(), why);
        forEachGroup(gid -> {
          host.pauseElections(gid, true);
          host.stepDown(gid, raft.electionTimeoutMax().toMillis() * 2);
        });
      }

      @Override
      public boolean recovered(String was) {
        LOG.warn("node {}: recovered ({} no longer holds)", raft.nodeId(), was);
        Runnable restart = recovery;
        if (restart != null) {
          restart.run();
          return false;
        }
        forEachGroup(gid -> host.pauseElections(gid, false));
        return true;
      }

      @Override
      public boolean restarts() {
        return recovery != null;
      }
    });
    management.setListener(t -> scheduleLocalReconcile(), membership::wake);
  }

  /**
   * Ratis asks for the state machine of every group it hosts, also those recovered from storage.
   * Its own lock: Ratis may call this on its threads while {@link #reconcileLocalGroups} waits for
   * a group to be added.
   */
  private GroupStateMachine stateMachineFor(GroupId gid) {
    if (gid.equals(managementGroupId)) {
      return management;
    }
    synchronized (unattached) {
      GroupRuntime g = hosted.get(gid);
      if (g != null) {
        return g.stateMachine();
      }
      WorkflowStateMachine machine = new WorkflowStateMachine(command -> admit(gid, command), raft.stateDir());
      if (host == null) {
        unattached.put(gid, machine);
      } else {
        hosted.put(gid, newGroupRuntime(gid, machine));
      }
      return machine;
    }
  }

  private GroupRuntime newGroupRuntime(GroupId gid, WorkflowStateMachine machine) {
    return new GroupRuntime(gid, raft.nodeId(), host, machine, registry, options.payloads(), executor, newProposer(gid),
        new Proposer(data -> host.submitLocal(gid, data), 1, options.maxBatchBytes()));
  }

  private Proposer newProposer(GroupId gid) {
    long linger = options.batchLinger().toNanos();
    return new Proposer(data -> host.submit(gid, data), options.maxInFlight(), options.maxBatchBytes(),
        linger == 0 ? null : CompletableFuture.delayedExecutor(linger, TimeUnit.NANOSECONDS));
  }

  public void start(Entry entry) throws IOException {
    List<GroupPeers> toHost = new ArrayList<>();
    switch (entry) {
      case BOOTSTRAP -> {
        toHost.add(RaftHost.group(managementGroupId, raft.members()));
        bootstrapGroups.forEach(gid -> toHost.add(RaftHost.group(gid, raft.members())));
      }
      case JOIN -> {
        // Known peers let this node reach the management leader; its own division starts with
        // an empty configuration until the leader adds it.
        host.knowPeers(RaftHost.group(managementGroupId, raft.members()));
        toHost.add(RaftHost.group(managementGroupId, Map.of()));
      }
      case RECOVER -> {}
    }
    host.start(toHost);
    if (entry == Entry.BOOTSTRAP) {
      // Bounded: a node whose peers are not up yet still starts, and catches up when they are.
      try {
        List<GroupId> all = new ArrayList<>(bootstrapGroups);
        all.add(managementGroupId);
        if (!host.awaitLeaders(all, LEADER_WAIT)) {
          LOG.info("node {}: started before every group elected a leader (are the other members up?)", raft.nodeId());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      executor.execute(this::recordBootstrapTopology);
    }
    membership.start();
    health.start();
    Thread.ofVirtual().name("raftoral-retention-" + raft.nodeId()).start(this::sweepRetention);
  }

  /**
   * Retention (SPEC §6): the owner of each hosted group proposes {@code PruneWorkflows} with a
   * cut-off of now minus the retention when some finished workflow ended before it. The cut-off
   * travels in the command, so every replica removes the same workflows.
   */
  private void sweepRetention() {
    long periodMillis = Math.clamp(options.retention().toMillis() / 4, 50, 60_000);
    while (!closed) {
      try {
        Thread.sleep(periodMillis);
      } catch (InterruptedException e) {
        return;
      }
      long cutoff = System.currentTimeMillis() - options.retention().toMillis();
      for (GroupRuntime g : hosted.values()) {
        var owner = g.ownership();
        if (!closed && owner != null && g.state().hasPrunable(cutoff)) {
          try {
            Proposer.Outcome outcome = await(g.propose(Command.newBuilder()
                .setPruneWorkflows(PruneWorkflows.newBuilder().setEndedBeforeMillis(cutoff).setOwnerTerm(owner.term())).build()), "pruning");
            LOG.debug("group {}: pruned {} workflows that ended before {}", g.groupId(), outcome.result().getPruned(), cutoff);
          } catch (RuntimeException e) {
            LOG.debug("group {}: pruning failed; retrying later", g.groupId(), e);
          }
        }
      }
    }
  }

  /** Null when every hosted replica applies its entries, else which one stopped and why. */
  private String replicaFault() {
    for (GroupRuntime g : hosted.values()) {
      Exception halted = g.stateMachine().halted();
      if (halted != null) {
        return "its replica of group " + g.groupId() + " stopped applying entries (" + halted + ")";
      }
    }
    return null;
  }

  private void forEachGroup(java.util.function.Consumer<GroupId> action) {
    for (GroupId gid : host.hostedGroups()) {
      try {
        action.accept(gid);
      } catch (RuntimeException e) {
        LOG.debug("node {}: acting on group {} failed", raft.nodeId(), gid, e);
      }
    }
  }

  /** Records the bootstrap topology in the management group; the first one applied wins. */
  private void recordBootstrapTopology() {
    Topology.Builder topology = Topology.newBuilder().setClusterId(options.clusterId());
    raft.sortedMembers().forEach((id, address) -> topology.addNodes(NodeRecord.newBuilder()
        .setNodeId(id).setRaftAddress(address).setRole(Role.VOTER)
        .setApiAddress(id == raft.nodeId() && options.apiAddress() != null ? options.apiAddress() : "")
        .setIncarnation(id == raft.nodeId() ? options.incarnation() : ""))); // the others record theirs when they restart
    for (int i = 0; i < bootstrapGroups.size(); i++) {
      topology.addExecutionGroups(ExecutionGroupRecord.newBuilder()
          .setIndex(i).setGroupId(bootstrapGroups.get(i).uuid().toString())
          .addAllMembers(raft.sortedMembers().keySet()).addAllInitialMembers(raft.sortedMembers().keySet()));
    }
    try {
      submitManagement(ManagementCommand.newBuilder().setBootstrap(topology).build());
    } catch (RuntimeException e) {
      if (!closed) {
        LOG.warn("node {}: recording the topology failed", raft.nodeId(), e);
      }
    }
  }

  ManagementResult submitManagement(ManagementCommand command) {
    RaftReply reply = await(host.submit(managementGroupId, command.toByteArray()),
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

  public Topology topology() {
    return management.topology();
  }

  public long nodeId() {
    return raft.nodeId();
  }

  /** The incarnation of this node's identity (sent with its joins). */
  public String incarnation() {
    return options.incarnation();
  }

  /** This node's raft address. */
  public String raftAddress() {
    return raft.address();
  }

  public String clusterId() {
    return options.clusterId();
  }

  // --- following the topology: host the groups this node is placed in ---

  private void scheduleLocalReconcile() {
    if (!closed && reconcilePending.compareAndSet(false, true)) {
      executor.execute(() -> {
        reconcilePending.set(false);
        reconcileLocalGroups(management.topology());
      });
    }
  }

  /** Hosts every execution group the topology places this node in, and tells clients where groups live. */
  private synchronized void reconcileLocalGroups(Topology t) {
    if (closed) {
      return;
    }
    Map<Long, String> addresses = new HashMap<>();
    Map<Long, String> managementPeers = new HashMap<>();
    for (NodeRecord n : t.getNodesList()) {
      addresses.put(n.getNodeId(), n.getRaftAddress());
      if (n.getRole() == Role.VOTER || n.getRole() == Role.LISTENER) {
        managementPeers.put(n.getNodeId(), n.getRaftAddress());
      }
    }
    if (!managementPeers.isEmpty()) {
      host.knowPeers(RaftHost.group(managementGroupId, managementPeers));
    }
    for (ExecutionGroupRecord g : t.getExecutionGroupsList()) {
      GroupId gid = GroupId.of(UUID.fromString(g.getGroupId()));
      Map<Long, String> members = new LinkedHashMap<>();
      g.getMembersList().forEach(m -> members.put(m, addresses.get(m)));
      if (!members.isEmpty() && !members.containsValue(null)) {
        host.knowPeers(RaftHost.group(gid, members));
      }
      // A replica of a group this node is no longer in is kept, never deleted here: a restarted
      // node replays intermediate topologies (before it was placed), and deleting on those would
      // throw away good replicas. A stale one is harmless and is caught up if placed again.
      if (g.getMembersList().contains(raft.nodeId()) && !host.hosts(gid)) {
        try {
          if (g.getInitialMembersList().contains(raft.nodeId())) {
            Map<Long, String> initial = new LinkedHashMap<>();
            g.getInitialMembersList().forEach(m -> initial.put(m, addresses.getOrDefault(m, "")));
            host.host(RaftHost.group(gid, initial));
          } else {
            host.host(RaftHost.group(gid, Map.of()));
          }
          LOG.info("node {}: now a member of execution group {} ({})", raft.nodeId(), g.getIndex(), gid);
        } catch (IOException e) {
          LOG.warn("node {}: cannot host execution group {}", raft.nodeId(), g.getIndex(), e);
        }
      }
    }
  }

  /** Waits until the applied topology lists this node as a voter or listener of the management group. */
  public boolean awaitAdmitted(Duration timeout) throws InterruptedException {
    long deadline = deadlineAfter(timeout);
    while (System.nanoTime() < deadline && !closed) {
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
   * Leader-side admission, for the command alone: a start of a type this node cannot run, or
   * with an input that type's codec cannot decode (SPEC §2, §12); an ownership claim that is not
   * this leader's own for the term it leads in (a forwarded or replayed claim: every decision
   * carries its term, and only the leader of that term claims in it).
   */
  private Refused admit(GroupId gid, Command command) {
    return switch (command.getKindCase()) {
      case WORKFLOW_START -> admitStart(command.getWorkflowStart());
      case OWNER_CHANGE -> {
        var claim = command.getOwnerChange();
        long term = host.leaderTerm(gid);
        yield claim.getOwnerNode() == raft.nodeId() && claim.getClaimantTerm() == term && term != 0 ? null
            : Refused.newBuilder().setCode(ResultCode.STALE_OWNER).setMessage("an ownership claim of node "
                + claim.getOwnerNode() + " for term " + claim.getClaimantTerm() + " reached node " + raft.nodeId()
                + ", which leads in term " + term + ": only a leader claims, for its own term").build();
      }
      default -> null;
    };
  }

  private Refused admitStart(WorkflowStart s) {
    WorkflowType type;
    WorkflowDefinition<?, ?> definition;
    try {
      type = new WorkflowType(s.getType(), s.getVersion());
      definition = registry.find(type);
    } catch (RuntimeException e) {
      return refusal(ResultCode.NOT_REGISTERED, s, String.valueOf(e.getMessage()));
    }
    if (definition == null) {
      return refusal(ResultCode.NOT_REGISTERED, s, "workflow " + type + " is not registered on node " + raft.nodeId()
          + ", which leads the group that would run it");
    }
    try {
      options.payloads().decode(s.getInput().toByteArray(), definition.inputType());
    } catch (RuntimeException e) {
      String why = String.valueOf(e.getMessage());
      return refusal(ResultCode.INVALID_INPUT, s, "the input of workflow " + s.getWorkflowId() + " is not a valid input of "
          + type + ": " + (why.length() > 300 ? why.substring(0, 300) + "..." : why));
    }
    return null;
  }

  private static Refused refusal(ResultCode code, WorkflowStart s, String message) {
    return Refused.newBuilder().setCode(code).setWorkflowId(s.getWorkflowId()).setType(s.getType())
        .setVersion(s.getVersion()).setMessage(message).build();
  }

  // --- routing: which group, and how to reach it ---

  /** The execution groups in index order: from the topology once known, else the bootstrap ones. */
  List<GroupId> executionGroupIds() {
    Topology t = management.topology();
    if (t.getExecutionGroupsCount() == 0) {
      return bootstrapGroups;
    }
    return t.getExecutionGroupsList().stream()
        .sorted(Comparator.comparingInt(ExecutionGroupRecord::getIndex))
        .map(g -> GroupId.of(UUID.fromString(g.getGroupId())))
        .toList();
  }

  /**
   * The groups starts are routed over, in index order: the open ones (a group created later is
   * opened only once the others refuse starts routed without it), or the bootstrap ones before
   * the topology is known.
   */
  List<GroupId> openGroupIds() {
    Topology t = management.topology();
    if (t.getExecutionGroupsCount() == 0) {
      return bootstrapGroups;
    }
    return t.getExecutionGroupsList().stream()
        .filter(ExecutionGroupRecord::getOpen)
        .sorted(Comparator.comparingInt(ExecutionGroupRecord::getIndex))
        .map(g -> GroupId.of(UUID.fromString(g.getGroupId())))
        .toList();
  }

  /**
   * The group a new workflow id goes to: a stable hash over the open groups. Groups are only ever
   * added, so an id may have been started in another group before; lookups search them all.
   */
  GroupId primaryGroup(String workflowId) {
    return primaryGroup(workflowId, openGroupIds());
  }

  private GroupId primaryGroup(String workflowId, List<GroupId> open) {
    if (open.isEmpty()) {
      throw new Errors.UnavailableException("node " + raft.nodeId() + " does not know the cluster's execution groups yet", null);
    }
    return open.get(Math.floorMod(workflowId.hashCode(), open.size()));
  }

  CompletableFuture<Proposer.Outcome> propose(GroupId gid, Command command) {
    GroupRuntime g = hosted.get(gid);
    if (g != null) {
      return g.propose(command);
    }
    return remote.computeIfAbsent(gid, this::newProposer).propose(command);
  }

  private record Located(GroupId group, WorkflowRecord record) {}

  /** Finds a workflow in its primary group first, then in the others. */
  private Located locate(String workflowId) {
    RuntimeException unreachable = null;
    for (GroupId gid : searchOrder(workflowId, executionGroupIds())) {
      try {
        WorkflowRecord r = recordIn(gid, workflowId);
        if (r != null) {
          return new Located(gid, r);
        }
      } catch (Errors.UnavailableException e) {
        unreachable = e;
      }
    }
    if (unreachable != null) {
      throw unreachable;
    }
    throw new Errors.WorkflowNotFoundException(workflowId);
  }

  /** The id's primary group first, then the other groups of {@code groups}. */
  private List<GroupId> searchOrder(String workflowId, java.util.Collection<GroupId> groups) {
    GroupId primary = primaryGroup(workflowId);
    List<GroupId> order = new ArrayList<>();
    order.add(primary);
    groups.stream().filter(g -> !g.equals(primary)).forEach(order::add);
    return order;
  }

  /**
   * The workflow from a replica here that holds it still running, or null. Waiting for its end
   * then needs no leader: the replica applies the end as the leader does. (A final status here
   * is not trusted without the leader: this replica may be behind a prune and a new start.)
   */
  private Located runningHere(String workflowId) {
    for (GroupId gid : searchOrder(workflowId, hosted.keySet())) {
      GroupRuntime local = hosted.get(gid);
      var w = local == null ? null : local.state().get(workflowId);
      if (w != null && w.isRunning()) {
        return new Located(gid, w.toRecord());
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
  private WorkflowRecord recordIn(GroupId gid, String workflowId) {
    GroupRuntime local = hosted.get(gid);
    if (local != null && host.isLeader(gid)) {
      var w = local.state().get(workflowId);
      return w == null ? null : w.toRecord();
    }
    try {
      QueryReply answer = query(gid, Query.newBuilder().setDescribeWorkflowId(workflowId).build(), options.requestTimeout());
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

  private QueryReply query(GroupId gid, Query query, Duration timeout) {
    RaftReply reply = queryReply(gid, query, timeout);
    try {
      return QueryReply.parseFrom(reply.message());
    } catch (InvalidProtocolBufferException e) {
      throw new Errors.UnavailableException("unreadable query reply from group " + gid, e);
    }
  }

  private RaftReply queryReply(GroupId gid, Query query, Duration timeout) {
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
    } catch (ExecutionException | TimeoutException e) {
      throw new Errors.UnavailableException("group " + gid + " did not answer within " + timeout, e);
    }
  }

  // --- client calls ---

  public record Started(String workflowId, String executionGroup) {}

  public Started start(WorkflowType type, byte[] input, String workflowId) {
    checkServing();
    String id = workflowId == null ? UUID.randomUUID().toString() : checkWorkflowId(workflowId);
    options.payloads().check("input of workflow " + id, input);
    // Whether the type is registered is the owner's to say (SPEC §2): the group's leader refuses
    // a start of a type it cannot run, at admission, for that start alone.
    long deadline = deadlineAfter(options.requestTimeout());
    while (true) {
      List<GroupId> open = openGroupIds();
      GroupId group = primaryGroup(id, open);
      if (workflowId != null && executionGroupIds().size() > 1) {
        // An explicit id may have been started while there were fewer groups.
        Started earlier = startedElsewhere(id, group, type, input);
        if (earlier != null) {
          return earlier;
        }
      }
      Command command = Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder()
          .setWorkflowId(id).setType(type.name()).setVersion(type.version()).setPlacement(open.size())
          .setInput(ByteString.copyFrom(input)).setStartedAtMillis(System.currentTimeMillis())).build();
      Proposer.Outcome outcome = await(propose(group, command), "start of workflow " + id);
      switch (outcome.result().getCode()) {
        case APPLIED, ALREADY_STARTED -> {}
        case CONFLICT -> throw new Errors.AlreadyExistsException(id);
        case NOT_REGISTERED -> throw new Errors.NotRegisteredException(type);
        case INVALID_INPUT -> throw new Errors.InvalidArgumentException(outcome.result().getMessage());
        case MOVED -> {
          // This node routed over fewer groups than the cluster has opened: route again once its
          // topology has caught up (the group refused, so the id was not started there).
          awaitOpenGroups(open.size() + 1, deadline, id);
          continue;
        }
        default -> throw new IllegalStateException("unexpected start outcome " + outcome.result());
      }
      readYourWrite(group, outcome.logIndex());
      return new Started(id, group.uuid().toString());
    }
  }

  /** Waits until this node's topology routes over at least {@code count} groups. */
  private void awaitOpenGroups(int count, long deadlineNanos, String workflowId) {
    while (openGroupIds().size() < count) {
      checkServing();
      if (System.nanoTime() - deadlineNanos > 0) {
        throw new Errors.UnavailableException("the start of workflow " + workflowId + " was routed over the execution groups "
            + "node " + raft.nodeId() + " knows, but the cluster has opened more and this node has not caught up within "
            + options.requestTimeout() + "; retry, or start it through another node", null);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Errors.UnavailableException("interrupted while catching up with the cluster's execution groups", e);
      }
    }
  }

  private Started startedElsewhere(String id, GroupId primary, WorkflowType type, byte[] input) {
    for (GroupId gid : executionGroupIds()) {
      if (gid.equals(primary)) {
        continue;
      }
      WorkflowRecord r = recordIn(gid, id);
      if (r != null) {
        if (r.getType().equals(type.name()) && r.getVersion() == type.version() && r.getInput().equals(ByteString.copyFrom(input))) {
          return new Started(id, gid.uuid().toString());
        }
        throw new Errors.AlreadyExistsException(id);
      }
    }
    return null;
  }

  /** Once a command is committed, this node's replica (when it has one) shows it before the call returns. */
  private void readYourWrite(GroupId gid, long logIndex) {
    GroupRuntime local = hosted.get(gid);
    if (local == null) {
      return;
    }
    long deadline = deadlineAfter(options.requestTimeout());
    try {
      // In slices, so that a node closing (or removed, or in a fault) meanwhile answers at once.
      while (!closed && removedMessage == null && health.fault() == null
          && !local.stateMachine().awaitApplied(logIndex, Math.min(deadline, System.nanoTime() + 200_000_000L))
          && System.nanoTime() - deadline < 0) {
        // the local replica is behind: wait on
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  public WorkflowInfo describe(String workflowId) {
    checkServing();
    Located l = locate(checkWorkflowId(workflowId));
    return toInfo(l.record(), l.group());
  }

  /** A final workflow: its info, and for {@code COMPLETED} the encoded result. */
  public record Outcome(WorkflowInfo info, byte[] result) {}

  /**
   * Waits until the workflow is final, on any node (members wait on their replica, others ask
   * the group). FAILED and TERMINATED are outcomes too, not exceptions.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   * @throws Errors.TimeoutException when the timeout passes first
   */
  public Outcome await(String workflowId, Duration timeout) {
    Located l = awaitLocated(workflowId, timeout);
    return new Outcome(toInfo(l.record(), l.group()), l.record().getResult().toByteArray());
  }

  /** As {@link #await} for the embedding API: the final record. */
  public WorkflowRecord awaitFinal(String workflowId, Duration timeout) {
    return awaitLocated(workflowId, timeout).record();
  }

  private Located awaitLocated(String workflowId, Duration timeout) {
    checkServing();
    long deadline = deadlineAfter(timeout);
    Located l = runningHere(checkWorkflowId(workflowId));
    if (l == null) {
      l = locate(workflowId);
    }
    if (l.record().getStatus() != WorkflowStatusCode.RUNNING) {
      return l;
    }
    GroupRuntime local = hosted.get(l.group());
    try {
      if (local != null && local.state().get(workflowId) != null) {
        local.finalFuture(workflowId).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        var entry = local.state().get(workflowId);
        if (entry == null) {
          throw new Errors.WorkflowNotFoundException(workflowId); // finished and already pruned (retention)
        }
        return new Located(l.group(), entry.toRecord());
      }
      // Not a member: long-poll the group's leader until the workflow is final. A group that is
      // electing a new leader does not answer for a while; that is no reason to give up early.
      Errors.UnavailableException lastError = null;
      while (true) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new Errors.TimeoutException("workflow " + workflowId + " did not finish within " + timeout
              + (lastError == null ? "" : " (last error: " + lastError.getMessage() + ")"));
        }
        long wait = Math.min(TimeUnit.NANOSECONDS.toMillis(left), REMOTE_AWAIT_POLL.toMillis());
        try {
          QueryReply r = query(l.group(), Query.newBuilder().setAwait(AwaitWorkflow.newBuilder()
              .setWorkflowId(workflowId).setWaitMillis(Math.max(1, wait))).build(),
              Duration.ofMillis(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 500, wait + 5000)));
          if (r.getFound() && r.getWorkflow().getStatus() != WorkflowStatusCode.RUNNING) {
            return new Located(l.group(), r.getWorkflow());
          }
        } catch (Errors.UnavailableException e) {
          lastError = e;
          Thread.sleep(100);
        }
        checkOpen();
      }
    } catch (TimeoutException e) {
      throw new Errors.TimeoutException("workflow " + workflowId + " did not finish within " + timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.TimeoutException("interrupted while waiting for workflow " + workflowId);
    } catch (ExecutionException e) {
      throw new Errors.NodeClosedException("node " + raft.nodeId() + " closed while waiting for workflow " + workflowId);
    }
  }

  /** Matching workflows across every execution group, merged in (started-at, id) order and paged. */
  public ListPage list(ListQuery q) {
    checkServing();
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
    for (GroupId gid : executionGroupIds()) {
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
    return new ListPage(page.stream().map(i -> toInfo(i.record(), i.group())).toList(), next);
  }

  private QueryReply listIn(GroupId gid, ListWorkflows filter) {
    GroupRuntime local = hosted.get(gid);
    if (local != null && host.isLeader(gid)) {
      return local.stateMachine().list(filter).build();
    }
    return query(gid, Query.newBuilder().setList(filter).build(), options.requestTimeout());
  }

  /**
   * A {@link System#nanoTime} deadline {@code timeout} from now. A timeout beyond about 73 years
   * (a C caller's INT64_MAX, a gRPC timeout_millis without a deadline) waits "forever" instead of
   * overflowing.
   */
  static long deadlineAfter(Duration timeout) {
    return System.nanoTime() + (timeout.compareTo(FOREVER) >= 0 ? FOREVER.toNanos() : timeout.toNanos());
  }

  private static final Duration FOREVER = Duration.ofNanos(Long.MAX_VALUE >> 2);

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

  /**
   * Commits a {@code WorkflowTerminate}. A finished workflow is left as it is; either way the
   * reply is the workflow's info after the call.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   * @throws Errors.InvalidArgumentException for a blank reason
   */
  public WorkflowInfo terminate(String workflowId, String reason) {
    checkServing();
    checkWorkflowId(workflowId);
    if (reason == null || reason.isBlank()) {
      throw new Errors.InvalidArgumentException("a termination needs a reason");
    }
    if (reason.length() > 4096) {
      throw new Errors.InvalidArgumentException("the termination reason is longer than 4096 characters");
    }
    Located l = locate(workflowId);
    if (l.record().getStatus() != WorkflowStatusCode.RUNNING) {
      return toInfo(l.record(), l.group());
    }
    Command command = Command.newBuilder().setWorkflowTerminate(WorkflowTerminate.newBuilder()
        .setWorkflowId(workflowId).setReason(reason).setAtMillis(System.currentTimeMillis())).build();
    Proposer.Outcome outcome = await(propose(l.group(), command), "termination of workflow " + workflowId);
    switch (outcome.result().getCode()) {
      case APPLIED, FINISHED -> readYourWrite(l.group(), outcome.logIndex());
      case NOT_FOUND -> throw new Errors.WorkflowNotFoundException(workflowId);
      default -> throw new IllegalStateException("unexpected termination outcome " + outcome.result());
    }
    return toInfo(recordIn(l.group(), workflowId), l.group());
  }

  /** Members, roles, execution groups and their leaders, as this node sees them. */
  public ClusterInfoReply clusterInfo() {
    return clusterInfo(false);
  }

  /** As {@link #clusterInfo()}; with {@code replicaDigests}, also this node's replicas and their state digests. */
  public ClusterInfoReply clusterInfo(boolean replicaDigests) {
    checkOpen();
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
    for (ExecutionGroupRecord g : t.getExecutionGroupsList()) {
      GroupId gid = GroupId.of(UUID.fromString(g.getGroupId()));
      reply.addExecutionGroups(ExecutionGroupInfo.newBuilder().setGroupId(g.getGroupId()).setIndex(g.getIndex())
          .addAllMembers(g.getMembersList()).setLeaderNode(leaderOf(gid)).addAllRaftMembers(raftMembers(gid)).setOpen(g.getOpen()));
    }
    t.getRemovedList().forEach(r -> reply.addRemovedNodes(RemovedNodeInfo.newBuilder().setNodeId(r.getNodeId())
        .setRaftAddress(r.getRaftAddress()).setApiAddress(r.getApiAddress()).setRemovedAtMillis(r.getRemovedAtMillis())
        .setReason(r.getReason())));
    if (replicaDigests) {
      hosted.forEach((gid, g) -> reply.addReplicas(ReplicaInfo.newBuilder().setGroupId(gid.uuid().toString())
        .setAppliedIndex(Math.max(0, g.stateMachine().appliedIndex())).setWorkflows(g.state().size()).setDigest(g.state().digest())));
    }
    return reply.build();
  }

  /** The group's Raft configuration: from this node's division, else as the group reports it. */
  private List<Long> raftMembers(GroupId gid) {
    var conf = hosted.containsKey(gid) ? host.configuration(gid) : null;
    if (conf != null) {
      return conf.voters().stream().sorted().toList();
    }
    java.util.Set<Long> voters = host.voters(gid);
    return voters == null ? List.of() : List.copyOf(voters);
  }

  /** The group's leader: known locally for hosted groups, else the server that answers a ping. */
  private long leaderOf(GroupId gid) {
    if (hosted.containsKey(gid)) {
      return host.leaderNode(gid);
    }
    try {
      return queryReply(gid, Query.newBuilder().setPing(true).build(), Duration.ofSeconds(3)).serverNode();
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
  public JoinReply join(JoinRequest request) {
    checkServing();
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
    long deadline = deadlineAfter(Duration.ofSeconds(10));
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

  /**
   * How a removed node comes back by hand. It names --join: a removed node restarted with
   * --bootstrap would start a second cluster under the same name.
   */
  public static final String JOIN_ADVICE = "Restart it with an empty data directory and --join SEED (the api address of a "
      + "running member; not --bootstrap, which would start a second cluster)";

  /** What a node the cluster removed is told, and logs: when and why (without what to do). */
  public static String removedMessage(String clusterId, RemovedNode removed) {
    String at = removed.getRemovedAtMillis() > 0 ? " at " + Instant.ofEpochMilli(removed.getRemovedAtMillis()) : "";
    return "node " + removed.getNodeId() + " was removed from cluster " + clusterId + at + " (" + removed.getReason()
        + "); its replicas are stale";
  }

  /**
   * Whether a node is still a member, from this node's applied topology (no Raft round trip).
   *
   * @throws Errors.InvalidArgumentException for another cluster id
   */
  public NodeStatusReply status(NodeStatusRequest request) {
    checkOpen();
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
  public LeaveReply leave(LeaveRequest request) {
    checkOpen();
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

  // --- this node's own membership ---

  /** This node's removal as its applied topology records it, or null while that says nothing of one. */
  public RemovedNode removalInTopology() {
    return ManagementState.removal(management.topology(), raft.nodeId());
  }

  /** How long ago this node last heard from its management group's leader (0 while it leads). */
  public long millisSinceManagementLeader() {
    return host.millisSinceLeaderContact(managementGroupId);
  }

  /**
   * From now on every client call fails with {@link Errors.NodeRemovedException} carrying
   * {@code message} (also after {@link #close}): the cluster removed this node.
   */
  public void markRemoved(String message) {
    removedMessage = message;
  }

  /** The message of {@link #markRemoved}, or null while this node is not known to be removed. */
  public String removedMessage() {
    return removedMessage;
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

  static WorkflowInfo toInfo(WorkflowRecord r, GroupId group) {
    WorkflowStatus status = switch (r.getStatus()) {
      case RUNNING -> WorkflowStatus.RUNNING;
      case COMPLETED -> WorkflowStatus.COMPLETED;
      case FAILED -> WorkflowStatus.FAILED;
      case TERMINATED -> WorkflowStatus.TERMINATED;
      default -> throw new IllegalStateException("unknown status " + r.getStatus());
    };
    Optional<String> errorMessage = switch (status) {
      case FAILED -> Optional.of(r.getError().getMessage());
      case TERMINATED -> Optional.of(r.getTerminationReason());
      default -> Optional.empty();
    };
    return new WorkflowInfo(r.getWorkflowId(), new WorkflowType(r.getType(), r.getVersion()), status, r.getOwnerNode(),
        group.uuid().toString(), Instant.ofEpochMilli(r.getStartedAtMillis()),
        status.isFinal() ? Optional.of(Instant.ofEpochMilli(r.getEndedAtMillis())) : Optional.empty(),
        r.getCheckpointCount(),
        status == WorkflowStatus.FAILED ? Optional.of(r.getError().getType()) : Optional.empty(),
        errorMessage);
  }

  private <T> T await(CompletableFuture<T> future, String what) {
    try {
      return future.get(options.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.UnavailableException("interrupted during " + what, e);
    } catch (TimeoutException e) {
      throw new Errors.UnavailableException(what + " not committed within " + options.requestTimeout(), e);
    } catch (ExecutionException e) {
      if (closed) {
        throw new Errors.NodeClosedException("node " + raft.nodeId() + " closed during " + what);
      }
      throw new Errors.UnavailableException(what + " failed: " + e.getCause(), e.getCause());
    }
  }

  private static String checkWorkflowId(String workflowId) {
    if (workflowId == null || workflowId.isBlank()) {
      throw new Errors.InvalidArgumentException("workflow id must not be null or blank");
    }
    if (workflowId.length() > 512) {
      throw new Errors.InvalidArgumentException("workflow id is longer than 512 characters");
    }
    return io.raftoral.common.Text.requireWellFormed("workflow id", workflowId);
  }

  /** As {@link #checkOpen}, and refuses workflow calls while the node is in a fault (a full disk). */
  private void checkServing() {
    checkOpen();
    String fault = health.fault();
    if (fault != null) {
      throw new Errors.UnavailableException("node " + raft.nodeId() + " does not serve now: " + fault
          + "; ask another node, or fix this one (it resumes by itself)", null);
    }
  }

  /** Why this node does not serve clients now (closed, or in a fault), or null while it does. */
  public String notServing() {
    return closed ? "node " + raft.nodeId() + " is closed" : health.fault();
  }

  /**
   * What the facade does once a fault has cleared: restart the node on its data directory (a Raft
   * log that failed one write stays failed until its server is restarted). Without one, the node
   * only allows itself to lead again.
   */
  public void onRecovery(Runnable restart) {
    this.recovery = restart;
  }

  private void checkOpen() {
    String removed = removedMessage;
    if (removed != null) {
      throw new Errors.NodeRemovedException(removed);
    }
    if (closed) {
      throw new Errors.NodeClosedException("node " + raft.nodeId() + " is closed");
    }
  }

  // --- for tests and operators ---

  public List<String> executionGroups() {
    return executionGroupIds().stream().map(g -> g.uuid().toString()).toList();
  }

  /** The execution group the workflow lives in (searching every group). */
  public String executionGroupOf(String workflowId) {
    return locate(checkWorkflowId(workflowId)).group().uuid().toString();
  }

  /** Whether this node leads (and so owns) the execution group of {@code workflowId}. */
  public boolean ownsGroupOf(String workflowId) {
    GroupRuntime g = hosted.get(groupOfOrPrimary(workflowId));
    return g != null && g.isOwner();
  }

  /**
   * Moves the leadership of the group {@code workflowId} lives in (or would be started in) to
   * {@code toNode}. When this node leads it, it first lets the side effects running here
   * propose their results ({@link GroupRuntime#handOff}), so none runs again on the new owner.
   */
  public boolean transferLeadership(String workflowId, long toNode, Duration timeout) throws IOException {
    GroupId gid = groupOfOrPrimary(workflowId);
    GroupRuntime g = hosted.get(gid);
    try {
      java.util.function.BooleanSupplier transfer = () -> {
        try {
          return host.transferLeadership(gid, toNode, timeout.toMillis());
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      };
      return g == null ? transfer.getAsBoolean() : g.handOff(HANDOFF_DRAIN, transfer);
    } catch (java.io.UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private GroupId groupOfOrPrimary(String workflowId) {
    try {
      return locate(checkWorkflowId(workflowId)).group();
    } catch (Errors.WorkflowNotFoundException e) {
      return primaryGroup(workflowId);
    }
  }

  public boolean isClosed() {
    return closed;
  }

  /** A command as committed in a group's log, with the Raft term and index of its entry. */
  public record LoggedCommand(long index, long term, Command command) {}

  /** The commands in this node's log of an execution group it hosts, in log order (for tests and tools). */
  public List<LoggedCommand> loggedCommands(String executionGroup) throws IOException {
    List<LoggedCommand> out = new ArrayList<>();
    for (var entry : host.committedEntries(GroupId.of(UUID.fromString(executionGroup)))) {
      CommandBatch batch = CommandBatch.parseFrom(entry.data());
      batch.getCommandsList().forEach(c -> out.add(new LoggedCommand(entry.index(), entry.term(), c)));
    }
    return out;
  }

  /** The digest and size of this node's replica of an execution group (replicas that applied the same log are equal). */
  public record ReplicaState(String digest, int workflows) {}

  public ReplicaState replicaState(String executionGroup) {
    GroupRuntime g = hosted.get(GroupId.of(UUID.fromString(executionGroup)));
    if (g == null) {
      throw new Errors.InvalidArgumentException("node " + raft.nodeId() + " hosts no execution group " + executionGroup);
    }
    return new ReplicaState(g.state().digest(), g.state().size());
  }

  /** The owner and owner term of this node's replica of an execution group. */
  public io.raftoral.state.WorkflowState.Owner replicaOwner(String executionGroup) {
    GroupRuntime g = hosted.get(GroupId.of(UUID.fromString(executionGroup)));
    if (g == null) {
      throw new Errors.InvalidArgumentException("node " + raft.nodeId() + " hosts no execution group " + executionGroup);
    }
    return g.state().owner();
  }

  /** How many checkpoint values this node's replica of the group holds in memory (ended workflows' are released). */
  public long checkpointValuesInMemory(String executionGroup) {
    GroupRuntime g = hosted.get(GroupId.of(UUID.fromString(executionGroup)));
    if (g == null) {
      throw new Errors.InvalidArgumentException("node " + raft.nodeId() + " hosts no execution group " + executionGroup);
    }
    return g.state().checkpointValuesInMemory();
  }

  /** Stops the node: hands off the leadership of every group it leads, then stops its runs and its Raft server. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    health.close();
    membership.close();
    List<GroupId> led = new ArrayList<>(hosted.keySet());
    led.add(managementGroupId);
    long handOffMs = raft.electionTimeoutMax().toMillis() * 2;
    // Every group at once: the drain bound holds for the whole stop, not per group it leads.
    List<Thread> handOffs = new ArrayList<>();
    for (GroupId gid : removedMessage == null ? led : List.<GroupId>of()) { // a removed node leads nothing that matters
      GroupRuntime g = hosted.get(gid);
      handOffs.add(Thread.ofVirtual().name("raftoral-handoff-" + raft.nodeId()).start(() -> {
        if (g != null) {
          g.handOff(HANDOFF_DRAIN, () -> host.handOffLeadership(gid, handOffMs));
        } else {
          host.handOffLeadership(gid, handOffMs);
        }
      }));
    }
    for (Thread t : handOffs) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    closed = true;
    hosted.values().forEach(GroupRuntime::close);
    try {
      host.close();
    } finally {
      executor.shutdownNow();
    }
  }
}
