package io.raftoral.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.management.CreateGroup;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.RegisterNode;
import io.raftoral.proto.management.RemoveNode;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.SetGroupMembers;
import io.raftoral.proto.management.SetRoles;
import io.raftoral.proto.management.Topology;
import io.raftoral.raft.GroupIds;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The management group's rules (SPEC §8), one command at a time. */
class ManagementStateTest {
  private final ManagementState state = new ManagementState();

  private ManagementResult apply(ManagementCommand.Builder c) {
    return state.apply(c.build());
  }

  private void bootstrapNode1() {
    Topology t = Topology.newBuilder().setClusterId("c")
        .addNodes(NodeRecord.newBuilder().setNodeId(1).setRaftAddress("h:1").setRole(Role.VOTER))
        .addExecutionGroups(ExecutionGroupRecord.newBuilder().setIndex(0)
            .setGroupId(GroupIds.execution("c", 0).getUuid().toString()).addMembers(1).addInitialMembers(1))
        .build();
    assertThat(apply(ManagementCommand.newBuilder().setBootstrap(t)).getApplied()).isTrue();
  }

  private long register(String raftAddress) {
    ManagementResult r = apply(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress(raftAddress).setApiAddress("api:" + raftAddress)));
    assertThat(r.getApplied()).isTrue();
    return r.getValue();
  }

  @Test
  void bootstrapIsRecordedOnceAndStartsTheIdCounterAfterTheHighestMember() {
    bootstrapNode1();
    assertThat(state.topology().getNextNodeId()).isEqualTo(2);
    ManagementResult again = apply(ManagementCommand.newBuilder().setBootstrap(Topology.newBuilder().setClusterId("other")
        .addNodes(NodeRecord.newBuilder().setNodeId(9))));
    assertThat(again.getApplied()).isFalse();
    assertThat(state.topology().getClusterId()).isEqualTo("c");
  }

  @Test
  void joiningNodesGetIdsFromTheCounterNeverReusedAfterARemoval() {
    bootstrapNode1();
    assertThat(register("h:2")).isEqualTo(2);
    assertThat(register("h:3")).isEqualTo(3);
    assertThat(state.node(3).getRole()).isEqualTo(Role.JOINING);
    assertThat(state.node(3).getApiAddress()).isEqualTo("api:h:3");

    apply(ManagementCommand.newBuilder().setRemoveNode(RemoveNode.newBuilder().setNodeId(3)));
    assertThat(register("h:4")).as("highest seen + 1 would reuse 3").isEqualTo(4);
  }

  @Test
  void aRetriedJoinFromTheSameAddressGetsTheSameId() {
    bootstrapNode1();
    long first = register("h:2");
    assertThat(register("h:2")).isEqualTo(first);
    assertThat(state.topology().getNodesCount()).isEqualTo(2);
  }

  @Test
  void aRestartedNodeThatWasRemovedIsRefusedNotSilentlyReadmitted() {
    bootstrapNode1();
    register("h:2");
    apply(ManagementCommand.newBuilder().setRemoveNode(RemoveNode.newBuilder().setNodeId(2)));
    ManagementResult back = apply(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress("h:2").setNodeId(2)));
    assertThat(back.getApplied()).isFalse();
    assertThat(back.getError()).contains("was removed").contains("empty data directory");
    assertThat(state.node(2)).isNull();
    assertThat(register("h:2")).as("with an empty data directory it joins as a new node").isEqualTo(3);
  }

  @Test
  void aRestartedMemberGetsItsIdBackAndForeignIdsAreRefused() {
    bootstrapNode1();
    register("h:2");
    assertThat(apply(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress("h:2").setNodeId(2))).getValue())
        .isEqualTo(2);
    assertThat(apply(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress("h:2").setNodeId(7))).getError())
        .contains("belongs to node 2");
    assertThat(apply(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress("h:5").setNodeId(42))).getError())
        .contains("was removed");
  }

  @Test
  void registeringBeforeBootstrapOrWithoutAnAddressIsRefused() {
    assertThat(apply(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress("h:2"))).getApplied()).isFalse();
    bootstrapNode1();
    ManagementResult r = apply(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress(" ")));
    assertThat(r.getApplied()).isFalse();
    assertThat(r.getError()).contains("raft address");
  }

  @Test
  void rolesChangeOnlyForNamedNodes() {
    bootstrapNode1();
    register("h:2");
    register("h:3");
    apply(ManagementCommand.newBuilder().setSetRoles(SetRoles.newBuilder().putRoles(2, Role.VOTER).putRoles(99, Role.VOTER)));
    assertThat(state.node(1).getRole()).isEqualTo(Role.VOTER);
    assertThat(state.node(2).getRole()).isEqualTo(Role.VOTER);
    assertThat(state.node(3).getRole()).isEqualTo(Role.JOINING);
    assertThat(state.node(99)).isNull();
  }

  @Test
  void groupsAreNumberedInCreationOrderWithIdsDerivedFromTheirIndex() {
    bootstrapNode1();
    register("h:2");
    register("h:3");
    ManagementResult created = apply(ManagementCommand.newBuilder().setCreateGroup(CreateGroup.newBuilder().addAllMembers(List.of(3L, 1L, 2L))));
    assertThat(created.getValue()).isEqualTo(1);
    ExecutionGroupRecord g = state.topology().getExecutionGroups(1);
    assertThat(g.getGroupId()).isEqualTo(GroupIds.execution("c", 1).getUuid().toString());
    assertThat(g.getMembersList()).containsExactly(1L, 2L, 3L);
    assertThat(g.getInitialMembersList()).containsExactly(1L, 2L, 3L);
  }

  @Test
  void groupMembersMustBeDistinctKnownNodes() {
    bootstrapNode1();
    register("h:2");
    assertThat(apply(ManagementCommand.newBuilder().setCreateGroup(CreateGroup.newBuilder().addAllMembers(List.of(1L, 7L)))).getError())
        .contains("[7]");
    assertThat(apply(ManagementCommand.newBuilder().setSetGroupMembers(SetGroupMembers.newBuilder().setIndex(0).addAllMembers(List.of(1L, 1L))))
        .getApplied()).isFalse();
    assertThat(apply(ManagementCommand.newBuilder().setSetGroupMembers(SetGroupMembers.newBuilder().setIndex(5).addMembers(1))).getError())
        .contains("no execution group 5");
    assertThat(state.topology().getExecutionGroupsCount()).isEqualTo(1);
  }

  @Test
  void changingMembersKeepsTheInitialMembers() {
    bootstrapNode1();
    register("h:2");
    apply(ManagementCommand.newBuilder().setSetGroupMembers(SetGroupMembers.newBuilder().setIndex(0).addAllMembers(List.of(2L, 1L))));
    assertThat(state.topology().getExecutionGroups(0).getMembersList()).containsExactly(1L, 2L);
    assertThat(state.topology().getExecutionGroups(0).getInitialMembersList()).containsExactly(1L);
  }

  @Test
  void removingANodeTakesItOutOfEveryGroup() {
    bootstrapNode1();
    register("h:2");
    register("h:3");
    apply(ManagementCommand.newBuilder().setSetGroupMembers(SetGroupMembers.newBuilder().setIndex(0).addAllMembers(List.of(1L, 2L, 3L))));
    apply(ManagementCommand.newBuilder().setCreateGroup(CreateGroup.newBuilder().addAllMembers(List.of(2L, 3L))));
    assertThat(apply(ManagementCommand.newBuilder().setRemoveNode(RemoveNode.newBuilder().setNodeId(2))).getApplied()).isTrue();
    assertThat(state.node(2)).isNull();
    assertThat(state.topology().getExecutionGroups(0).getMembersList()).containsExactly(1L, 3L);
    assertThat(state.topology().getExecutionGroups(1).getMembersList()).containsExactly(3L);
    assertThat(apply(ManagementCommand.newBuilder().setRemoveNode(RemoveNode.newBuilder().setNodeId(2))).getApplied()).isFalse();
  }

  @Test
  void replicasApplyingTheSameCommandsHoldTheSameTopology() {
    ManagementState other = new ManagementState();
    bootstrapNode1();
    other.apply(ManagementCommand.newBuilder().setBootstrap(state.topology()).build());
    List<ManagementCommand> commands = List.of(
        ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress("h:2")).build(),
        ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress("h:3")).build(),
        ManagementCommand.newBuilder().setCreateGroup(CreateGroup.newBuilder().addAllMembers(List.of(2L, 3L))).build(),
        ManagementCommand.newBuilder().setRemoveNode(RemoveNode.newBuilder().setNodeId(2)).build());
    for (ManagementCommand c : commands) {
      assertThat(state.apply(c)).isEqualTo(other.apply(c));
    }
    assertThat(state.topology()).isEqualTo(other.topology());
  }
}
