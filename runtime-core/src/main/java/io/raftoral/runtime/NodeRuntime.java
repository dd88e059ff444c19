package io.raftoral.runtime;

import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowType;
import io.raftoral.config.NodeOptions;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.JoinReply;
import io.raftoral.proto.client.JoinRequest;
import io.raftoral.proto.client.LeaveReply;
import io.raftoral.proto.client.LeaveRequest;
import io.raftoral.proto.client.NodeStatusReply;
import io.raftoral.proto.client.NodeStatusRequest;
import io.raftoral.proto.management.RemovedNode;
import io.raftoral.proto.management.Topology;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.GroupIds;
import io.raftoral.raft.GroupPeers;
import io.raftoral.raft.GroupStateMachine;
import io.raftoral.raft.ManagementStateMachine;
import io.raftoral.raft.RaftHost;
import io.raftoral.raft.RaftReply;
import io.raftoral.raft.RaftSettings;
import io.raftoral.raft.WorkflowStateMachine;
import io.raftoral.workflow.WorkflowRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything one node runs: the Raft host with the management group and the execution groups
 * this node is a member of, their runtimes, the membership controller, and the client calls
 * (start, await, describe, list, history, terminate), which reach any execution group, hosted here or
 * not. This class builds the parts, starts and stops them, and is the runtime layer's one entry
 * point; each part is a file of its own: {@link GroupHosting} (hosted groups, following the
 * topology), {@link LeaderAdmission}, {@link Routing} (which group, asking it),
 * {@link WorkflowCalls} (start, await, describe, terminate), {@link WorkflowListing} (list and
 * its cursor), {@link WorkflowHistory} (a workflow's checkpoints), {@link ClusterAdministration} (cluster info, join, status, leave, this node's own
 * membership), {@link Retention}, {@link FaultReaction} (what a fault does), {@link ServingGate}
 * (closed, removed, faulted; commit waits as client errors) and {@link NodeInspector} (for tests
 * and operators). The public facade is {@link io.raftoral.api.RaftoralNode}.
 */
public final class NodeRuntime implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NodeRuntime.class);
  private static final Duration LEADER_WAIT = Duration.ofSeconds(10);
  // How long a leadership hand-off (a clean stop, a transfer) waits for the side effects running
  // here to propose their results, so that the new owner does not run them again.
  static final Duration HANDOFF_DRAIN = Duration.ofSeconds(10);

  /** How this node enters its cluster. */
  public enum Entry {
    /** Form the cluster from the member list of the settings (every member starts alike). */
    BOOTSTRAP,
    /** Registered with a running cluster; wait for its management leader to add this node. */
    JOIN,
    /** Restarted with a data directory: every group comes back from storage. */
    RECOVER
  }

  /** A started workflow: its id and the execution group it lives in. */
  public record Started(String workflowId, String executionGroup) {}

  /** A final workflow: its info, and for {@code COMPLETED} the encoded result. */
  public record Outcome(WorkflowInfo info, byte[] result) {}

  /** A workflow as the console shows it: its info, its encoded input, and its encoded result (null until it completed). */
  public record Detail(WorkflowInfo info, byte[] input, byte[] result) {}

  /** See {@link ClusterAdministration#JOIN_ADVICE}. */
  public static final String JOIN_ADVICE = ClusterAdministration.JOIN_ADVICE;

  private final RaftSettings raft;
  private final NodeOptions options;
  private final String incarnation;
  private final ExecutorService executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("raftoral-wf-", 0).factory());
  // The runs of functions that need a platform thread (WorkflowFunction.needsPlatformThread).
  private final ExecutorService platformRuns =
      Executors.newThreadPerTaskExecutor(Thread.ofPlatform().daemon().name("raftoral-run-", 0).factory());
  private final WakeUps wakeUps;
  private final GroupId managementGroupId;
  private final ManagementStateMachine management = new ManagementStateMachine();
  private final ServingGate gate;
  private final GroupHosting hosting;
  private final RaftHost host;
  private final Routing routing;
  private final WorkflowCalls workflows;
  private final WorkflowListing listing;
  private final WorkflowHistory history;
  private final WorkflowReplay replay;
  private final ClusterAdministration admin;
  private final MembershipController membership;
  private final LeaderPlacement leaderPlacement;
  private final NodeHealth health;
  private final FaultReaction faults;
  private final NodeInspector inspector;
  private final List<NodeMetrics.Registration> meters = new ArrayList<>();
  private volatile CatchUpLog catchUpLog;
  private volatile VersionReport versionReport;

  /**
   * @param metrics the node's meters, kept across its runtimes: this runtime registers its own
   *     (its groups, running workflows, storage) and removes them when it closes
   * @param tracing the spans of the runs this node executes as owner
   */
  public NodeRuntime(RaftSettings raft, NodeOptions options, Payloads payloads, String incarnation, WorkflowRegistry registry,
      NodeMetrics metrics, NodeTracing tracing) throws IOException {
    this.raft = raft;
    this.options = options;
    this.incarnation = incarnation;
    this.managementGroupId = GroupIds.management(options.clusterId());
    List<GroupId> bootstrapGroups = new ArrayList<>();
    for (int i = 0; i < options.executionGroups(); i++) {
      bootstrapGroups.add(GroupIds.execution(options.clusterId(), i));
    }
    this.gate = new ServingGate(raft.nodeId(), options.requestTimeout());
    this.wakeUps = new WakeUps(raft.nodeId());
    this.hosting = new GroupHosting(raft, options, payloads, registry, executor, platformRuns, wakeUps, managementGroupId, management, gate,
        metrics, tracing);
    RaftHost.StateMachines stateMachines = hosting::stateMachineFor;
    this.host = new RaftHost(raft, stateMachines);
    hosting.attach(host);
    this.routing = new Routing(raft.nodeId(), options.requestTimeout(), host, management, managementGroupId, hosting, gate,
        management::claimedGroup, bootstrapGroups);
    this.workflows = new WorkflowCalls(raft.nodeId(), options.requestTimeout(), payloads, hosting, routing, gate, registry, metrics);
    this.listing = new WorkflowListing(options.requestTimeout(), host, hosting, routing, gate);
    this.history = new WorkflowHistory(options.requestTimeout(), routing, gate);
    this.replay = new WorkflowReplay(routing, history, gate, payloads, registry);
    this.admin = new ClusterAdministration(raft, options, incarnation, host, managementGroupId, management, hosting, routing, gate);
    this.membership = new MembershipController(raft.nodeId(), host, management, managementGroupId, options, hosting::propose,
        GroupMerge.probes(host));
    this.leaderPlacement = new LeaderPlacement(raft, host, management, hosting);
    List<DiskWatch> disks = new ArrayList<>(List.of(new DiskWatch(raft.storageDir(), NodeHealth.MIN_FREE_BYTES)));
    if (!raft.stateDir().equals(raft.storageDir())) {
      disks.add(new DiskWatch(raft.stateDir(), 0));
    }
    this.faults = new FaultReaction(raft, host, hosting);
    this.health = new NodeHealth(raft.nodeId(), disks, hosting::replicaFault, Duration.ofSeconds(1), faults);
    gate.watch(health);
    this.inspector = new NodeInspector(this, host, management, hosting, routing);
    NodeMetrics.GroupMeters managementMeters = metrics.group(managementGroupId, "management", () -> host.stats(managementGroupId));
    management.setListener(t -> {
      hosting.scheduleLocalReconcile();
      leaderPlacement.wake();
    }, () -> {
      managementMeters.leaderChanged();
      membership.wake();
    });
    meters.add(managementMeters);
    meters.add(metrics.runningWorkflows(() -> hosting.runtimes().stream().mapToInt(GroupRuntime::ownedRunningWorkflows).sum()));
    meters.add(metrics.sleepingWorkflows(() -> hosting.runtimes().stream().mapToInt(GroupRuntime::ownedSleepingWorkflows).sum()));
    meters.add(metrics.storage(raft.stateDir(), raft.storageDir()));
    management.onSnapshotTaken(managementMeters::snapshotTaken);
  }

  public void start(Entry entry) throws IOException {
    List<GroupId> bootstrapGroups = routing.bootstrapGroups();
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
      executor.execute(admin::recordBootstrapTopology);
    }
    membership.start();
    leaderPlacement.start();
    health.start();
    catchUpLog = new CatchUpLog(raft.nodeId(), host);
    versionReport = new VersionReport(raft.nodeId(), host, management, managementGroupId);
    Thread.ofVirtual().name("raftoral-retention-" + raft.nodeId()).start(new Retention(options.retention(), hosting, gate, routing::inMerge));
  }

  // --- this node ---

  public Topology topology() {
    return management.topology();
  }

  public long nodeId() {
    return raft.nodeId();
  }

  /** The software version this node runs (its jar's Implementation-Version; "development" from classes). */
  public static String version() {
    return VersionReport.CURRENT;
  }

  /** The incarnation of this node's identity (sent with its joins). */
  public String incarnation() {
    return incarnation;
  }

  /** This node's raft address. */
  public String raftAddress() {
    return raft.address();
  }

  public String clusterId() {
    return options.clusterId();
  }

  public boolean isClosed() {
    return gate.closed();
  }

  /** What tests, tools and operators look at inside this runtime ({@link NodeInspector}). */
  public NodeInspector inspector() {
    return inspector;
  }

  // --- client calls (WorkflowCalls, WorkflowListing) ---

  /** See {@link LeaderPlacement#hold}. */
  void holdLeaders(boolean hold) {
    leaderPlacement.hold(hold);
  }

  /** See {@link WorkflowCalls#newWorkflowId}. */
  public String newWorkflowId() {
    return workflows.newWorkflowId();
  }

  /** See {@link WorkflowCalls#start}; no trace. */
  public Started start(WorkflowType type, byte[] input, String workflowId) {
    return start(type, input, workflowId, "");
  }

  /** See {@link WorkflowCalls#start}; {@code traceParent}: the caller's W3C traceparent, "" for none. */
  public Started start(WorkflowType type, byte[] input, String workflowId, String traceParent) {
    return workflows.start(type, input, workflowId, NodeTracing.validTraceParentOrEmpty(traceParent));
  }

  public WorkflowInfo describe(String workflowId) {
    return workflows.describe(workflowId);
  }

  /** This node's replicas' Raft progress, by group id (UUID text), for the groups it hosts (the management group too). */
  public Map<String, io.raftoral.raft.GroupStats> replicaStats() {
    Map<String, io.raftoral.raft.GroupStats> stats = new java.util.TreeMap<>();
    for (GroupId g : host.hostedGroups()) {
      io.raftoral.raft.GroupStats s = host.stats(g);
      if (s != null) {
        stats.put(g.uuid().toString(), s);
      }
    }
    return stats;
  }

  /** See {@link WorkflowCalls#detail}. */
  public Detail detail(String workflowId) {
    return workflows.detail(workflowId);
  }

  /**
   * How many workflows of each status the execution groups hosted here hold, read from this
   * node's replicas (every group, in a cluster no larger than a group).
   */
  public Map<io.raftoral.common.WorkflowStatus, Long> countsByStatus() {
    gate.checkServing();
    Map<io.raftoral.common.WorkflowStatus, Long> counts = new java.util.EnumMap<>(io.raftoral.common.WorkflowStatus.class);
    for (GroupRuntime g : hosting.runtimes()) {
      for (io.raftoral.state.WorkflowEntry w : g.state().workflows()) {
        counts.merge(WorkflowInfos.status(w.status()), 1L, Long::sum);
      }
    }
    return counts;
  }

  /** See {@link WorkflowHistory#page}. */
  public io.raftoral.common.HistoryPage history(String workflowId, io.raftoral.common.HistoryQuery query) {
    return history.page(workflowId, query);
  }

  /** See {@link WorkflowReplay#replay}; with a null definition, the one registered here. */
  public io.raftoral.common.ReplayReport replay(String workflowId, io.raftoral.workflow.WorkflowDefinition<?, ?> definition,
      Duration timeout) {
    return replay.replay(workflowId, definition, timeout);
  }

  /** How long a call waits for the cluster (the node's request timeout). */
  public Duration requestTimeout() {
    return options.requestTimeout();
  }

  /** The execution group the workflow lives in (found from its claim or its id, following merges). */
  public String executionGroupOf(String workflowId) {
    return workflows.executionGroupOf(workflowId);
  }

  /** See {@link WorkflowCalls#await}. */
  public Outcome await(String workflowId, Duration timeout) {
    return workflows.await(workflowId, timeout);
  }

  /** As {@link #await} for the embedding API: the final record. */
  public WorkflowRecord awaitFinal(String workflowId, Duration timeout) {
    return workflows.awaitFinal(workflowId, timeout);
  }

  /** See {@link WorkflowCalls#terminate}. */
  public WorkflowInfo terminate(String workflowId, String reason) {
    return workflows.terminate(workflowId, reason);
  }

  /** Matching workflows across every live execution group, merged in (started-at, id) order and paged. */
  public ListPage list(ListQuery q) {
    return listing.list(q);
  }

  // --- the cluster (ClusterAdministration) ---

  /** Members, roles, execution groups and their leaders, as this node sees them. */
  public ClusterInfoReply clusterInfo() {
    return clusterInfo(false, false);
  }

  /**
   * As {@link #clusterInfo()}; with {@code replicaDigests}, also this node's replicas and their
   * state digests; with {@code groupStatus}, each group's status from its leader.
   */
  public ClusterInfoReply clusterInfo(boolean replicaDigests, boolean groupStatus) {
    return admin.clusterInfo(replicaDigests, groupStatus);
  }

  /** See {@link ClusterAdministration#join}. */
  public JoinReply join(JoinRequest request) {
    return admin.join(request);
  }

  /** See {@link ClusterAdministration#status}. */
  public NodeStatusReply status(NodeStatusRequest request) {
    return admin.status(request);
  }

  /** See {@link ClusterAdministration#leave}. */
  public LeaveReply leave(LeaveRequest request) {
    return admin.leave(request);
  }

  /** What a node the cluster removed is told, and logs: when and why (without what to do). */
  public static String removedMessage(String clusterId, RemovedNode removed) {
    return ClusterAdministration.removedMessage(clusterId, removed);
  }

  // --- this node's own membership and health ---

  /** Waits until the applied topology lists this node as a voter or listener of the management group. */
  public boolean awaitAdmitted(Duration timeout) throws InterruptedException {
    return admin.awaitAdmitted(timeout);
  }

  /** This node's removal as its applied topology records it, or null while that says nothing of one. */
  public RemovedNode removalInTopology() {
    return admin.removalInTopology();
  }

  /** How long ago this node last heard from its management group's leader (0 while it leads). */
  public long millisSinceManagementLeader() {
    return admin.millisSinceManagementLeader();
  }

  /**
   * From now on every client call fails with {@link io.raftoral.common.Errors.NodeRemovedException}
   * carrying {@code message} (also after {@link #close}): the cluster removed this node.
   */
  public void markRemoved(String message) {
    gate.markRemoved(message);
  }

  /** The message of {@link #markRemoved}, or null while this node is not known to be removed. */
  public String removedMessage() {
    return gate.removedMessage();
  }

  /** Why this node does not serve clients now (closed, or in a fault), or null while it does. */
  public String notServing() {
    return gate.notServing();
  }

  /**
   * Starts the runs of RUNNING workflows whose type was not registered here when they were
   * applied or loaded; call after registering types late (the worker host does, when a worker
   * registers a type). Runs that exist are left alone.
   */
  public void startMissingRuns() {
    hosting.runtimes().forEach(GroupRuntime::startMissingRuns);
  }

  /**
   * What the facade does once a fault has cleared: restart the node on its data directory (a Raft
   * log that failed one write stays failed until its server is restarted). Without one, the node
   * only allows itself to lead again.
   */
  public void onRecovery(Runnable restart) {
    faults.onRecovery(restart);
  }

  /** Stops the node: hands off the leadership of every group it leads, then stops its runs and its Raft server. */
  @Override
  public void close() throws IOException {
    if (gate.closed()) {
      return;
    }
    // First: whatever fails below, no scrape reads this runtime's parts once it is closing.
    meters.forEach(NodeMetrics.Registration::close);
    health.close();
    if (catchUpLog != null) {
      catchUpLog.close();
    }
    if (versionReport != null) {
      versionReport.close();
    }
    membership.close();
    leaderPlacement.close();
    List<GroupId> led = new ArrayList<>(hosting.all().keySet());
    led.add(managementGroupId);
    long handOffMs = raft.electionTimeoutMax().toMillis() * 2;
    // Every group at once: the drain bound holds for the whole stop, not per group it leads.
    List<Thread> handOffs = new ArrayList<>();
    for (GroupId gid : gate.removedMessage() == null ? led : List.<GroupId>of()) { // a removed node leads nothing that matters
      GroupRuntime g = hosting.get(gid);
      handOffs.add(Thread.ofVirtual().name("raftoral-handoff-" + raft.nodeId()).start(() -> {
        if (g != null) {
          // Stopping: no settling after a failed transfer, which would only delay the stop.
          g.drainThen(HANDOFF_DRAIN, () -> host.handOffLeadership(gid, handOffMs));
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
    gate.markClosed();
    hosting.runtimes().forEach(GroupRuntime::close);
    try {
      host.close();
    } finally {
      wakeUps.close();
      executor.shutdownNow();
      platformRuns.shutdownNow();
    }
  }
}
