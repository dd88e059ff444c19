package io.raftoral.state;

import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.RegisterNode;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.Topology;
import io.raftoral.raft.GroupIds;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The replicated topology of the cluster and the rules that change it: nodes, their roles, the
 * node id counter and the execution groups. Deterministic, no I/O: every replica that applies
 * the same commands holds the same topology. Decisions (who joins which group, who votes) are
 * made by the management leader and arrive here as commands; this class only validates and
 * records them.
 */
public final class ManagementState {
  private Topology topology = Topology.getDefaultInstance();

  public Topology topology() {
    return topology;
  }

  /** Takes a stored topology (a snapshot). */
  public void restore(Topology stored) {
    topology = stored;
  }

  public ManagementResult apply(ManagementCommand command) {
    return switch (command.getKindCase()) {
      case BOOTSTRAP -> bootstrap(command.getBootstrap());
      case REGISTER_NODE -> register(command.getRegisterNode());
      case SET_ROLES -> setRoles(command.getSetRoles().getRolesMap());
      case REMOVE_NODE -> remove(command.getRemoveNode().getNodeId());
      case CREATE_GROUP -> createGroup(command.getCreateGroup().getMembersList());
      case SET_GROUP_MEMBERS -> setGroupMembers(command.getSetGroupMembers().getIndex(), command.getSetGroupMembers().getMembersList());
      case KIND_NOT_SET -> refused("command without a kind");
    };
  }

  private ManagementResult bootstrap(Topology initial) {
    if (topology.getNodesCount() > 0) {
      return refused("the cluster is bootstrapped already");
    }
    long maxId = initial.getNodesList().stream().mapToLong(NodeRecord::getNodeId).max().orElse(0);
    topology = initial.toBuilder().setNextNodeId(Math.max(initial.getNextNodeId(), maxId + 1)).build();
    return applied(0);
  }

  private ManagementResult register(RegisterNode r) {
    if (topology.getNodesCount() == 0) {
      return refused("the cluster is not bootstrapped yet");
    }
    if (r.getRaftAddress().isBlank()) {
      return refused("a joining node needs a raft address");
    }
    for (NodeRecord n : topology.getNodesList()) {
      if (n.getRaftAddress().equals(r.getRaftAddress())) {
        if (r.getNodeId() != 0 && r.getNodeId() != n.getNodeId()) {
          return refused("raft address " + r.getRaftAddress() + " belongs to node " + n.getNodeId() + ", not node " + r.getNodeId());
        }
        // A retried join, or a restarted member: same id, no second registration.
        return applied(n.getNodeId());
      }
    }
    if (r.getNodeId() != 0) {
      // A restarted node the cluster removed while it was down: its replicas are stale and its
      // place in the groups has been filled. It must come back as a new node, with a new id.
      return refused("node " + r.getNodeId() + " was removed from the cluster while it was down (unreachable for longer "
          + "than the node failure timeout); its data directory is stale. Start it with an empty data directory to "
          + "join again as a new node");
    }
    long id = topology.getNextNodeId();
    topology = topology.toBuilder()
        .addNodes(NodeRecord.newBuilder().setNodeId(id).setRaftAddress(r.getRaftAddress()).setApiAddress(r.getApiAddress()).setRole(Role.JOINING))
        .setNextNodeId(id + 1)
        .build();
    return applied(id);
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

  private ManagementResult remove(long nodeId) {
    if (node(nodeId) == null) {
      return refused("node " + nodeId + " is not a member");
    }
    Topology.Builder b = topology.toBuilder().clearNodes();
    topology.getNodesList().stream().filter(n -> n.getNodeId() != nodeId).forEach(b::addNodes);
    for (int i = 0; i < b.getExecutionGroupsCount(); i++) {
      ExecutionGroupRecord g = b.getExecutionGroups(i);
      b.setExecutionGroups(i, g.toBuilder().clearMembers().addAllMembers(g.getMembersList().stream().filter(m -> m != nodeId).toList()));
    }
    topology = b.build();
    return applied(nodeId);
  }

  private ManagementResult createGroup(List<Long> members) {
    String invalid = checkMembers(members);
    if (invalid != null) {
      return refused(invalid);
    }
    int index = topology.getExecutionGroupsCount();
    List<Long> sorted = members.stream().sorted().toList();
    topology = topology.toBuilder().addExecutionGroups(ExecutionGroupRecord.newBuilder()
        .setIndex(index)
        .setGroupId(GroupIds.execution(topology.getClusterId(), index).getUuid().toString())
        .addAllMembers(sorted)
        .addAllInitialMembers(sorted)).build();
    return applied(index);
  }

  private ManagementResult setGroupMembers(int index, List<Long> members) {
    if (index >= topology.getExecutionGroupsCount()) {
      return refused("no execution group " + index);
    }
    String invalid = checkMembers(members);
    if (invalid != null) {
      return refused(invalid);
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
    for (NodeRecord n : topology.getNodesList()) {
      if (n.getNodeId() == nodeId) {
        return n;
      }
    }
    return null;
  }

  private static ManagementResult applied(long value) {
    return ManagementResult.newBuilder().setApplied(true).setValue(value).build();
  }

  private static ManagementResult refused(String why) {
    return ManagementResult.newBuilder().setApplied(false).setError(why).build();
  }
}
