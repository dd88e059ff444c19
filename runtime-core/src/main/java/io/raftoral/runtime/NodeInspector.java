package io.raftoral.runtime;

import io.raftoral.common.Errors;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandBatch;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.ManagementStateMachine;
import io.raftoral.raft.Proposer;
import io.raftoral.raft.RaftHost;
import io.raftoral.state.WorkflowState;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * What tests, tools and operators look at (and the few levers they pull) inside one node's
 * runtime: its replicas, their logs and owners, where a workflow lives, moving a group's
 * leadership. Not a stable API; {@link io.raftoral.api.RaftoralNode#inspector()} hands it out
 * instead of the runtime. One per runtime: a node that restarted has a new one.
 */
public final class NodeInspector {
  private final NodeRuntime runtime;
  private final long nodeId;
  private final RaftHost host;
  private final ManagementStateMachine management;
  private final GroupHosting hosting;
  private final Routing routing;

  NodeInspector(NodeRuntime runtime, RaftHost host, ManagementStateMachine management, GroupHosting hosting, Routing routing) {
    this.runtime = runtime;
    this.nodeId = runtime.nodeId();
    this.host = host;
    this.management = management;
    this.hosting = hosting;
    this.routing = routing;
  }

  /** The id of the node this runtime runs as. */
  public long nodeId() {
    return nodeId;
  }

  /** Members, roles, execution groups and their leaders, as this node sees them. */
  public ClusterInfoReply clusterInfo() {
    return runtime.clusterInfo();
  }

  /** As {@link #clusterInfo()}, with each group's status from its leader (running workflows, commit index, member lag). */
  public ClusterInfoReply clusterInfoWithGroupStatus() {
    return runtime.clusterInfo(false, true);
  }

  /** Why this node does not serve clients now (closed, or in a fault), or null while it does. */
  public String notServing() {
    return runtime.notServing();
  }

  /** Why the cluster removed this node, or null while it is not known to be removed. */
  public String removedMessage() {
    return runtime.removedMessage();
  }

  /** The execution groups in index order. */
  public List<String> executionGroups() {
    return routing.executionGroupIds().stream().map(g -> g.uuid().toString()).toList();
  }

  /** The execution group the workflow lives in (found from its claim or its id, following merges). */
  public String executionGroupOf(String workflowId) {
    return runtime.executionGroupOf(workflowId);
  }

  /**
   * Whether this node leads (and so owns) the execution group of {@code workflowId}; for an id
   * that was never started, the group {@link #groupOf} names.
   */
  public boolean ownsGroupOf(String workflowId) {
    GroupRuntime g = hosting.get(groupOf(workflowId));
    return g != null && g.isOwner();
  }

  /**
   * Moves the leadership of the group {@code workflowId} lives in ({@link #groupOf}) to
   * {@code toNode}. When this node leads it, it first lets the side effects running here
   * propose their results ({@link GroupRuntime#handOff}), so none runs again on the new owner.
   */
  public boolean transferLeadership(String workflowId, long toNode, Duration timeout) throws IOException {
    return transferGroupLeadership(groupOf(workflowId).uuid().toString(), toNode, timeout);
  }

  /** As {@link #transferLeadership(String, long, Duration)} for an execution group named by its id. */
  public boolean transferGroupLeadership(String executionGroup, long toNode, Duration timeout) throws IOException {
    GroupId gid = GroupId.of(UUID.fromString(executionGroup));
    GroupRuntime g = hosting.get(gid);
    try {
      java.util.function.BooleanSupplier transfer = () -> {
        try {
          return host.transferLeadership(gid, toNode, timeout.toMillis());
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      };
      return g == null ? transfer.getAsBoolean() : g.handOff(NodeRuntime.HANDOFF_DRAIN, transfer);
    } catch (java.io.UncheckedIOException e) {
      throw e.getCause();
    }
  }

  /**
   * With {@code true}, this node stops handing the leaderships it has to their preferred leaders
   * (leader spreading), e.g. while an operator pins a leader or a test moves leaders itself; with
   * {@code false} it follows them again. Not persisted: a restarted node follows them.
   */
  public void holdLeadersInPlace(boolean hold) {
    runtime.holdLeaders(hold);
  }

  /** Whether this node leads (and so owns) the execution group {@code executionGroup}. */
  public boolean ownsGroup(String executionGroup) {
    GroupRuntime g = group(executionGroup);
    return g != null && g.isOwner();
  }

  /**
   * The group of a workflow, from its id or claim alone (no group is asked: tests call this
   * while a group's replica is stalled); for an id that names no group and was never claimed,
   * the first live group (the only one in most tests).
   */
  private GroupId groupOf(String workflowId) {
    GroupId placed = routing.placedGroup(WorkflowCalls.checkWorkflowId(workflowId));
    return placed != null ? placed : routing.liveGroupIds().getFirst();
  }

  /**
   * A new workflow id naming execution group {@code index}: a start with it as the caller's id
   * goes to that group (tests use it to put a workflow in a chosen group).
   */
  public String workflowIdIn(int index) {
    return io.raftoral.common.WorkflowIds.mint(index);
  }

  /** A command as committed in a group's log, with the Raft term and index of its entry. */
  public record LoggedCommand(long index, long term, Command command) {}

  /** The commands in this node's log of an execution group it hosts, in log order. */
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
    GroupRuntime g = hostedGroup(executionGroup);
    return new ReplicaState(g.state().digest(), g.state().size());
  }

  /** The owner and owner term of this node's replica of an execution group. */
  public WorkflowState.Owner replicaOwner(String executionGroup) {
    return hostedGroup(executionGroup).state().owner();
  }

  /** How many checkpoint values this node's replica of the group holds in memory (ended workflows' are released). */
  public long checkpointValuesInMemory(String executionGroup) {
    return hostedGroup(executionGroup).state().checkpointValuesInMemory();
  }

  /** A replica's local workflow runs, and its workflows that sleep without one (a wake-up queued). */
  public record LocalRuns(int running, int sleeping) {}

  public LocalRuns localRuns(String executionGroup) {
    GroupRuntime g = hostedGroup(executionGroup);
    return new LocalRuns(g.localRuns(), g.sleepingWorkflows());
  }

  private GroupRuntime hostedGroup(String executionGroup) {
    GroupRuntime g = group(executionGroup);
    if (g == null) {
      throw new Errors.InvalidArgumentException("node " + nodeId + " hosts no execution group " + executionGroup);
    }
    return g;
  }

  // --- for the runtime package's own tests ---

  /** The runtime itself, called as the node layer calls it (e.g. a start with raw input bytes). */
  NodeRuntime runtime() {
    return runtime;
  }

  /** This node's runtime of an execution group, or null when it hosts none. */
  GroupRuntime group(String executionGroup) {
    return hosting.get(GroupId.of(UUID.fromString(executionGroup)));
  }

  ManagementStateMachine managementStateMachine() {
    return management;
  }

  List<GroupId> executionGroupIds() {
    return routing.executionGroupIds();
  }

  List<GroupId> openGroupIds() {
    return routing.openGroups().stream().map(Routing.Target::group).toList();
  }

  Routing routing() {
    return routing;
  }

  /**
   * Commits a management decision through this node, which must lead the management group,
   * stamped with its current term (as the membership controller does): the result, or null
   * when it was not committed (this node does not lead, or no answer in time).
   */
  io.raftoral.proto.management.ManagementResult decide(io.raftoral.proto.management.ManagementCommand command) throws Exception {
    GroupId mgmt = io.raftoral.raft.GroupIds.management(runtime.clusterId());
    long term = host.leaderTerm(mgmt);
    if (term <= 0) {
      return null;
    }
    var reply = host.submitLocal(mgmt, command.toBuilder().setProposerTerm(term).build().toByteArray())
        .get(30, java.util.concurrent.TimeUnit.SECONDS);
    return reply.isSuccess() ? io.raftoral.proto.management.ManagementResult.parseFrom(reply.message()) : null;
  }

  CompletableFuture<Proposer.Outcome> propose(GroupId gid, Command command) {
    return hosting.propose(gid, command);
  }
}
