package io.raftoral.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.management.CreateGroup;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.LeaveCluster;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.Refusal;
import io.raftoral.proto.management.RegisterNode;
import io.raftoral.proto.management.RemoveNode;
import io.raftoral.proto.management.RemovedNode;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.SetGroupMembers;
import io.raftoral.proto.management.SetRoles;
import io.raftoral.proto.management.Topology;
import io.raftoral.raft.GroupIds;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The management group's rules (SPEC §8): the term of every decision, identities and removals, one command at a time. */
class ManagementStateTest {
  private static final long TERM = 3;
  private final ManagementState state = new ManagementState(io.raftoral.raft.GroupIds::executionUuid);

  /** Applies {@code c} as the current leader would: decided and appended in the same term. */
  private ManagementResult apply(ManagementCommand.Builder c) {
    return state.apply(c.setProposerTerm(TERM).build(), TERM);
  }

  private void bootstrapNode1() {
    Topology t = Topology.newBuilder().setClusterId("c")
        .addNodes(NodeRecord.newBuilder().setNodeId(1).setRaftAddress("h:1").setRole(Role.VOTER))
        .addExecutionGroups(ExecutionGroupRecord.newBuilder().setIndex(0)
            .setGroupId(GroupIds.execution("c", 0).uuid().toString()).addMembers(1).addInitialMembers(1))
        .build();
    assertThat(apply(ManagementCommand.newBuilder().setBootstrap(t)).getApplied()).isTrue();
  }

  private long register(String raftAddress) {
    return register(raftAddress, "inc-" + raftAddress);
  }

  private long register(String raftAddress, String incarnation) {
    ManagementResult r = apply(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress(raftAddress)
        .setApiAddress("api:" + raftAddress).setIncarnation(incarnation).setAtMillis(1000)));
    assertThat(r.getApplied()).isTrue();
    return r.getValue();
  }

  @Test
  void aNodeReportsItsVersionWhichARestartWithAnotherOneReplaces() {
    bootstrapNode1();
    long two = register("h:2");
    assertThat(state.topology().getNodesList()).allSatisfy(n -> assertThat(n.getVersion()).isEmpty());
    assertThat(apply(ManagementCommand.newBuilder().setReportVersion(
        io.raftoral.proto.management.ReportVersion.newBuilder().setNodeId(two).setVersion("0.1.0")))).extracting(
        ManagementResult::getApplied).isEqualTo(true);
    assertThat(apply(ManagementCommand.newBuilder().setReportVersion(
        io.raftoral.proto.management.ReportVersion.newBuilder().setNodeId(1).setVersion("0.2.0"))).getApplied()).isTrue();
    assertThat(state.topology().getNodesList()).extracting(NodeRecord::getVersion).containsExactly("0.2.0", "0.1.0");
    // Not a leader decision: a report appended in a later term than it was made in still applies.
    assertThat(state.apply(ManagementCommand.newBuilder().setReportVersion(io.raftoral.proto.management.ReportVersion.newBuilder()
        .setNodeId(two).setVersion("0.3.0")).setProposerTerm(1).build(), TERM).getApplied()).isTrue();
    assertThat(state.topology().getNodesList()).extracting(NodeRecord::getVersion).containsExactly("0.2.0", "0.3.0");
  }

  @Test
  void aVersionReportOfAnUnknownNodeOrWithAnEmptyOrOversizedVersionIsRefused() {
    bootstrapNode1();
    Topology before = state.topology();
    for (var report : List.of(
        io.raftoral.proto.management.ReportVersion.newBuilder().setNodeId(7).setVersion("1"),
        io.raftoral.proto.management.ReportVersion.newBuilder().setNodeId(1).setVersion(""),
        io.raftoral.proto.management.ReportVersion.newBuilder().setNodeId(1).setVersion("x".repeat(129)))) {
      ManagementResult r = apply(ManagementCommand.newBuilder().setReportVersion(report));
      assertThat(r.getApplied()).isFalse();
      assertThat(r.getRefusal()).isEqualTo(Refusal.REFUSAL_INVALID);
    }
    assertThat(state.topology()).isEqualTo(before);
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

    remove(3, "gone", 0);
    assertThat(register("h:4")).as("highest seen + 1 would reuse 3").isEqualTo(4);
  }

  @Test
  void aRetriedJoinFromTheSameAddressGetsTheSameId() {
    bootstrapNode1();
    long first = register("h:2");
    assertThat(register("h:2")).isEqualTo(first);
    assertThat(state.topology().getNodesCount()).isEqualTo(2);
  }

  private ManagementResult rejoin(long id, String raftAddress, String incarnation, String apiAddress) {
    return apply(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setNodeId(id).setRaftAddress(raftAddress)
        .setIncarnation(incarnation).setApiAddress(apiAddress)));
  }

  private ManagementResult remove(long id, String reason, long atMillis) {
    return apply(ManagementCommand.newBuilder().setRemoveNode(RemoveNode.newBuilder().setNodeId(id).setReason(reason).setAtMillis(atMillis)));
  }

  @Test
  void aRestartedNodeThatWasRemovedIsRefusedNotSilentlyReadmitted() {
    bootstrapNode1();
    register("h:2");
    remove(2, "no answer for 31000 ms", 5000);
    ManagementResult back = rejoin(2, "h:2", "inc-h:2", "api:h:2");
    assertThat(back.getApplied()).isFalse();
    assertThat(back.getRefusal()).isEqualTo(Refusal.REFUSAL_NODE_REMOVED);
    assertThat(back.getRemoved().getReason()).isEqualTo("no answer for 31000 ms");
    assertThat(back.getRemoved().getRemovedAtMillis()).isEqualTo(5000);
    assertThat(state.node(2)).isNull();
    assertThat(register("h:2", "fresh")).as("with an empty data directory it joins as a new node").isEqualTo(3);
  }

  @Test
  void aRestartedMemberKeepsItsIdAndItsNewApiAddressIsRecorded() {
    bootstrapNode1();
    register("h:2");
    ManagementResult back = rejoin(2, "h:2", "inc-h:2", "api:moved");
    assertThat(back.getApplied()).isTrue();
    assertThat(back.getValue()).isEqualTo(2);
    assertThat(state.node(2).getApiAddress()).isEqualTo("api:moved");
    assertThat(state.topology().getNodesCount()).isEqualTo(2);
  }

  @Test
  void aRestartWithAnotherRaftAddressIsRefusedSayingSo() {
    bootstrapNode1();
    register("h:2");
    ManagementResult moved = rejoin(2, "h:9", "inc-h:2", "api:h:2");
    assertThat(moved.getRefusal()).isEqualTo(Refusal.REFUSAL_ADDRESS_CHANGED);
    assertThat(moved.getError()).contains("raft address h:2, not h:9").contains("--raft-addr h:2").doesNotContain("removed");
    assertThat(state.node(2).getRaftAddress()).isEqualTo("h:2");
  }

  @Test
  void anIdIsClaimedOnlyByItsOwnIncarnationAndUnknownIdsAreRefused() {
    bootstrapNode1();
    register("h:2");
    assertThat(rejoin(2, "h:2", "someone-else", "api:x").getApplied()).isFalse();
    assertThat(rejoin(42, "h:5", "inc", "api:x").getError()).contains("never a member");
    assertThat(state.node(2).getApiAddress()).isEqualTo("api:h:2");
  }

  @Test
  void aBootstrapMemberRecordsItsIncarnationAtItsFirstRestart() {
    bootstrapNode1();
    assertThat(rejoin(1, "h:1", "inc-1", "api:1").getApplied()).isTrue();
    assertThat(state.node(1).getIncarnation()).isEqualTo("inc-1");
    assertThat(rejoin(1, "h:1", "another", "api:1").getApplied()).as("recorded now: another one is refused").isFalse();
  }

  @Test
  void aJoinFromAKnownRaftAddressWithAnotherIncarnationIsAWipedNodeAndGetsANewId() {
    bootstrapNode1();
    register("h:2");
    register("h:3");
    apply(ManagementCommand.newBuilder().setSetGroupMembers(SetGroupMembers.newBuilder().setIndex(0).addAllMembers(List.of(1L, 2L, 3L))));

    long wiped = register("h:3", "after-the-wipe");
    assertThat(wiped).as("never its old id: it has no log").isEqualTo(4);
    assertThat(state.node(3)).isNull();
    assertThat(state.node(4).getIncarnation()).isEqualTo("after-the-wipe");
    assertThat(state.topology().getExecutionGroups(0).getMembersList()).containsExactly(1L, 2L);
    RemovedNode gone = state.topology().getRemovedList().getLast();
    assertThat(gone.getNodeId()).isEqualTo(3);
    assertThat(gone.getIncarnation()).isEqualTo("inc-h:3");
    assertThat(gone.getReason()).contains("without its data directory");
    assertThat(gone.getRemovedAtMillis()).isEqualTo(1000);
  }

  @Test
  void aLateRetryOfARemovedIncarnationsJoinIsRefusedAndRemovesNobody() {
    bootstrapNode1();
    register("h:3", "first");
    long second = register("h:3", "second"); // the first incarnation was wiped
    ManagementResult late = apply(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder()
        .setRaftAddress("h:3").setIncarnation("first")));
    assertThat(late.getRefusal()).isEqualTo(Refusal.REFUSAL_NODE_REMOVED);
    assertThat(state.node(second)).as("the current incarnation stays").isNotNull();
  }

  @Test
  void aJoinWithoutAnIncarnationIsRefused() {
    bootstrapNode1();
    ManagementResult r = apply(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress("h:2")));
    assertThat(r.getRefusal()).isEqualTo(Refusal.REFUSAL_INVALID);
    assertThat(r.getError()).contains("incarnation");
  }

  @Test
  void aRemovalIsRecordedWithAddressesIncarnationTimeAndReason() {
    bootstrapNode1();
    register("h:2");
    assertThat(remove(2, "no answer for 31000 ms", 1234).getApplied()).isTrue();
    assertThat(state.topology().getRemovedList()).containsExactly(RemovedNode.newBuilder().setNodeId(2).setRaftAddress("h:2")
        .setApiAddress("api:h:2").setIncarnation("inc-h:2").setRemovedAtMillis(1234).setReason("no answer for 31000 ms").build());
    assertThat(ManagementState.removal(state.topology(), 2).getReason()).isEqualTo("no answer for 31000 ms");
    assertThat(ManagementState.removal(state.topology(), 1)).as("a member").isNull();
    assertThat(ManagementState.removal(state.topology(), 9)).as("never allocated").isNull();
  }

  @Test
  void onlyTheNewestRemovalsAreKeptButAnOlderIdStillCountsAsRemoved() {
    bootstrapNode1();
    for (int i = 0; i < ManagementState.MAX_REMOVED + 5; i++) {
      long id = register("h:" + (100 + i));
      remove(id, "gone " + i, i);
    }
    assertThat(state.topology().getRemovedCount()).isEqualTo(ManagementState.MAX_REMOVED);
    assertThat(state.topology().getRemoved(0).getReason()).isEqualTo("gone 5");
    assertThat(ManagementState.removal(state.topology(), 2)).as("dropped from the records, still removed").isNotNull();
    assertThat(rejoin(2, "h:100", "inc-h:100", "api").getRefusal()).isEqualTo(Refusal.REFUSAL_NODE_REMOVED);
  }

  @Test
  void aLeaderDecisionIsAppliedOnlyInTheTermItWasTakenIn() {
    bootstrapNode1();
    register("h:2");
    register("h:3");
    List<ManagementCommand.Builder> decisions = List.of(
        ManagementCommand.newBuilder().setRemoveNode(RemoveNode.newBuilder().setNodeId(2).setReason("no answer for 20114 ms")),
        ManagementCommand.newBuilder().setSetRoles(SetRoles.newBuilder().putRoles(2, Role.LISTENER)),
        ManagementCommand.newBuilder().setCreateGroup(CreateGroup.newBuilder().addAllMembers(List.of(2L, 3L))),
        ManagementCommand.newBuilder().setSetGroupMembers(SetGroupMembers.newBuilder().setIndex(0).addAllMembers(List.of(1L, 3L))),
        ManagementCommand.newBuilder().setOpenGroup(io.raftoral.proto.management.OpenGroup.newBuilder().setIndex(0)));
    Topology before = state.topology();
    for (ManagementCommand.Builder d : decisions) {
      // A resumed leader of term 3 whose decision was appended by the leader of term 4.
      ManagementResult stale = state.apply(d.clone().setProposerTerm(3).build(), 4);
      assertThat(stale.getApplied()).as(d.getKindCase().toString()).isFalse();
      assertThat(stale.getRefusal()).isEqualTo(Refusal.REFUSAL_STALE_TERM);
      // A decision that names no term at all.
      assertThat(state.apply(d.clone().clearProposerTerm().build(), 4).getRefusal()).isEqualTo(Refusal.REFUSAL_STALE_TERM);
    }
    assertThat(state.topology()).isEqualTo(before);
    assertThat(state.apply(decisions.getFirst().clone().setProposerTerm(4).build(), 4).getApplied()).isTrue();
    assertThat(state.node(2)).isNull();
  }

  @Test
  void joinsAndLeavesAreNotLeaderDecisionsAndCarryNoTerm() {
    bootstrapNode1();
    ManagementResult joined = state.apply(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder()
        .setRaftAddress("h:2").setIncarnation("i2")).build(), 7);
    assertThat(joined.getApplied()).isTrue();
    ManagementResult left = state.apply(ManagementCommand.newBuilder().setLeaveCluster(LeaveCluster.newBuilder()
        .setNodeId(joined.getValue()).setIncarnation("i2").setReason("raft address in use")).build(), 8);
    assertThat(left.getApplied()).isTrue();
  }

  @Test
  void onlyANeverStartedRegistrationOfTheSameIncarnationCanLeave() {
    bootstrapNode1();
    long id = register("h:2", "mine");
    ManagementCommand.Builder otherIncarnation = ManagementCommand.newBuilder().setLeaveCluster(LeaveCluster.newBuilder()
        .setNodeId(id).setIncarnation("not-mine").setReason("x"));
    assertThat(apply(otherIncarnation).getApplied()).isFalse();
    apply(ManagementCommand.newBuilder().setSetRoles(SetRoles.newBuilder().putRoles(id, Role.VOTER)));
    ManagementCommand.Builder running = ManagementCommand.newBuilder().setLeaveCluster(LeaveCluster.newBuilder()
        .setNodeId(id).setIncarnation("mine").setReason("x"));
    assertThat(apply(running).getError()).contains("runs already");
    assertThat(state.node(id)).isNotNull();

    long never = register("h:3", "never-ran");
    assertThat(apply(ManagementCommand.newBuilder().setLeaveCluster(LeaveCluster.newBuilder()
        .setNodeId(never).setIncarnation("never-ran").setReason("raft address 127.0.0.1:7003 is in use").setAtMillis(9))).getApplied())
        .isTrue();
    assertThat(state.node(never)).isNull();
    assertThat(state.topology().getRemovedList().getLast().getReason()).contains("raft address 127.0.0.1:7003 is in use");
  }

  @Test
  void registeringBeforeBootstrapOrWithoutAnAddressIsRefused() {
    assertThat(apply(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress("h:2").setIncarnation("i")))
        .getRefusal()).isEqualTo(Refusal.REFUSAL_NOT_BOOTSTRAPPED);
    bootstrapNode1();
    ManagementResult r = apply(ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress(" ").setIncarnation("i")));
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
    assertThat(g.getGroupId()).isEqualTo(GroupIds.execution("c", 1).uuid().toString());
    assertThat(g.getMembersList()).containsExactly(1L, 2L, 3L);
    assertThat(g.getInitialMembersList()).containsExactly(1L, 2L, 3L);
  }

  // Starts are placed in open groups only: the bootstrap's groups are open from the start, a
  // group created later is closed until the leader opens it, in any order (a start picks among
  // the open groups by load, not by a hash over a prefix of the indices).
  @Test
  void bootstrapGroupsAreOpenAndACreatedGroupStaysClosedUntilOpenedInAnyOrder() {
    bootstrapNode1();
    register("h:2");
    register("h:3");
    assertThat(state.topology().getExecutionGroups(0).getOpen()).isTrue();
    apply(ManagementCommand.newBuilder().setCreateGroup(CreateGroup.newBuilder().addAllMembers(List.of(1L, 2L, 3L))));
    apply(ManagementCommand.newBuilder().setCreateGroup(CreateGroup.newBuilder().addAllMembers(List.of(1L, 2L, 3L))));
    assertThat(state.topology().getExecutionGroups(1).getOpen()).isFalse();

    ManagementResult second = apply(ManagementCommand.newBuilder().setOpenGroup(io.raftoral.proto.management.OpenGroup.newBuilder().setIndex(2)));

    assertThat(second.getApplied()).isTrue();
    assertThat(state.topology().getExecutionGroupsList()).extracting(ExecutionGroupRecord::getOpen).containsExactly(true, false, true);
    assertThat(apply(ManagementCommand.newBuilder().setOpenGroup(io.raftoral.proto.management.OpenGroup.newBuilder().setIndex(3))).getError())
        .contains("no execution group 3");
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
    assertThat(remove(2, "gone", 0).getApplied()).isTrue();
    assertThat(state.node(2)).isNull();
    assertThat(state.topology().getExecutionGroups(0).getMembersList()).containsExactly(1L, 3L);
    assertThat(state.topology().getExecutionGroups(1).getMembersList()).containsExactly(3L);
    assertThat(remove(2, "gone", 0).getApplied()).isFalse();
  }

  @Test
  void replicasApplyingTheSameCommandsHoldTheSameTopology() {
    ManagementState other = new ManagementState(io.raftoral.raft.GroupIds::executionUuid);
    bootstrapNode1();
    other.apply(ManagementCommand.newBuilder().setBootstrap(state.topology()).build(), TERM);
    List<ManagementCommand> commands = List.of(
        ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress("h:2").setIncarnation("a")).build(),
        ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress("h:3").setIncarnation("b")).build(),
        ManagementCommand.newBuilder().setCreateGroup(CreateGroup.newBuilder().addAllMembers(List.of(2L, 3L))).setProposerTerm(TERM).build(),
        ManagementCommand.newBuilder().setRegisterNode(RegisterNode.newBuilder().setRaftAddress("h:3").setIncarnation("c")).build(),
        ManagementCommand.newBuilder().setRemoveNode(RemoveNode.newBuilder().setNodeId(2).setAtMillis(7)).setProposerTerm(TERM).build());
    for (ManagementCommand c : commands) {
      assertThat(state.apply(c, TERM)).isEqualTo(other.apply(c, TERM));
    }
    assertThat(state.topology()).isEqualTo(other.topology());
  }
}
