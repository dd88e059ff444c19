package io.raftoral.state;

import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.LeaveCluster;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.Refusal;
import io.raftoral.proto.management.RegisterNode;
import io.raftoral.proto.management.RemovedNode;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.Topology;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The replicated topology of the cluster and the rules that change it: nodes, their roles, the
 * node id counter, the execution groups and the removed nodes. Deterministic, no I/O, no
 * clocks (times arrive in the commands): every replica that applies the same commands holds the
 * same topology. Decisions (who joins which group, who votes, who is removed) are made by the
 * management leader and arrive here as commands; this class only validates and records them.
 *
 * <p>Every decision carries its term: a leader decision ({@code SetRoles}, {@code RemoveNode},
 * {@code CreateGroup}, {@code SetGroupMembers}) is applied only when its {@code proposer_term}
 * equals the Raft term of the entry it arrived in, so a decision taken by a leader that has
 * been deposed meanwhile is refused, whichever leader appended it. Joins and leaves are not
 * leader decisions: any node forwards them, and the rules decide on the committed topology
 * alone (identity: node id, raft address and incarnation).
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

  private final GroupNaming naming;
  private Topology topology = Topology.getDefaultInstance();

  public ManagementState(GroupNaming naming) {
    this.naming = naming;
  }

  public Topology topology() {
    return topology;
  }

  /** Takes a stored topology (a snapshot). */
  public void restore(Topology stored) {
    topology = stored;
  }

  /**
   * Applies one command committed in an entry of Raft term {@code entryTerm}.
   */
  public ManagementResult apply(ManagementCommand command, long entryTerm) {
    switch (command.getKindCase()) {
      case SET_ROLES, REMOVE_NODE, CREATE_GROUP, SET_GROUP_MEMBERS, OPEN_GROUP -> {
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
      case SPLIT_GROUP, BEGIN_MERGE, FINISH_MERGE, REPORT_LOADS, SET_PREFERRED_LEADERS, CLAIM_WORKFLOW_ID, MOVE_MEMBER ->
          refused(Refusal.REFUSAL_INVALID, "TODO issue 20: " + command.getKindCase());
      case KIND_NOT_SET -> refused(Refusal.REFUSAL_INVALID, "command without a kind");
    };
  }

  private ManagementResult bootstrap(Topology initial) {
    if (topology.getNodesCount() > 0) {
      return refused(Refusal.REFUSAL_INVALID, "the cluster is bootstrapped already");
    }
    long maxId = initial.getNodesList().stream().mapToLong(NodeRecord::getNodeId).max().orElse(0);
    Topology.Builder b = initial.toBuilder().setNextNodeId(Math.max(initial.getNextNodeId(), maxId + 1));
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
      b.setExecutionGroups(i, g.toBuilder().clearMembers().addAllMembers(g.getMembersList().stream().filter(m -> m != nodeId).toList()));
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

  /** Opens group {@code index} to starts; the open groups stay a prefix of the indices. */
  private ManagementResult openGroup(int index) {
    if (index >= topology.getExecutionGroupsCount()) {
      return refused(Refusal.REFUSAL_INVALID, "no execution group " + index);
    }
    if (index > 0 && !topology.getExecutionGroups(index - 1).getOpen()) {
      return refused(Refusal.REFUSAL_INVALID, "execution group " + (index - 1) + " is not open yet; groups open in order");
    }
    Topology.Builder b = topology.toBuilder();
    b.setExecutionGroups(index, b.getExecutionGroups(index).toBuilder().setOpen(true));
    topology = b.build();
    return applied(index);
  }

  private ManagementResult setGroupMembers(int index, List<Long> members) {
    if (index >= topology.getExecutionGroupsCount()) {
      return refused(Refusal.REFUSAL_INVALID, "no execution group " + index);
    }
    String invalid = checkMembers(members);
    if (invalid != null) {
      return refused(Refusal.REFUSAL_INVALID, invalid);
    }
    Topology.Builder b = topology.toBuilder();
    b.setExecutionGroups(index, b.getExecutionGroups(index).toBuilder().clearMembers().addAllMembers(members.stream().sorted().toList()));
    topology = b.build();
    return applied(index);
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
