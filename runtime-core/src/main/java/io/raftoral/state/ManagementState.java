package io.raftoral.state;

import io.raftoral.proto.management.BeginMerge;
import io.raftoral.proto.management.ClaimWorkflowId;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.LeaveCluster;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.Refusal;
import io.raftoral.proto.management.RegisterNode;
import io.raftoral.proto.management.RemovedNode;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.MoveMember;
import io.raftoral.proto.management.SplitGroup;
import io.raftoral.proto.management.Topology;
import io.raftoral.proto.management.WorkflowIdClaim;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The replicated topology of the cluster and the rules that change it: nodes, their roles, the
 * node id counter, the execution groups and the removed nodes. Deterministic, no I/O, no
 * clocks (times arrive in the commands): every replica that applies the same commands holds the
 * same topology. Decisions (who joins which group, who votes, who is removed) are made by the
 * management leader and arrive here as commands; this class only validates and records them.
 *
 * <p>Every decision carries its term: a leader decision (every command but joins, leaves, the
 * bootstrap and {@code ClaimWorkflowId}) is applied only when its {@code proposer_term} equals
 * the Raft term of the entry it arrived in, so a decision taken by a leader that has been
 * deposed meanwhile is refused, whichever leader appended it. Joins, leaves and claims are not
 * leader decisions: any node forwards them, and the rules decide on the committed topology
 * alone (identity: node id, raft address and incarnation; a claim: the id's earlier claim).
 *
 * <p>Groups change shape by split ({@code SplitGroup}: a new group of some members and/or
 * unplaced nodes), by moving one member ({@code MoveMember}) and by merge ({@code BeginMerge}
 * closes a group and names its target, {@code FinishMerge} retires it: {@code merged_into}, no
 * members, its members join the target). A retired group keeps its index and record and never
 * changes again; {@link #resolve} follows {@code merged_into} to the live group.
 *
 * <p>Workflow id claims (caller-chosen id -> group index) live in a map beside the topology,
 * not in it: the topology is published on every change and must stay small. The map is written
 * on the apply thread and read by any thread.
 */
public final class ManagementState {
  /** How many removed nodes the topology keeps (the oldest are dropped first). */
  static final int MAX_REMOVED = 256;

  /** The id of a new execution group: derived, so every replica records the same one. */
  @FunctionalInterface
  public interface GroupNaming {
    /** The UUID (as text) of execution group {@code index} of cluster {@code clusterId}. */
    String executionGroupId(String clusterId, int index);
  }

  /** The longest workflow id the runtime accepts (WorkflowCalls.checkWorkflowId). */
  static final int MAX_WORKFLOW_ID_LENGTH = 512;

  private final GroupNaming naming;
  private Topology topology = Topology.getDefaultInstance();
  // Replaced whole on restore, so a reader never sees a half-restored map.
  private volatile ConcurrentHashMap<String, Integer> claims = new ConcurrentHashMap<>();

  public ManagementState(GroupNaming naming) {
    this.naming = naming;
  }

  public Topology topology() {
    return topology;
  }

  /** Takes a stored topology (a snapshot file's: its workflow id claims go to the claims map). */
  public void restore(Topology stored) {
    ConcurrentHashMap<String, Integer> restored = new ConcurrentHashMap<>();
    for (WorkflowIdClaim c : stored.getWorkflowIdClaimsList()) {
      restored.put(c.getWorkflowId(), c.getGroupIndex());
    }
    topology = stored.toBuilder().clearWorkflowIdClaims().build();
    claims = restored;
  }

  /** What a snapshot file holds: the topology with every workflow id claim (in id order). */
  public Topology snapshotTopology() {
    Topology.Builder b = topology.toBuilder();
    new TreeMap<>(claims).forEach((id, index) ->
        b.addWorkflowIdClaims(WorkflowIdClaim.newBuilder().setWorkflowId(id).setGroupIndex(index)));
    return b.build();
  }

  /**
   * The index of the group a caller-chosen workflow id was claimed in, or null when it is not
   * claimed here (yet). The group may have been merged since: resolve it with {@link #resolve}.
   * Safe from any thread.
   */
  public Integer claimedGroup(String workflowId) {
    return workflowId == null ? null : claims.get(workflowId);
  }

  /**
   * The live group that holds what group {@code index} held: the group itself, or the group its
   * {@code merged_into} names (following a chain). Null for an unknown index, a group id that
   * names no group, or a cycle.
   */
  public static ExecutionGroupRecord resolve(Topology t, int index) {
    ExecutionGroupRecord g = groupAt(t, index);
    Set<String> seen = new HashSet<>();
    while (g != null && !g.getMergedInto().isEmpty()) {
      if (!seen.add(g.getGroupId())) {
        return null;
      }
      g = groupById(t, g.getMergedInto());
    }
    return g;
  }

  private static ExecutionGroupRecord groupAt(Topology t, int index) {
    if (index < 0 || index >= t.getExecutionGroupsCount()) {
      return null;
    }
    ExecutionGroupRecord g = t.getExecutionGroups(index);
    return g.getIndex() == index ? g : null;
  }

  private static ExecutionGroupRecord groupById(Topology t, String groupId) {
    for (ExecutionGroupRecord g : t.getExecutionGroupsList()) {
      if (g.getGroupId().equals(groupId)) {
        return g;
      }
    }
    return null;
  }

  /**
   * Applies one command committed in an entry of Raft term {@code entryTerm}.
   */
  public ManagementResult apply(ManagementCommand command, long entryTerm) {
    switch (command.getKindCase()) {
      case SET_ROLES, REMOVE_NODE, CREATE_GROUP, SET_GROUP_MEMBERS, OPEN_GROUP, SPLIT_GROUP, BEGIN_MERGE, FINISH_MERGE,
          REPORT_LOADS, SET_PREFERRED_LEADERS, MOVE_MEMBER -> {
        if (command.getProposerTerm() != entryTerm) {
          return refused(Refusal.REFUSAL_STALE_TERM, command.getKindCase() + " was decided in term " + command.getProposerTerm()
              + " but appended in term " + entryTerm + ": its proposer no longer led the management group");
        }
      }
      default -> {}
    }
    return switch (command.getKindCase()) {
      case BOOTSTRAP -> bootstrap(command.getBootstrap());
      case REGISTER_NODE -> register(command.getRegisterNode());
      case SET_ROLES -> setRoles(command.getSetRoles().getRolesMap());
      case REMOVE_NODE -> remove(command.getRemoveNode().getNodeId(), command.getRemoveNode().getReason(),
          command.getRemoveNode().getAtMillis());
      case CREATE_GROUP -> createGroup(command.getCreateGroup().getMembersList());
      case SET_GROUP_MEMBERS -> setGroupMembers(command.getSetGroupMembers().getIndex(), command.getSetGroupMembers().getMembersList());
      case LEAVE_CLUSTER -> leave(command.getLeaveCluster());
      case OPEN_GROUP -> openGroup(command.getOpenGroup().getIndex());
      case SPLIT_GROUP -> split(command.getSplitGroup());
      case BEGIN_MERGE -> beginMerge(command.getBeginMerge());
      case FINISH_MERGE -> finishMerge(command.getFinishMerge().getFromIndex());
      case REPORT_LOADS -> reportLoads(command.getReportLoads().getRunningMap());
      case SET_PREFERRED_LEADERS -> setPreferredLeaders(command.getSetPreferredLeaders().getLeadersMap());
      case CLAIM_WORKFLOW_ID -> claim(command.getClaimWorkflowId());
      case MOVE_MEMBER -> move(command.getMoveMember());
      case REPORT_VERSION -> reportVersion(command.getReportVersion().getNodeId(), command.getReportVersion().getVersion());
      case KIND_NOT_SET -> refused(Refusal.REFUSAL_INVALID, "command without a kind");
    };
  }

  private ManagementResult bootstrap(Topology initial) {
    if (topology.getNodesCount() > 0) {
      return refused(Refusal.REFUSAL_INVALID, "the cluster is bootstrapped already");
    }
    long maxId = initial.getNodesList().stream().mapToLong(NodeRecord::getNodeId).max().orElse(0);
    Topology.Builder b = initial.toBuilder().setNextNodeId(Math.max(initial.getNextNodeId(), maxId + 1)).clearWorkflowIdClaims();
    // Every node of the bootstrap routes over the bootstrap groups from the start: they are open.
    for (int i = 0; i < b.getExecutionGroupsCount(); i++) {
      b.setExecutionGroups(i, b.getExecutionGroups(i).toBuilder().setOpen(true));
    }
    topology = b.build();
    return applied(0);
  }

  /**
   * A join. A node is known by its id and incarnation; its raft address tells a retried or
   * restarted join from a wiped node, which never gets a known id back (it has no log: a voter
   * without its log and vote breaks Raft's durability).
   */
  private ManagementResult register(RegisterNode r) {
    if (topology.getNodesCount() == 0) {
      return refused(Refusal.REFUSAL_NOT_BOOTSTRAPPED, "the cluster is not bootstrapped yet");
    }
    if (r.getRaftAddress().isBlank()) {
      return refused(Refusal.REFUSAL_INVALID, "a joining node needs a raft address");
    }
    if (r.getIncarnation().isBlank()) {
      return refused(Refusal.REFUSAL_INVALID, "a joining node needs an incarnation (the token of its data directory)");
    }
    for (RemovedNode gone : topology.getRemovedList()) {
      if (gone.getIncarnation().equals(r.getIncarnation()) || (r.getNodeId() != 0 && gone.getNodeId() == r.getNodeId())) {
        return removedRefusal(gone);
      }
    }
    if (r.getNodeId() != 0) {
      return rejoin(r);
    }
    NodeRecord atAddress = null;
    for (NodeRecord n : topology.getNodesList()) {
      if (n.getRaftAddress().equals(r.getRaftAddress())) {
        atAddress = n;
      }
    }
    if (atAddress != null) {
      if (atAddress.getIncarnation().equals(r.getIncarnation())) {
        return applied(atAddress.getNodeId()); // a retried join: same id, no second registration
      }
      // Same raft address, another incarnation: that node lost its data directory. Its old id
      // leaves every group; it joins as a new node.
      remove(atAddress.getNodeId(), "its raft address " + r.getRaftAddress() + " joined again without its data directory "
          + "(another incarnation); it joins as a new node", r.getAtMillis());
    }
    long id = topology.getNextNodeId();
    topology = topology.toBuilder()
        .addNodes(NodeRecord.newBuilder().setNodeId(id).setRaftAddress(r.getRaftAddress()).setApiAddress(r.getApiAddress())
            .setRole(Role.JOINING).setIncarnation(r.getIncarnation()))
        .setNextNodeId(id + 1)
        .build();
    return applied(id);
  }

  /** A restarted member asks whether it still is one; its api address may have changed. */
  private ManagementResult rejoin(RegisterNode r) {
    int index = indexOf(r.getNodeId());
    if (index < 0) {
      if (r.getNodeId() < topology.getNextNodeId()) {
        return removedRefusal(RemovedNode.newBuilder().setNodeId(r.getNodeId()).setRaftAddress(r.getRaftAddress())
            .setReason("removed earlier (no longer recorded)").build());
      }
      return refused(Refusal.REFUSAL_INVALID, "node " + r.getNodeId() + " was never a member of this cluster");
    }
    NodeRecord n = topology.getNodes(index);
    if (!n.getRaftAddress().equals(r.getRaftAddress())) {
      return refused(Refusal.REFUSAL_ADDRESS_CHANGED, "node " + r.getNodeId() + " has raft address " + n.getRaftAddress()
          + ", not " + r.getRaftAddress() + ": a node's raft address cannot change; restart it with --raft-addr "
          + n.getRaftAddress());
    }
    if (!n.getIncarnation().isEmpty() && !n.getIncarnation().equals(r.getIncarnation())) {
      return refused(Refusal.REFUSAL_INVALID, "node " + r.getNodeId() + " belongs to another data directory (incarnation "
          + n.getIncarnation() + ", not " + r.getIncarnation() + ")");
    }
    NodeRecord.Builder updated = n.toBuilder().setIncarnation(r.getIncarnation()); // a bootstrap member records its own
    if (!r.getApiAddress().isEmpty()) {
      updated.setApiAddress(r.getApiAddress());
    }
    topology = topology.toBuilder().setNodes(index, updated).build();
    return applied(n.getNodeId());
  }

  private ManagementResult leave(LeaveCluster l) {
    int index = indexOf(l.getNodeId());
    if (index < 0) {
      return refused(Refusal.REFUSAL_INVALID, "node " + l.getNodeId() + " is not registered");
    }
    NodeRecord n = topology.getNodes(index);
    if (!n.getIncarnation().equals(l.getIncarnation())) {
      return refused(Refusal.REFUSAL_INVALID, "node " + l.getNodeId() + " belongs to another incarnation");
    }
    if (n.getRole() != Role.JOINING) {
      return refused(Refusal.REFUSAL_INVALID, "node " + l.getNodeId() + " runs already (" + n.getRole() + "); a running node "
          + "is removed when it stays unreachable past the node failure timeout");
    }
    return remove(l.getNodeId(), "its start failed after it registered: " + l.getReason(), l.getAtMillis());
  }

  private ManagementResult setRoles(Map<Long, Role> roles) {
    Topology.Builder b = topology.toBuilder();
    for (int i = 0; i < b.getNodesCount(); i++) {
      Role r = roles.get(b.getNodes(i).getNodeId());
      if (r != null && r != Role.ROLE_UNSPECIFIED) {
        b.setNodes(i, b.getNodes(i).toBuilder().setRole(r));
      }
    }
    topology = b.build();
    return applied(0);
  }

  private ManagementResult remove(long nodeId, String reason, long atMillis) {
    NodeRecord gone = node(nodeId);
    if (gone == null) {
      return refused(Refusal.REFUSAL_INVALID, "node " + nodeId + " is not a member");
    }
    Topology.Builder b = topology.toBuilder().clearNodes();
    topology.getNodesList().stream().filter(n -> n.getNodeId() != nodeId).forEach(b::addNodes);
    for (int i = 0; i < b.getExecutionGroupsCount(); i++) {
      ExecutionGroupRecord g = b.getExecutionGroups(i);
      ExecutionGroupRecord.Builder without = g.toBuilder().clearMembers()
          .addAllMembers(g.getMembersList().stream().filter(m -> m != nodeId).toList());
      if (g.getPreferredLeader() == nodeId) {
        without.setPreferredLeader(0);
      }
      if (without.getMembersCount() == 0) {
        without.setOpen(false); // no replica left: a start placed here could never run
      }
      b.setExecutionGroups(i, without);
    }
    b.addRemoved(RemovedNode.newBuilder().setNodeId(nodeId).setRaftAddress(gone.getRaftAddress())
        .setApiAddress(gone.getApiAddress()).setIncarnation(gone.getIncarnation()).setRemovedAtMillis(atMillis).setReason(reason));
    while (b.getRemovedCount() > MAX_REMOVED) {
      b.removeRemoved(0);
    }
    topology = b.build();
    return applied(nodeId);
  }

  private ManagementResult createGroup(List<Long> members) {
    String invalid = checkMembers(members);
    if (invalid != null) {
      return refused(Refusal.REFUSAL_INVALID, invalid);
    }
    int index = topology.getExecutionGroupsCount();
    List<Long> sorted = members.stream().sorted().toList();
    topology = topology.toBuilder().addExecutionGroups(ExecutionGroupRecord.newBuilder()
        .setIndex(index)
        .setGroupId(naming.executionGroupId(topology.getClusterId(), index))
        .addAllMembers(sorted)
        .addAllInitialMembers(sorted)
        .setOpen(false)).build();
    return applied(index);
  }

  /**
   * Opens group {@code index} to starts. Any live group that is not being merged, in any order:
   * a start picks among the open groups by load, not by a hash over a prefix of the indices.
   */
  private ManagementResult openGroup(int index) {
    String invalid = checkLive(index);
    if (invalid != null) {
      return refused(Refusal.REFUSAL_INVALID, invalid);
    }
    if (merging(topology.getExecutionGroups(index))) {
      return refused(Refusal.REFUSAL_INVALID, "execution group " + index + " is being merged; it takes no starts");
    }
    Topology.Builder b = topology.toBuilder();
    b.setExecutionGroups(index, b.getExecutionGroups(index).toBuilder().setOpen(true));
    topology = b.build();
    return applied(index);
  }

  private ManagementResult setGroupMembers(int index, List<Long> members) {
    String invalid = checkLive(index);
    if (invalid == null) {
      invalid = checkMembers(members);
    }
    if (invalid != null) {
      return refused(Refusal.REFUSAL_INVALID, invalid);
    }
    Topology.Builder b = topology.toBuilder();
    b.setExecutionGroups(index, withMembers(b.getExecutionGroups(index), members));
    topology = b.build();
    return applied(index);
  }

  /**
   * Group {@code index} keeps {@code keep}; a new closed group gets {@code moved}: members of
   * the group and/or nodes in no live group. Every member of the group is in one of the two.
   */
  private ManagementResult split(SplitGroup s) {
    int index = s.getIndex();
    String invalid = checkLive(index);
    if (invalid != null) {
      return refused(Refusal.REFUSAL_INVALID, invalid);
    }
    ExecutionGroupRecord g = topology.getExecutionGroups(index);
    if (merging(g)) {
      return refused(Refusal.REFUSAL_INVALID, "execution group " + index + " is being merged; it cannot be split");
    }
    invalid = checkMembers(s.getKeepList());
    if (invalid == null) {
      invalid = checkMembers(s.getMovedList());
    }
    if (invalid != null) {
      return refused(Refusal.REFUSAL_INVALID, "a split needs two non-empty groups of distinct members: " + invalid);
    }
    Set<Long> keep = new TreeSet<>(s.getKeepList());
    Set<Long> moved = new TreeSet<>(s.getMovedList());
    Set<Long> both = new TreeSet<>(keep);
    both.retainAll(moved);
    if (!both.isEmpty()) {
      return refused(Refusal.REFUSAL_INVALID, "nodes " + both + " cannot both stay in execution group " + index + " and move out of it");
    }
    Set<Long> notMembers = new TreeSet<>(keep);
    notMembers.removeAll(g.getMembersList());
    if (!notMembers.isEmpty()) {
      return refused(Refusal.REFUSAL_INVALID, "nodes " + notMembers + " are not members of execution group " + index
          + "; a split only keeps members");
    }
    Set<Long> dropped = new TreeSet<>(g.getMembersList());
    dropped.removeAll(keep);
    dropped.removeAll(moved);
    if (!dropped.isEmpty()) {
      return refused(Refusal.REFUSAL_INVALID, "members " + dropped + " of execution group " + index
          + " would be in neither group of the split");
    }
    for (long m : moved) {
      if (!g.getMembersList().contains(m)) {
        ExecutionGroupRecord other = liveGroupOf(m);
        if (other != null) {
          return refused(Refusal.REFUSAL_INVALID, "node " + m + " is a member of execution group " + other.getIndex()
              + "; a split moves members of the group or nodes in no group");
        }
      }
    }
    int created = topology.getExecutionGroupsCount();
    Topology.Builder b = topology.toBuilder();
    b.setExecutionGroups(index, withMembers(g, List.copyOf(keep)));
    b.addExecutionGroups(ExecutionGroupRecord.newBuilder()
        .setIndex(created)
        .setGroupId(naming.executionGroupId(topology.getClusterId(), created))
        .addAllMembers(moved)
        .addAllInitialMembers(moved)
        .setOpen(false));
    topology = b.build();
    return applied(created);
  }

  /** Group {@code from} closes to starts and records its merge target; it stays live until FinishMerge. */
  private ManagementResult beginMerge(BeginMerge m) {
    int from = m.getFromIndex();
    int into = m.getIntoIndex();
    if (from == into) {
      return refused(Refusal.REFUSAL_INVALID, "execution group " + from + " cannot be merged into itself");
    }
    String invalid = checkLive(from);
    if (invalid == null) {
      invalid = checkLive(into);
    }
    if (invalid != null) {
      return refused(Refusal.REFUSAL_INVALID, invalid);
    }
    ExecutionGroupRecord source = topology.getExecutionGroups(from);
    ExecutionGroupRecord target = topology.getExecutionGroups(into);
    if (merging(source)) {
      if (source.getMergeTarget().equals(target.getGroupId())) {
        return applied(from); // a retry of the same decision
      }
      return refused(Refusal.REFUSAL_INVALID, "execution group " + from + " is being merged into " + source.getMergeTarget() + " already");
    }
    if (merging(target)) {
      return refused(Refusal.REFUSAL_INVALID, "execution group " + into + " is being merged itself; it cannot take another group");
    }
    for (ExecutionGroupRecord g : topology.getExecutionGroupsList()) {
      if (merging(g) && g.getMergeTarget().equals(source.getGroupId())) {
        return refused(Refusal.REFUSAL_INVALID, "execution group " + g.getIndex() + " is being merged into execution group " + from
            + "; that merge finishes first");
      }
    }
    // No member holds a replica of its workflows: nothing could seal and export them.
    if (source.getMembersCount() == 0 || target.getMembersCount() == 0) {
      return refused(Refusal.REFUSAL_INVALID, "execution group " + (source.getMembersCount() == 0 ? from : into)
          + " has no members; it cannot take part in a merge");
    }
    Topology.Builder b = topology.toBuilder();
    b.setExecutionGroups(from, source.toBuilder().setOpen(false).setMergeTarget(target.getGroupId()));
    topology = b.build();
    return applied(from);
  }

  /**
   * Every workflow of merging group {@code from} was adopted by its target: {@code from} is
   * retired (merged_into, no members, closed) and its members join the target.
   */
  private ManagementResult finishMerge(int from) {
    String invalid = checkLive(from);
    if (invalid != null) {
      return refused(Refusal.REFUSAL_INVALID, invalid);
    }
    ExecutionGroupRecord source = topology.getExecutionGroups(from);
    if (!merging(source)) {
      return refused(Refusal.REFUSAL_INVALID, "execution group " + from + " is not being merged");
    }
    ExecutionGroupRecord target = groupById(topology, source.getMergeTarget());
    if (target == null || retired(target)) {
      return refused(Refusal.REFUSAL_INVALID, "the merge target " + source.getMergeTarget() + " of execution group " + from
          + " is not a live group");
    }
    Set<Long> joined = new TreeSet<>(target.getMembersList());
    joined.addAll(source.getMembersList());
    Topology.Builder b = topology.toBuilder();
    // merge_target is cleared: a group with merge_target set is a merge under way, a retired one is not.
    b.setExecutionGroups(from, source.toBuilder().setMergedInto(target.getGroupId()).clearMergeTarget().clearMembers()
        .setOpen(false).setRunningWorkflows(0).setPreferredLeader(0));
    b.setExecutionGroups(target.getIndex(), target.toBuilder().clearMembers().addAllMembers(joined));
    topology = b.build();
    return applied(from);
  }

  /** Moves one node from a group to another in one step (a top-up). */
  private ManagementResult move(MoveMember m) {
    int from = m.getFromIndex();
    int to = m.getToIndex();
    long node = m.getNodeId();
    if (from == to) {
      return refused(Refusal.REFUSAL_INVALID, "node " + node + " cannot move from execution group " + from + " into itself");
    }
    String invalid = checkLive(from);
    if (invalid == null) {
      invalid = checkLive(to);
    }
    if (invalid != null) {
      return refused(Refusal.REFUSAL_INVALID, invalid);
    }
    if (node(node) == null) {
      return refused(Refusal.REFUSAL_INVALID, "node " + node + " is not a member");
    }
    ExecutionGroupRecord source = topology.getExecutionGroups(from);
    ExecutionGroupRecord target = topology.getExecutionGroups(to);
    if (merging(source) || merging(target)) {
      return refused(Refusal.REFUSAL_INVALID, "execution group " + (merging(source) ? from : to)
          + " is being merged; its members do not move");
    }
    if (!source.getMembersList().contains(node)) {
      return refused(Refusal.REFUSAL_INVALID, "node " + node + " is not a member of execution group " + from);
    }
    if (target.getMembersList().contains(node)) {
      return refused(Refusal.REFUSAL_INVALID, "node " + node + " is a member of execution group " + to + " already");
    }
    if (source.getMembersCount() == 1) {
      return refused(Refusal.REFUSAL_INVALID, "node " + node + " is the last member of execution group " + from
          + "; its workflows would have no replica");
    }
    List<Long> rest = source.getMembersList().stream().filter(x -> x != node).toList();
    List<Long> grown = new ArrayList<>(target.getMembersList());
    grown.add(node);
    Topology.Builder b = topology.toBuilder();
    b.setExecutionGroups(from, withMembers(source, rest));
    b.setExecutionGroups(to, withMembers(target, grown));
    topology = b.build();
    return applied(to);
  }

  /** The running workflows of groups as their leaders reported them; one unknown or retired group refuses all. */
  private ManagementResult reportLoads(Map<Integer, Long> running) {
    for (int index : new TreeSet<>(running.keySet())) {
      String invalid = checkLive(index);
      if (invalid != null) {
        return refused(Refusal.REFUSAL_INVALID, invalid);
      }
    }
    Topology.Builder b = topology.toBuilder();
    running.forEach((index, count) -> b.setExecutionGroups(index, b.getExecutionGroups(index).toBuilder().setRunningWorkflows(count)));
    topology = b.build();
    return applied(0);
  }

  /** A node's software version, as it reports it. */
  private ManagementResult reportVersion(long nodeId, String version) {
    if (version.isEmpty() || version.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 128) {
      return refused(Refusal.REFUSAL_INVALID, "a version must be 1 to 128 bytes, got " + version.length() + " characters");
    }
    for (int i = 0; i < topology.getNodesCount(); i++) {
      if (topology.getNodes(i).getNodeId() == nodeId) {
        topology = topology.toBuilder().setNodes(i, topology.getNodes(i).toBuilder().setVersion(version)).build();
        return applied(0);
      }
    }
    return refused(Refusal.REFUSAL_INVALID, "node " + nodeId + " is not in the topology");
  }

  /** Each named group's preferred leader: one of its members, or 0 (any). */
  private ManagementResult setPreferredLeaders(Map<Integer, Long> leaders) {
    for (Map.Entry<Integer, Long> e : new TreeMap<>(leaders).entrySet()) {
      String invalid = checkLive(e.getKey());
      if (invalid != null) {
        return refused(Refusal.REFUSAL_INVALID, invalid);
      }
      if (e.getValue() != 0 && !topology.getExecutionGroups(e.getKey()).getMembersList().contains(e.getValue())) {
        return refused(Refusal.REFUSAL_INVALID, "node " + e.getValue() + " is not a member of execution group " + e.getKey()
            + "; it cannot lead it");
      }
    }
    Topology.Builder b = topology.toBuilder();
    leaders.forEach((index, node) -> b.setExecutionGroups(index, b.getExecutionGroups(index).toBuilder().setPreferredLeader(node)));
    topology = b.build();
    return applied(0);
  }

  /**
   * Records the group of a caller-chosen workflow id's first start. The earlier claim wins: its
   * group is the reply's value even when that group was merged since (a lookup resolves it).
   */
  private ManagementResult claim(ClaimWorkflowId c) {
    String id = c.getWorkflowId();
    if (id.isBlank()) {
      return refused(Refusal.REFUSAL_INVALID, "workflow id must not be blank");
    }
    if (id.length() > MAX_WORKFLOW_ID_LENGTH) {
      return refused(Refusal.REFUSAL_INVALID, "workflow id is longer than " + MAX_WORKFLOW_ID_LENGTH + " characters");
    }
    Integer earlier = claims.get(id);
    if (earlier != null) {
      return applied(earlier);
    }
    int index = c.getGroupIndex();
    ExecutionGroupRecord g = groupAt(topology, index);
    if (g == null) {
      return refused(Refusal.REFUSAL_INVALID, "no execution group " + index);
    }
    if (retired(g) || merging(g)) {
      return refused(Refusal.REFUSAL_GROUP_CLOSED, "execution group " + index + (retired(g) ? " was merged" : " is being merged")
          + "; place workflow " + id + " in another group");
    }
    if (g.getMembersCount() == 0) {
      // No replica left: a start there could never run. (A closed group with members may take a
      // claim: a node whose topology showed it open chose it.)
      return refused(Refusal.REFUSAL_GROUP_CLOSED, "execution group " + index + " has no member left; place workflow " + id
          + " in another group");
    }
    claims.put(id, index);
    return applied(index);
  }

  /** Null when group {@code index} exists and is not retired, else why not. */
  private String checkLive(int index) {
    ExecutionGroupRecord g = groupAt(topology, index);
    if (g == null) {
      return "no execution group " + index;
    }
    if (retired(g)) {
      return "execution group " + index + " was merged into " + g.getMergedInto() + "; a retired group never changes";
    }
    return null;
  }

  /** The live group {@code node} is a member of (the first by index), or null. */
  private ExecutionGroupRecord liveGroupOf(long node) {
    for (ExecutionGroupRecord g : topology.getExecutionGroupsList()) {
      if (!retired(g) && g.getMembersList().contains(node)) {
        return g;
      }
    }
    return null;
  }

  /** {@code g} with {@code members} (sorted); a preferred leader that is no longer a member is dropped. */
  private static ExecutionGroupRecord.Builder withMembers(ExecutionGroupRecord g, List<Long> members) {
    ExecutionGroupRecord.Builder b = g.toBuilder().clearMembers().addAllMembers(members.stream().sorted().toList());
    if (g.getPreferredLeader() != 0 && !members.contains(g.getPreferredLeader())) {
      b.setPreferredLeader(0);
    }
    return b;
  }

  private static boolean retired(ExecutionGroupRecord g) {
    return !g.getMergedInto().isEmpty();
  }

  private static boolean merging(ExecutionGroupRecord g) {
    return !retired(g) && !g.getMergeTarget().isEmpty();
  }

  private String checkMembers(List<Long> members) {
    Set<Long> unique = new LinkedHashSet<>(members);
    if (unique.isEmpty() || unique.size() != members.size()) {
      return "a group needs distinct members, got " + members;
    }
    List<Long> unknown = new ArrayList<>();
    for (long m : unique) {
      if (node(m) == null) {
        unknown.add(m);
      }
    }
    return unknown.isEmpty() ? null : "nodes " + unknown + " are not members";
  }

  public NodeRecord node(long nodeId) {
    int index = indexOf(nodeId);
    return index < 0 ? null : topology.getNodes(index);
  }

  private int indexOf(long nodeId) {
    for (int i = 0; i < topology.getNodesCount(); i++) {
      if (topology.getNodes(i).getNodeId() == nodeId) {
        return i;
      }
    }
    return -1;
  }

  /**
   * The record of node {@code nodeId}'s removal in {@code t}, or null while it is a member or
   * unknown to {@code t}. An id below the counter that is neither a member nor recorded was
   * removed too (ids are never reused; the oldest records are dropped).
   */
  public static RemovedNode removal(Topology t, long nodeId) {
    for (RemovedNode r : t.getRemovedList()) {
      if (r.getNodeId() == nodeId) {
        return r;
      }
    }
    boolean member = t.getNodesList().stream().anyMatch(n -> n.getNodeId() == nodeId);
    if (!member && nodeId > 0 && nodeId < t.getNextNodeId()) {
      return RemovedNode.newBuilder().setNodeId(nodeId).setReason("removed earlier (no longer recorded)").build();
    }
    return null;
  }

  private static ManagementResult applied(long value) {
    return ManagementResult.newBuilder().setApplied(true).setValue(value).build();
  }

  private static ManagementResult refused(Refusal why, String message) {
    return ManagementResult.newBuilder().setApplied(false).setRefusal(why).setError(message).build();
  }

  private static ManagementResult removedRefusal(RemovedNode gone) {
    return ManagementResult.newBuilder().setApplied(false).setRefusal(Refusal.REFUSAL_NODE_REMOVED).setRemoved(gone)
        .setError("node " + gone.getNodeId() + " was removed from the cluster (" + gone.getReason() + ")").build();
  }
}
