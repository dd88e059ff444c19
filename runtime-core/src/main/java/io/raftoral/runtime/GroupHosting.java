package io.raftoral.runtime;

import io.raftoral.config.NodeOptions;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.Topology;
import io.raftoral.proto.raft.Command;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.GroupStateMachine;
import io.raftoral.raft.ManagementStateMachine;
import io.raftoral.raft.Proposer;
import io.raftoral.raft.RaftHost;
import io.raftoral.raft.RaftSettings;
import io.raftoral.raft.WorkflowStateMachine;
import io.raftoral.workflow.WorkflowRegistry;
import java.io.IOException;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The execution groups this node hosts: a {@link GroupRuntime} for each (also for those Ratis
 * recovered from storage), following the topology (reconciliation: host every group it places
 * this node in), and proposing into any group, hosted here or not.
 */
final class GroupHosting {
  private static final Logger LOG = LoggerFactory.getLogger(GroupHosting.class);

  private final RaftSettings raft;
  private final NodeOptions options;
  private final Payloads payloads;
  private final int maxBatchBytes;
  private final WorkflowRegistry registry;
  private final ExecutorService executor;
  private final ExecutorService platformRuns;
  private final WakeUps wakeUps;
  private final GroupId managementGroupId;
  private final ManagementStateMachine management;
  private final ServingGate gate;
  private final LeaderAdmission admission;
  private final NodeMetrics metrics;
  private final NodeTracing tracing;
  private final Map<GroupId, GroupRuntime> hosted = new ConcurrentHashMap<>();
  // How long a replica Ratis closed may stay hosted while the topology places this node in its
  // group before it is a fault: several reconcile rounds (5 s) and election timeouts.
  static final java.time.Duration CLOSED_GRACE = java.time.Duration.ofSeconds(15);
  // Replicas seen closed by Ratis while hosted: since when (nanos), for CLOSED_GRACE.
  private final Map<GroupId, Long> closedSince = new ConcurrentHashMap<>();
  // State machines Ratis asked for while the host was being built (groups recovered from storage).
  private final Map<GroupId, WorkflowStateMachine> unattached = new HashMap<>();
  // Proposers for execution groups this node is not a member of: commands go to their leader.
  private final Map<GroupId, Proposer> remote = new ConcurrentHashMap<>();
  private final AtomicBoolean reconcilePending = new AtomicBoolean();
  private volatile RaftHost host;

  GroupHosting(RaftSettings raft, NodeOptions options, Payloads payloads, WorkflowRegistry registry, ExecutorService executor,
      ExecutorService platformRuns, WakeUps wakeUps, GroupId managementGroupId, ManagementStateMachine management, ServingGate gate, NodeMetrics metrics,
      NodeTracing tracing) {
    this.raft = raft;
    this.options = options;
    this.payloads = payloads;
    // Room for one payload at the limit plus the command around it.
    this.maxBatchBytes = Math.max(1 << 20, options.payloadLimitBytes() + (64 << 10));
    this.registry = registry;
    this.executor = executor;
    this.platformRuns = platformRuns;
    this.wakeUps = wakeUps;
    this.managementGroupId = managementGroupId;
    this.management = management;
    this.gate = gate;
    this.metrics = metrics;
    this.tracing = tracing;
    this.admission = new LeaderAdmission(raft.nodeId(), registry, payloads, gid -> host.leaderTerm(gid));
  }

  /**
   * The host is built: building the Ratis server already asked for the state machines of the
   * groups in its storage (a restart), before the host existed; give them their runtimes now.
   */
  void attach(RaftHost host) {
    this.host = host;
    synchronized (unattached) {
      unattached.forEach((gid, machine) -> hosted.put(gid, newGroupRuntime(gid, machine)));
      unattached.clear();
    }
  }

  /**
   * Ratis asks for the state machine of every group it hosts, also those recovered from storage.
   * Its own lock: Ratis may call this on its threads while {@link #reconcileLocalGroups} waits for
   * a group to be added.
   */
  GroupStateMachine stateMachineFor(GroupId gid) {
    if (gid.equals(managementGroupId)) {
      return management;
    }
    synchronized (unattached) {
      GroupRuntime g = hosted.get(gid);
      if (g != null) {
        return g.stateMachine();
      }
      WorkflowStateMachine machine = new WorkflowStateMachine(command -> admission.admit(gid, command), raft.stateDir());
      if (host == null) {
        unattached.put(gid, machine);
      } else {
        hosted.put(gid, newGroupRuntime(gid, machine));
      }
      return machine;
    }
  }

  private GroupRuntime newGroupRuntime(GroupId gid, WorkflowStateMachine machine) {
    return new GroupRuntime(gid, raft.nodeId(), host, machine, registry, payloads, executor, platformRuns, wakeUps, newProposer(gid),
        new Proposer(data -> host.submitLocal(gid, data), 1, maxBatchBytes), metrics, tracing);
  }

  private Proposer newProposer(GroupId gid) {
    long linger = options.batchLinger().toNanos();
    return new Proposer(data -> host.submit(gid, data), options.maxInFlightEntries(), maxBatchBytes,
        linger == 0 ? null : CompletableFuture.delayedExecutor(linger, TimeUnit.NANOSECONDS), metrics.proposals());
  }

  /** This node's runtime of an execution group, or null when it hosts none. */
  GroupRuntime get(GroupId gid) {
    return hosted.get(gid);
  }

  boolean hosts(GroupId gid) {
    return hosted.containsKey(gid);
  }

  /** The groups hosted here, with their runtimes (a live view). */
  Map<GroupId, GroupRuntime> all() {
    return hosted;
  }

  Collection<GroupRuntime> runtimes() {
    return hosted.values();
  }

  /** Proposes into an execution group: through this node's runtime of it, else to its leader. */
  CompletableFuture<Proposer.Outcome> propose(GroupId gid, Command command) {
    GroupRuntime g = hosted.get(gid);
    if (g != null) {
      return g.propose(command);
    }
    return remote.computeIfAbsent(gid, this::newProposer).propose(command);
  }

  /**
   * Null when every hosted replica applies its entries, else which one stopped and why: an entry
   * it could not apply, or Raft closed it and it stays closed while this node is still placed in
   * its group. Ratis also closes a division on the ordinary way out of a group (a member the
   * configuration no longer lists shuts down at its next election timeout), before this node
   * drops it ({@link #dropLeftReplicas}, once its own topology and the group's leader agree);
   * so a closed replica counts only when the committed topology still places this node in the
   * group after {@link #CLOSED_GRACE}, long enough for a lagging topology to catch up and for
   * the drop to come. A dropped group leaves {@link #hosted} before it is closed.
   */
  String replicaFault() {
    long now = System.nanoTime();
    if (management.isClosed()) {
      if (closedLongEnough(managementGroupId, now)) {
        return "its replica of the management group was closed by Raft while the node runs (see the log for why)";
      }
    } else {
      closedSince.remove(managementGroupId);
    }
    closedSince.keySet().removeIf(gid -> !gid.equals(managementGroupId) && !hosted.containsKey(gid));
    for (GroupRuntime g : hosted.values()) {
      Exception halted = g.stateMachine().halted();
      if (halted != null) {
        return "its replica of group " + g.groupId() + " stopped applying entries (" + halted + ")";
      }
      if (!g.stateMachine().isClosed()) {
        continue;
      }
      if (placedHere(g.groupId()) && closedLongEnough(g.groupId(), now)) {
        return "its replica of group " + g.groupId() + " was closed by Raft while the node is placed in the group "
            + "(see the log for why)";
      }
      scheduleLocalReconcile(); // on its way out of the group (the drop comes), or within the grace
    }
    return null;
  }

  /** Whether {@code gid}'s replica has been seen closed for {@link #CLOSED_GRACE} (the first look starts the clock). */
  private boolean closedLongEnough(GroupId gid, long now) {
    return now - closedSince.computeIfAbsent(gid, k -> now) >= CLOSED_GRACE.toNanos();
  }

  /** Whether this node's committed topology places it in execution group {@code gid}. */
  private boolean placedHere(GroupId gid) {
    String id = gid.uuid().toString();
    for (ExecutionGroupRecord g : management.topology().getExecutionGroupsList()) {
      if (g.getGroupId().equals(id)) {
        return g.getMergedInto().isEmpty() && g.getMembersList().contains(raft.nodeId());
      }
    }
    return false;
  }

  void forEachGroup(java.util.function.Consumer<GroupId> action) {
    for (GroupId gid : host.hostedGroups()) {
      try {
        action.accept(gid);
      } catch (RuntimeException e) {
        LOG.debug("node {}: acting on group {} failed", raft.nodeId(), gid, e);
      }
    }
  }

  // --- following the topology: host the groups this node is placed in ---

  void scheduleLocalReconcile() {
    if (!gate.closed() && reconcilePending.compareAndSet(false, true)) {
      executor.execute(() -> {
        reconcilePending.set(false);
        reconcileLocalGroups(management.topology());
      });
    }
  }

  /** Hosts every execution group the topology places this node in, and tells clients where groups live. */
  private synchronized void reconcileLocalGroups(Topology t) {
    if (gate.closed()) {
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
    dropLeftReplicas(t);
  }

  /**
   * Closes and deletes this node's replica of every execution group it no longer needs: a retired
   * group (merged_into: its workflows are in the target, for good), and a group whose committed
   * members no longer include this node (a split or a move) once the group's leader reports a
   * configuration without this node. The committed topology alone is not enough: a restarted
   * node replays intermediate topologies (before it was placed in a group it is in now), and
   * deleting on those would throw away good replicas; the leader's configuration is the group's
   * present, and a replica it does not list counts for nothing.
   */
  private void dropLeftReplicas(Topology t) {
    Map<String, ExecutionGroupRecord> byId = new HashMap<>();
    t.getExecutionGroupsList().forEach(g -> byId.put(g.getGroupId(), g));
    for (GroupId gid : host.hostedGroups()) {
      ExecutionGroupRecord g = byId.get(gid.uuid().toString());
      if (gid.equals(managementGroupId) || g == null || gate.closed()) {
        continue; // not in the topology as applied so far (a restart replays it): keep
      }
      String why = null;
      if (!g.getMergedInto().isEmpty()) {
        why = "it was merged into " + g.getMergedInto();
      } else if (!g.getMembersList().contains(raft.nodeId())) {
        RaftHost.LeaderView view = host.leaderView(gid);
        if (view != null && view.leader() != raft.nodeId() && !view.voters().contains(raft.nodeId())) {
          why = "this node left it (its leader " + view.leader() + " runs it with " + view.voters() + ")";
        }
      }
      if (why != null) {
        drop(gid, g.getIndex(), why);
      }
    }
  }

  private void drop(GroupId gid, int index, String why) {
    GroupRuntime runtime = hosted.remove(gid);
    if (runtime != null) {
      runtime.close();
    }
    try {
      host.removeGroup(gid); // closes the state machine and its store, then deletes both directories
      LOG.info("node {}: dropped its replica of execution group {} ({}): {}", raft.nodeId(), index, gid, why);
    } catch (IOException | RuntimeException e) {
      LOG.warn("node {}: dropping its replica of execution group {} failed (retried later): {}", raft.nodeId(), index,
          e.toString());
    }
  }
}
