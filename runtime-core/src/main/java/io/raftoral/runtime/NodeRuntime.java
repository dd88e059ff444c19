package io.raftoral.runtime;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.raftoral.api.Errors;
import io.raftoral.api.WorkflowInfo;
import io.raftoral.api.WorkflowRegistry;
import io.raftoral.api.WorkflowStatus;
import io.raftoral.api.WorkflowType;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.Topology;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandBatch;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.raft.Proposer;
import io.raftoral.raft.RaftHost;
import io.raftoral.raft.RaftSettings;
import io.raftoral.state.ManagementStateMachine;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.state.WorkflowStateMachine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.statemachine.StateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything one node runs: the Raft host with the management group and the execution groups,
 * the group runtimes, and the client-side calls (start, describe, await). The public facade
 * is {@link io.raftoral.api.RaftoralNode}.
 */
public final class NodeRuntime implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NodeRuntime.class);
  private static final Duration LEADER_WAIT = Duration.ofSeconds(10);
  private static final Pattern REJECTION = Pattern.compile("raftoral-reject\\[NOT_REGISTERED ([^\\]]+)@v(\\d+)\\]");

  /** What a node needs beyond its Raft settings. */
  public record Options(
      String clusterId, int executionGroups, Payloads payloads, Duration requestTimeout, int maxInFlight, int maxBatchBytes) {}

  private final RaftSettings raft;
  private final Options options;
  private final WorkflowRegistry registry;
  private final ExecutorService executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("raftoral-wf-", 0).factory());
  private final RaftGroupId managementGroupId;
  private final ManagementStateMachine management = new ManagementStateMachine();
  // Insertion order is the execution group index: a workflow id hashes to one index.
  private final Map<RaftGroupId, GroupRuntime> groups = new LinkedHashMap<>();
  private final List<GroupRuntime> groupList = new ArrayList<>();
  private final RaftHost host;
  private volatile boolean closed;

  public NodeRuntime(RaftSettings raft, Options options, WorkflowRegistry registry) throws IOException {
    this.raft = raft;
    this.options = options;
    this.registry = registry;
    this.managementGroupId = groupId(options.clusterId(), "management");
    Map<RaftGroupId, WorkflowStateMachine> machines = new LinkedHashMap<>();
    for (int i = 0; i < options.executionGroups(); i++) {
      machines.put(groupId(options.clusterId(), "execution/" + i), new WorkflowStateMachine(this::admit));
    }
    StateMachine.Registry stateMachines = gid -> gid.equals(managementGroupId) ? management : machines.get(gid);
    this.host = new RaftHost(raft, stateMachines);
    machines.forEach((gid, sm) -> {
      GroupRuntime g = new GroupRuntime(gid, raft.nodeId(), host, sm, registry, options.payloads(), executor,
          options.maxInFlight(), options.maxBatchBytes());
      groups.put(gid, g);
      groupList.add(g);
    });
  }

  static RaftGroupId groupId(String clusterId, String name) {
    return RaftGroupId.valueOf(UUID.nameUUIDFromBytes(("raftoral/" + clusterId + "/" + name).getBytes(StandardCharsets.UTF_8)));
  }

  public void start() throws IOException {
    List<RaftGroup> hosted = new ArrayList<>();
    hosted.add(RaftHost.group(managementGroupId, raft.members()));
    for (RaftGroupId gid : groups.keySet()) {
      hosted.add(RaftHost.group(gid, raft.members()));
    }
    host.start(hosted);
    // Bounded: a node whose peers are not up yet still starts, and catches up when they are.
    try {
      if (!host.awaitLeaders(LEADER_WAIT)) {
        LOG.info("node {}: started before every group elected a leader (are the other members up?)", raft.nodeId());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    executor.execute(this::recordBootstrapTopology);
  }

  /** Records the bootstrap topology in the management group; the first one applied wins. */
  private void recordBootstrapTopology() {
    Topology.Builder topology = Topology.newBuilder().setClusterId(options.clusterId());
    raft.sortedMembers().forEach((id, address) -> topology.addNodes(NodeRecord.newBuilder().setNodeId(id).setRaftAddress(address)));
    for (RaftGroupId gid : groups.keySet()) {
      topology.addExecutionGroups(ExecutionGroupRecord.newBuilder()
          .setGroupId(gid.getUuid().toString()).addAllMembers(raft.sortedMembers().keySet()));
    }
    byte[] command = ManagementCommand.newBuilder().setBootstrap(topology).build().toByteArray();
    try {
      RaftClientReply reply = host.submit(managementGroupId, UnsafeByteOperations.unsafeWrap(command)).get(60, TimeUnit.SECONDS);
      if (!reply.isSuccess()) {
        LOG.warn("node {}: recording the topology failed: {}", raft.nodeId(), reply.getException());
      }
    } catch (Exception e) {
      if (!closed) {
        LOG.warn("node {}: recording the topology failed", raft.nodeId(), e);
      }
    }
  }

  public Topology topology() {
    return management.topology();
  }

  public long nodeId() {
    return raft.nodeId();
  }

  /** Leader-side admission of a batch: refuse starts of types this node cannot run. */
  private void admit(CommandBatch batch) throws WorkflowStateMachine.Rejection {
    for (Command c : batch.getCommandsList()) {
      if (c.hasWorkflowStart()) {
        WorkflowStart s = c.getWorkflowStart();
        if (!registry.contains(new WorkflowType(s.getType(), s.getVersion()))) {
          throw new WorkflowStateMachine.Rejection("raftoral-reject[NOT_REGISTERED " + s.getType() + "@v" + s.getVersion() + "]");
        }
      }
    }
  }

  // --- client calls ---

  /** The execution group of a workflow id: a stable hash, so an idempotent start lands where the first did. */
  GroupRuntime groupOf(String workflowId) {
    return groupList.get(Math.floorMod(workflowId.hashCode(), groupList.size()));
  }

  public record Started(String workflowId, String executionGroup) {}

  public Started start(WorkflowType type, byte[] input, String workflowId) {
    checkOpen();
    String id = workflowId == null ? UUID.randomUUID().toString() : checkWorkflowId(workflowId);
    options.payloads().check("input of workflow " + id, input);
    if (!registry.contains(type)) {
      throw new Errors.NotRegisteredException(type);
    }
    GroupRuntime group = groupOf(id);
    Command command = Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder()
        .setWorkflowId(id).setType(type.name()).setVersion(type.version())
        .setInput(ByteString.copyFrom(input)).setStartedAtMillis(System.currentTimeMillis())).build();
    Proposer.Outcome outcome = await(group.propose(command), "start of workflow " + id);
    switch (outcome.result().getCode()) {
      case APPLIED, ALREADY_STARTED -> {}
      case CONFLICT -> throw new Errors.AlreadyExistsException(id);
      default -> throw new IllegalStateException("unexpected start outcome " + outcome.result());
    }
    // Read-your-writes on this node: describe and result see the workflow from now on.
    try {
      group.stateMachine().awaitApplied(outcome.logIndex(), System.nanoTime() + options.requestTimeout().toNanos());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return new Started(id, group.groupId().getUuid().toString());
  }

  public WorkflowInfo describe(String workflowId) {
    checkOpen();
    GroupRuntime group = groupOf(checkWorkflowId(workflowId));
    return toInfo(record(group, workflowId), group);
  }

  /** The workflow as the group's leader knows it (this node's replica when it leads or no leader answers). */
  private WorkflowRecord record(GroupRuntime group, String workflowId) {
    WorkflowEntry local = group.state().get(workflowId);
    if (!host.isLeader(group.groupId())) {
      byte[] query = Query.newBuilder().setDescribeWorkflowId(workflowId).build().toByteArray();
      try {
        RaftClientReply reply = host.query(group.groupId(), UnsafeByteOperations.unsafeWrap(query))
            .get(options.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        if (reply.isSuccess()) {
          QueryReply answer = QueryReply.parseFrom(reply.getMessage().getContent().asReadOnlyByteBuffer());
          if (!answer.getFound()) {
            throw new Errors.WorkflowNotFoundException(workflowId);
          }
          return answer.getWorkflow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException | TimeoutException | InvalidProtocolBufferException e) {
        LOG.debug("describe {} on the leader failed; answering from this replica", workflowId, e);
      }
    }
    if (local == null) {
      throw new Errors.WorkflowNotFoundException(workflowId);
    }
    return local.toRecord();
  }

  /** Waits for the final state of a workflow in this node's replica. */
  public WorkflowRecord awaitFinal(String workflowId, Duration timeout) {
    checkOpen();
    long deadline = System.nanoTime() + timeout.toNanos();
    GroupRuntime group = groupOf(checkWorkflowId(workflowId));
    if (group.state().get(workflowId) == null) {
      record(group, workflowId); // throws NotFound when the leader does not know it either
    }
    try {
      group.finalFuture(workflowId).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      throw new Errors.TimeoutException("workflow " + workflowId + " did not finish within " + timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.TimeoutException("interrupted while waiting for workflow " + workflowId);
    } catch (ExecutionException e) {
      throw new Errors.NodeClosedException("node " + raft.nodeId() + " closed while waiting for workflow " + workflowId);
    }
    return group.state().get(workflowId).toRecord();
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
    throw new UnsupportedOperationException("in progress");
  }

  /** Matching workflows across every execution group, merged in (started-at, id) order and paged. */
  public io.raftoral.api.ListPage list(io.raftoral.api.ListQuery query) {
    throw new UnsupportedOperationException("in progress");
  }

  /**
   * Commits a {@code WorkflowTerminate}. A finished workflow is left as it is; either way the
   * reply is the workflow's info after the call.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   * @throws Errors.InvalidArgumentException for a blank reason
   */
  public WorkflowInfo terminate(String workflowId, String reason) {
    throw new UnsupportedOperationException("in progress");
  }

  /** Members, roles, execution groups and their leaders, as this node sees them. */
  public io.raftoral.proto.client.ClusterInfoReply clusterInfo() {
    throw new UnsupportedOperationException("in progress");
  }

  /**
   * Registers a joining node (allocating its id from the replicated counter) through the
   * management group; this node forwards to the management leader.
   *
   * @throws Errors.InvalidArgumentException for another cluster id or a malformed address
   */
  public io.raftoral.proto.client.JoinReply join(io.raftoral.proto.client.JoinRequest request) {
    throw new UnsupportedOperationException("in progress");
  }

  static WorkflowInfo toInfo(WorkflowRecord r, GroupRuntime group) {
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
        group.groupId().getUuid().toString(), Instant.ofEpochMilli(r.getStartedAtMillis()),
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
      Matcher m = REJECTION.matcher(String.valueOf(messages(e.getCause())));
      if (m.find()) {
        throw new Errors.NotRegisteredException(new WorkflowType(m.group(1), Integer.parseInt(m.group(2))));
      }
      if (closed) {
        throw new Errors.NodeClosedException("node " + raft.nodeId() + " closed during " + what);
      }
      throw new Errors.UnavailableException(what + " failed: " + e.getCause(), e.getCause());
    }
  }

  private static String messages(Throwable t) {
    StringBuilder b = new StringBuilder();
    for (; t != null; t = t.getCause()) {
      b.append(t).append('\n');
    }
    return b.toString();
  }

  private static String checkWorkflowId(String workflowId) {
    if (workflowId == null || workflowId.isBlank()) {
      throw new Errors.InvalidArgumentException("workflow id must not be null or blank");
    }
    if (workflowId.length() > 512) {
      throw new Errors.InvalidArgumentException("workflow id is longer than 512 characters");
    }
    return workflowId;
  }

  private void checkOpen() {
    if (closed) {
      throw new Errors.NodeClosedException("node " + raft.nodeId() + " is closed");
    }
  }

  // --- for tests and operators ---

  public List<String> executionGroups() {
    return groupList.stream().map(g -> g.groupId().getUuid().toString()).toList();
  }

  public String executionGroupOf(String workflowId) {
    return groupOf(checkWorkflowId(workflowId)).groupId().getUuid().toString();
  }

  /** Whether this node leads (and so owns) the execution group of {@code workflowId}. */
  public boolean ownsGroupOf(String workflowId) {
    return groupOf(checkWorkflowId(workflowId)).isOwner();
  }

  public boolean transferLeadership(String workflowId, long toNode, Duration timeout) throws IOException {
    return host.transferLeadership(groupOf(checkWorkflowId(workflowId)).groupId(), toNode, timeout.toMillis());
  }

  public boolean isClosed() {
    return closed;
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    groupList.forEach(GroupRuntime::close);
    try {
      host.close();
    } finally {
      executor.shutdownNow();
    }
  }
}
