package io.raftoral.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.management.BeginMerge;
import io.raftoral.proto.management.ClaimWorkflowId;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.FinishMerge;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.MoveMember;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.OpenGroup;
import io.raftoral.proto.management.Refusal;
import io.raftoral.proto.management.RemoveNode;
import io.raftoral.proto.management.ReportLoads;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.SetGroupMembers;
import io.raftoral.proto.management.SetPreferredLeaders;
import io.raftoral.proto.management.SplitGroup;
import io.raftoral.proto.management.Topology;
import io.raftoral.proto.management.WorkflowIdClaim;
import io.raftoral.raft.GroupIds;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The management rules of issue 20 (SPEC §8): groups split, move members, merge and retire,
 * carry loads and preferred leaders; caller-chosen workflow ids are claimed once. Each rule is
 * applied when its structure holds and refused with a reason otherwise, leaving the topology as
 * it was.
 */
class ManagementGroupRulesTest {
  private static final long TERM = 5;
  private final ManagementState state = new ManagementState(GroupIds::executionUuid);

  private ManagementResult apply(ManagementCommand.Builder c) {
    return state.apply(c.setProposerTerm(TERM).build(), TERM);
  }

  /** Nodes 1..nodes, all voters; group i has members {@code groups[i]}, all open. */
  private void bootstrap(int nodes, List<List<Long>> groups) {
    Topology.Builder t = Topology.newBuilder().setClusterId("c");
    for (long n = 1; n <= nodes; n++) {
      t.addNodes(NodeRecord.newBuilder().setNodeId(n).setRaftAddress("h:" + n).setRole(Role.VOTER));
    }
    for (int i = 0; i < groups.size(); i++) {
      t.addExecutionGroups(ExecutionGroupRecord.newBuilder().setIndex(i).setGroupId(GroupIds.execution("c", i).uuid().toString())
          .addAllMembers(groups.get(i)).addAllInitialMembers(groups.get(i)));
    }
    assertThat(apply(ManagementCommand.newBuilder().setBootstrap(t)).getApplied()).isTrue();
  }

  private ExecutionGroupRecord group(int index) {
    return state.topology().getExecutionGroups(index);
  }

  private static ManagementCommand.Builder split(int index, List<Long> keep, List<Long> moved) {
    return ManagementCommand.newBuilder().setSplitGroup(SplitGroup.newBuilder().setIndex(index).addAllKeep(keep).addAllMoved(moved)
        .setReason("test"));
  }

  private static ManagementCommand.Builder beginMerge(int from, int into) {
    return ManagementCommand.newBuilder().setBeginMerge(BeginMerge.newBuilder().setFromIndex(from).setIntoIndex(into).setReason("test"));
  }

  private static ManagementCommand.Builder finishMerge(int from) {
    return ManagementCommand.newBuilder().setFinishMerge(FinishMerge.newBuilder().setFromIndex(from));
  }

  private static ManagementCommand.Builder move(long node, int from, int to) {
    return ManagementCommand.newBuilder().setMoveMember(MoveMember.newBuilder().setNodeId(node).setFromIndex(from).setToIndex(to)
        .setReason("test"));
  }

  private static ManagementCommand.Builder loads(int index, long running) {
    return ManagementCommand.newBuilder().setReportLoads(ReportLoads.newBuilder().putRunning(index, running));
  }

  private static ManagementCommand.Builder preferred(int index, long node) {
    return ManagementCommand.newBuilder().setSetPreferredLeaders(SetPreferredLeaders.newBuilder().putLeaders(index, node));
  }

  private static ManagementCommand.Builder open(int index) {
    return ManagementCommand.newBuilder().setOpenGroup(OpenGroup.newBuilder().setIndex(index));
  }

  /** A claim is not a leader decision: any node proposes it, with no term. */
  private ManagementResult claim(String id, int index) {
    return state.apply(ManagementCommand.newBuilder().setClaimWorkflowId(ClaimWorkflowId.newBuilder().setWorkflowId(id)
        .setGroupIndex(index)).build(), TERM);
  }

  /** Applies {@code c}, expects it refused with {@code why} and a message containing {@code says}, and the topology unchanged. */
  private ManagementResult refused(ManagementCommand.Builder c, Refusal why, String says) {
    Topology before = state.snapshotTopology();
    ManagementResult r = apply(c);
    assertThat(r.getApplied()).as(c.getKindCase() + ": " + r.getError()).isFalse();
    assertThat(r.getRefusal()).isEqualTo(why);
    assertThat(r.getError()).contains(says);
    assertThat(state.snapshotTopology()).isEqualTo(before);
    return r;
  }

  // --- SplitGroup ---

  @Test
  void aSplitKeepsSomeMembersAndCreatesAClosedGroupOfTheMovedOnesWithADerivedId() {
    bootstrap(6, List.of(List.of(1L, 2L, 3L, 4L, 5L)));
    apply(preferred(0, 5));

    ManagementResult r = apply(split(0, List.of(3L, 1L, 2L), List.of(6L, 5L, 4L)));

    assertThat(r.getApplied()).isTrue();
    assertThat(r.getValue()).as("the new group's index").isEqualTo(1);
    assertThat(group(0).getMembersList()).containsExactly(1L, 2L, 3L);
    assertThat(group(0).getInitialMembersList()).as("unchanged").containsExactly(1L, 2L, 3L, 4L, 5L);
    assertThat(group(0).getOpen()).as("the old group stays open").isTrue();
    assertThat(group(0).getPreferredLeader()).as("node 5 left it").isZero();
    ExecutionGroupRecord created = group(1);
    assertThat(created.getIndex()).isEqualTo(1);
    assertThat(created.getGroupId()).isEqualTo(GroupIds.execution("c", 1).uuid().toString());
    assertThat(created.getMembersList()).containsExactly(4L, 5L, 6L);
    assertThat(created.getInitialMembersList()).containsExactly(4L, 5L, 6L);
    assertThat(created.getOpen()).isFalse();
  }

  @Test
  void aSplitMustPartitionTheGroupsMembersIntoTwoNonEmptyGroups() {
    bootstrap(7, List.of(List.of(1L, 2L, 3L, 4L), List.of(7L)));
    refused(split(0, List.of(1L, 2L), List.of()), Refusal.REFUSAL_INVALID, "two non-empty groups");
    refused(split(0, List.of(), List.of(1L, 2L, 3L, 4L)), Refusal.REFUSAL_INVALID, "two non-empty groups");
    refused(split(0, List.of(1L, 2L), List.of(3L, 3L, 4L)), Refusal.REFUSAL_INVALID, "distinct members");
    refused(split(0, List.of(1L, 2L, 3L), List.of(3L, 4L)), Refusal.REFUSAL_INVALID, "[3] cannot both stay");
    refused(split(0, List.of(1L, 2L, 5L), List.of(3L, 4L)), Refusal.REFUSAL_INVALID, "[5] are not members of execution group 0");
    refused(split(0, List.of(1L, 2L), List.of(3L)), Refusal.REFUSAL_INVALID, "members [4] of execution group 0 would be in neither");
    refused(split(0, List.of(1L, 2L), List.of(3L, 4L, 9L)), Refusal.REFUSAL_INVALID, "[9] are not members");
    refused(split(0, List.of(1L, 2L), List.of(3L, 4L, 7L)), Refusal.REFUSAL_INVALID, "node 7 is a member of execution group 1");
    refused(split(4, List.of(1L, 2L), List.of(3L, 4L)), Refusal.REFUSAL_INVALID, "no execution group 4");
    assertThat(apply(split(0, List.of(1L, 2L), List.of(3L, 4L, 5L, 6L))).getApplied()).as("5 and 6 are in no group").isTrue();
  }

  @Test
  void aMergingOrRetiredGroupIsNotSplit() {
    bootstrap(6, List.of(List.of(1L, 2L, 3L, 4L), List.of(5L, 6L)));
    apply(beginMerge(0, 1));
    refused(split(0, List.of(1L, 2L), List.of(3L, 4L)), Refusal.REFUSAL_INVALID, "being merged");
    apply(finishMerge(0));
    refused(split(0, List.of(1L, 2L), List.of(3L, 4L)), Refusal.REFUSAL_INVALID, "retired group never changes");
  }

  // --- MoveMember ---

  @Test
  void aMoveTakesANodeOutOfOneGroupAndIntoAnotherInOneStep() {
    bootstrap(6, List.of(List.of(1L, 2L, 3L, 4L), List.of(5L, 6L)));
    apply(preferred(0, 4));

    ManagementResult r = apply(move(4, 0, 1));

    assertThat(r.getApplied()).isTrue();
    assertThat(group(0).getMembersList()).containsExactly(1L, 2L, 3L);
    assertThat(group(1).getMembersList()).containsExactly(4L, 5L, 6L);
    assertThat(group(0).getPreferredLeader()).isZero();
  }

  @Test
  void aMoveNeedsAMemberOfTheSourceThatTheTargetLacksAndLeavesTheSourceAReplica() {
    bootstrap(6, List.of(List.of(1L, 2L, 3L), List.of(4L, 5L), List.of(6L)));
    refused(move(4, 0, 1), Refusal.REFUSAL_INVALID, "node 4 is not a member of execution group 0");
    refused(move(9, 0, 1), Refusal.REFUSAL_INVALID, "node 9 is not a member");
    refused(move(1, 0, 0), Refusal.REFUSAL_INVALID, "into itself");
    refused(move(1, 0, 7), Refusal.REFUSAL_INVALID, "no execution group 7");
    refused(move(6, 2, 0), Refusal.REFUSAL_INVALID, "last member");
    apply(ManagementCommand.newBuilder().setSetGroupMembers(SetGroupMembers.newBuilder().setIndex(1).addAllMembers(List.of(1L, 4L, 5L))));
    refused(move(1, 0, 1), Refusal.REFUSAL_INVALID, "node 1 is a member of execution group 1 already");
  }

  @Test
  void noMemberMovesOutOfOrIntoAMergingGroup() {
    bootstrap(7, List.of(List.of(1L, 2L, 3L), List.of(4L, 5L), List.of(6L, 7L)));
    apply(beginMerge(1, 2));
    refused(move(1, 0, 1), Refusal.REFUSAL_INVALID, "execution group 1 is being merged");
    refused(move(4, 1, 0), Refusal.REFUSAL_INVALID, "execution group 1 is being merged");
  }

  // --- BeginMerge / FinishMerge ---

  @Test
  void aMergeClosesTheSourceThenRetiresItAndItsMembersJoinTheTarget() {
    bootstrap(5, List.of(List.of(1L, 2L, 3L), List.of(4L, 5L)));
    apply(loads(1, 7));
    apply(preferred(1, 5));

    ManagementResult begun = apply(beginMerge(1, 0));

    assertThat(begun.getApplied()).isTrue();
    assertThat(group(1).getOpen()).isFalse();
    assertThat(group(1).getMergeTarget()).isEqualTo(group(0).getGroupId());
    assertThat(group(1).getMergedInto()).as("still live: its workflows are not adopted yet").isEmpty();
    assertThat(group(1).getMembersList()).containsExactly(4L, 5L);
    assertThat(ManagementState.resolve(state.topology(), 1)).isEqualTo(group(1));
    assertThat(apply(beginMerge(1, 0)).getApplied()).as("a retry of the same decision").isTrue();

    ManagementResult finished = apply(finishMerge(1));

    assertThat(finished.getApplied()).isTrue();
    ExecutionGroupRecord retired = group(1);
    assertThat(retired.getMergedInto()).isEqualTo(group(0).getGroupId());
    assertThat(retired.getMergeTarget()).as("no merge under way any more").isEmpty();
    assertThat(retired.getMembersList()).isEmpty();
    assertThat(retired.getOpen()).isFalse();
    assertThat(retired.getRunningWorkflows()).isZero();
    assertThat(retired.getPreferredLeader()).isZero();
    assertThat(retired.getIndex()).as("keeps its index and record").isEqualTo(1);
    assertThat(group(0).getMembersList()).containsExactly(1L, 2L, 3L, 4L, 5L);
    assertThat(group(0).getOpen()).isTrue();
    assertThat(ManagementState.resolve(state.topology(), 1)).isEqualTo(group(0));
  }

  @Test
  void theTargetOfAFinishedMergeKeepsItsMembersDistinctAndSorted() {
    // A bootstrap with two groups over the same members (executionGroups = 2).
    bootstrap(4, List.of(List.of(2L, 3L, 4L), List.of(1L, 2L, 3L)));
    apply(beginMerge(0, 1));
    apply(finishMerge(0));
    assertThat(group(1).getMembersList()).containsExactly(1L, 2L, 3L, 4L);
  }

  @Test
  void aMergeNeedsTwoDistinctLiveGroupsWithMembersNeitherOfThemInAnotherMerge() {
    bootstrap(7, List.of(List.of(1L, 2L), List.of(3L, 4L), List.of(5L, 6L), List.of(7L)));
    refused(beginMerge(0, 0), Refusal.REFUSAL_INVALID, "into itself");
    refused(beginMerge(0, 9), Refusal.REFUSAL_INVALID, "no execution group 9");
    refused(beginMerge(9, 0), Refusal.REFUSAL_INVALID, "no execution group 9");
    apply(ManagementCommand.newBuilder().setRemoveNode(RemoveNode.newBuilder().setNodeId(7).setReason("gone")));
    refused(beginMerge(3, 0), Refusal.REFUSAL_INVALID, "execution group 3 has no members");
    refused(beginMerge(0, 3), Refusal.REFUSAL_INVALID, "execution group 3 has no members");

    assertThat(apply(beginMerge(1, 2)).getApplied()).isTrue();
    refused(beginMerge(1, 0), Refusal.REFUSAL_INVALID, "is being merged into " + group(2).getGroupId() + " already");
    refused(beginMerge(0, 1), Refusal.REFUSAL_INVALID, "execution group 1 is being merged itself");
    refused(beginMerge(2, 0), Refusal.REFUSAL_INVALID, "execution group 1 is being merged into execution group 2");

    apply(finishMerge(1));
    refused(beginMerge(1, 0), Refusal.REFUSAL_INVALID, "retired group never changes");
    refused(beginMerge(0, 1), Refusal.REFUSAL_INVALID, "retired group never changes");
  }

  @Test
  void onlyAMergingGroupFinishesAMerge() {
    bootstrap(4, List.of(List.of(1L, 2L), List.of(3L, 4L)));
    refused(finishMerge(0), Refusal.REFUSAL_INVALID, "execution group 0 is not being merged");
    refused(finishMerge(5), Refusal.REFUSAL_INVALID, "no execution group 5");
    apply(beginMerge(0, 1));
    apply(finishMerge(0));
    refused(finishMerge(0), Refusal.REFUSAL_INVALID, "retired group never changes");
  }

  @Test
  void aRetiredGroupNeverChangesAgainAndNeverGetsMembers() {
    bootstrap(4, List.of(List.of(1L, 2L), List.of(3L, 4L)));
    apply(beginMerge(0, 1));
    apply(finishMerge(0));
    String retired = "retired group never changes";
    refused(ManagementCommand.newBuilder().setSetGroupMembers(SetGroupMembers.newBuilder().setIndex(0).addMembers(1)),
        Refusal.REFUSAL_INVALID, retired);
    refused(move(1, 1, 0), Refusal.REFUSAL_INVALID, retired);
    refused(open(0), Refusal.REFUSAL_INVALID, retired);
    refused(loads(0, 3), Refusal.REFUSAL_INVALID, retired);
    refused(preferred(0, 0), Refusal.REFUSAL_INVALID, retired);
  }

  // --- OpenGroup ---

  @Test
  void aGroupBeingMergedIsNotOpenedAgain() {
    bootstrap(4, List.of(List.of(1L, 2L), List.of(3L, 4L)));
    apply(beginMerge(0, 1));
    refused(open(0), Refusal.REFUSAL_INVALID, "being merged");
    assertThat(apply(open(1)).getApplied()).as("opening an open group changes nothing").isTrue();
  }

  // --- ReportLoads / SetPreferredLeaders ---

  @Test
  void loadsAreRecordedPerGroupAndAReportNamingAnUnknownGroupIsRefusedWhole() {
    bootstrap(4, List.of(List.of(1L, 2L), List.of(3L, 4L)));
    assertThat(apply(ManagementCommand.newBuilder().setReportLoads(ReportLoads.newBuilder().putRunning(0, 12).putRunning(1, 3)))
        .getApplied()).isTrue();
    assertThat(apply(loads(1, 0)).getApplied()).isTrue();
    assertThat(state.topology().getExecutionGroupsList()).extracting(ExecutionGroupRecord::getRunningWorkflows).containsExactly(12L, 0L);
    refused(ManagementCommand.newBuilder().setReportLoads(ReportLoads.newBuilder().putRunning(0, 99).putRunning(2, 1)),
        Refusal.REFUSAL_INVALID, "no execution group 2");
  }

  @Test
  void aPreferredLeaderIsAMemberOfItsGroupOrNobody() {
    bootstrap(4, List.of(List.of(1L, 2L), List.of(3L, 4L)));
    assertThat(apply(ManagementCommand.newBuilder().setSetPreferredLeaders(SetPreferredLeaders.newBuilder().putLeaders(0, 2)
        .putLeaders(1, 3))).getApplied()).isTrue();
    assertThat(state.topology().getExecutionGroupsList()).extracting(ExecutionGroupRecord::getPreferredLeader).containsExactly(2L, 3L);
    refused(preferred(0, 3), Refusal.REFUSAL_INVALID, "node 3 is not a member of execution group 0");
    refused(preferred(2, 1), Refusal.REFUSAL_INVALID, "no execution group 2");
    assertThat(apply(preferred(1, 0)).getApplied()).isTrue();
    assertThat(group(1).getPreferredLeader()).isZero();
  }

  @Test
  void removingANodeClearsItAsPreferredLeaderAndChangingMembersClearsAPreferredLeaderThatLeft() {
    bootstrap(4, List.of(List.of(1L, 2L), List.of(3L, 4L)));
    apply(ManagementCommand.newBuilder().setSetPreferredLeaders(SetPreferredLeaders.newBuilder().putLeaders(0, 2).putLeaders(1, 3)));
    apply(ManagementCommand.newBuilder().setRemoveNode(RemoveNode.newBuilder().setNodeId(2).setReason("gone")));
    apply(ManagementCommand.newBuilder().setSetGroupMembers(SetGroupMembers.newBuilder().setIndex(1).addAllMembers(List.of(4L))));
    assertThat(state.topology().getExecutionGroupsList()).extracting(ExecutionGroupRecord::getPreferredLeader).containsExactly(0L, 0L);
  }

  // --- the term of every leader decision ---

  @Test
  void everyNewLeaderDecisionIsAppliedOnlyInTheTermItWasTakenIn() {
    bootstrap(6, List.of(List.of(1L, 2L, 3L, 4L), List.of(5L, 6L)));
    List<ManagementCommand.Builder> decisions = List.of(split(0, List.of(1L, 2L), List.of(3L, 4L)), beginMerge(1, 0), finishMerge(1),
        loads(0, 4), preferred(0, 2), move(4, 0, 1));
    for (ManagementCommand.Builder d : decisions) {
      Topology before = state.snapshotTopology();
      ManagementResult stale = state.apply(d.clone().setProposerTerm(TERM - 1).build(), TERM);
      assertThat(stale.getRefusal()).as(d.getKindCase().toString()).isEqualTo(Refusal.REFUSAL_STALE_TERM);
      assertThat(state.apply(d.clone().clearProposerTerm().build(), TERM).getRefusal()).isEqualTo(Refusal.REFUSAL_STALE_TERM);
      assertThat(state.snapshotTopology()).isEqualTo(before);
    }
    assertThat(apply(move(4, 0, 1)).getApplied()).as("in its own term").isTrue();
  }

  @Test
  void aClaimIsNotALeaderDecision() {
    bootstrap(2, List.of(List.of(1L, 2L)));
    ManagementResult r = state.apply(ManagementCommand.newBuilder().setClaimWorkflowId(ClaimWorkflowId.newBuilder()
        .setWorkflowId("order-1")).setProposerTerm(1).build(), 9);
    assertThat(r.getApplied()).isTrue();
  }

  // --- ClaimWorkflowId ---

  @Test
  void theFirstClaimOfAnIdWinsAndEveryLaterOneGetsItsGroup() {
    bootstrap(4, List.of(List.of(1L, 2L), List.of(3L, 4L)));
    assertThat(state.claimedGroup("order-1")).isNull();

    ManagementResult first = claim("order-1", 1);
    ManagementResult again = claim("order-1", 0);

    assertThat(first.getApplied()).isTrue();
    assertThat(first.getValue()).isEqualTo(1);
    assertThat(again.getApplied()).isTrue();
    assertThat(again.getValue()).as("the earlier claim's group").isEqualTo(1);
    assertThat(state.claimedGroup("order-1")).isEqualTo(1);
    assertThat(state.topology().getWorkflowIdClaimsList()).as("claims stay out of the published topology").isEmpty();
  }

  @Test
  void aNewIdIsNotClaimedIntoAMergingOrRetiredGroupButAnEarlierClaimThereStillHolds() {
    bootstrap(6, List.of(List.of(1L, 2L), List.of(3L, 4L), List.of(5L, 6L)));
    claim("before-the-merge", 1);
    apply(beginMerge(1, 2));

    ManagementResult merging = claim("new-1", 1);

    assertThat(merging.getApplied()).isFalse();
    assertThat(merging.getRefusal()).isEqualTo(Refusal.REFUSAL_GROUP_CLOSED);
    assertThat(merging.getError()).contains("being merged").contains("another group");
    assertThat(claim("before-the-merge", 0).getValue()).isEqualTo(1);

    apply(finishMerge(1));
    assertThat(claim("new-2", 1).getRefusal()).isEqualTo(Refusal.REFUSAL_GROUP_CLOSED);
    ManagementResult held = claim("before-the-merge", 0);
    assertThat(held.getApplied()).isTrue();
    assertThat(held.getValue()).as("its own index; a lookup resolves it").isEqualTo(1);
    assertThat(ManagementState.resolve(state.topology(), (int) held.getValue()).getIndex()).isEqualTo(2);
    assertThat(state.claimedGroup("new-1")).isNull();
    assertThat(state.claimedGroup("new-2")).isNull();
  }

  @Test
  void aClaimIntoAClosedGroupThatIsNotMergingIsRecorded() {
    bootstrap(5, List.of(List.of(1L, 2L, 3L, 4L, 5L)));
    apply(split(0, List.of(1L, 2L, 3L), List.of(4L, 5L)));
    assertThat(group(1).getOpen()).isFalse();
    assertThat(claim("x", 1).getApplied()).isTrue();
  }

  @Test
  void aClaimNeedsAValidIdAndAKnownGroup() {
    bootstrap(2, List.of(List.of(1L, 2L)));
    assertThat(claim("", 0).getError()).contains("blank");
    assertThat(claim("  ", 0).getRefusal()).isEqualTo(Refusal.REFUSAL_INVALID);
    assertThat(claim("x".repeat(513), 0).getError()).contains("longer than 512");
    assertThat(claim("x".repeat(512), 0).getApplied()).isTrue();
    ManagementResult unknown = claim("y", 3);
    assertThat(unknown.getRefusal()).isEqualTo(Refusal.REFUSAL_INVALID);
    assertThat(unknown.getError()).contains("no execution group 3");
    assertThat(state.claimedGroup("y")).isNull();
  }

  // --- resolve ---

  @Test
  void resolveFollowsAChainOfMergesToTheLiveGroup() {
    bootstrap(6, List.of(List.of(1L, 2L), List.of(3L, 4L), List.of(5L, 6L)));
    apply(beginMerge(0, 1));
    apply(finishMerge(0));
    apply(beginMerge(1, 2));
    apply(finishMerge(1));
    Topology t = state.topology();
    assertThat(ManagementState.resolve(t, 0).getIndex()).isEqualTo(2);
    assertThat(ManagementState.resolve(t, 1).getIndex()).isEqualTo(2);
    assertThat(ManagementState.resolve(t, 2).getIndex()).isEqualTo(2);
    assertThat(ManagementState.resolve(t, 2).getMembersList()).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
    assertThat(ManagementState.resolve(t, 3)).isNull();
    assertThat(ManagementState.resolve(t, -1)).isNull();
  }

  @Test
  void resolveOfAGroupMergedIntoAnUnknownIdOrACycleIsNull() {
    Topology t = Topology.newBuilder()
        .addExecutionGroups(ExecutionGroupRecord.newBuilder().setIndex(0).setGroupId("a").setMergedInto("b"))
        .addExecutionGroups(ExecutionGroupRecord.newBuilder().setIndex(1).setGroupId("b").setMergedInto("a"))
        .addExecutionGroups(ExecutionGroupRecord.newBuilder().setIndex(2).setGroupId("c").setMergedInto("nowhere"))
        .build();
    assertThat(ManagementState.resolve(t, 0)).isNull();
    assertThat(ManagementState.resolve(t, 1)).isNull();
    assertThat(ManagementState.resolve(t, 2)).isNull();
  }

  // --- snapshots ---

  @Test
  void claimsTravelInASnapshotTopologyAndComeBackIntoTheMapNotTheTopology() {
    bootstrap(4, List.of(List.of(1L, 2L), List.of(3L, 4L)));
    claim("b", 1);
    claim("a", 0);
    Topology snapshot = state.snapshotTopology();
    assertThat(snapshot.getWorkflowIdClaimsList()).as("in id order, so equal states write equal files").containsExactly(
        WorkflowIdClaim.newBuilder().setWorkflowId("a").setGroupIndex(0).build(),
        WorkflowIdClaim.newBuilder().setWorkflowId("b").setGroupIndex(1).build());

    ManagementState restored = new ManagementState(GroupIds::executionUuid);
    claim("after", 0); // not in the snapshot
    restored.restore(snapshot);

    assertThat(restored.topology()).isEqualTo(snapshot.toBuilder().clearWorkflowIdClaims().build());
    assertThat(restored.claimedGroup("a")).isEqualTo(0);
    assertThat(restored.claimedGroup("b")).isEqualTo(1);
    assertThat(restored.claimedGroup("after")).isNull();
    assertThat(restored.snapshotTopology()).isEqualTo(snapshot);
    // Restoring replaces the claims: a replica behind a snapshot holds exactly the snapshot's.
    state.restore(snapshot);
    assertThat(state.claimedGroup("after")).isNull();
  }

  @Test
  void replicasApplyingTheSameCommandsHoldTheSameTopologyAndClaims() {
    ManagementState other = new ManagementState(GroupIds::executionUuid);
    bootstrap(6, List.of(List.of(1L, 2L, 3L, 4L, 5L)));
    other.apply(ManagementCommand.newBuilder().setBootstrap(state.topology()).build(), TERM);
    List<ManagementCommand> commands = List.of(
        split(0, List.of(1L, 2L, 3L), List.of(4L, 5L, 6L)).setProposerTerm(TERM).build(),
        ManagementCommand.newBuilder().setClaimWorkflowId(ClaimWorkflowId.newBuilder().setWorkflowId("w").setGroupIndex(1)).build(),
        open(1).setProposerTerm(TERM).build(),
        move(3, 0, 1).setProposerTerm(TERM).build(),
        beginMerge(1, 0).setProposerTerm(TERM).build(),
        ManagementCommand.newBuilder().setClaimWorkflowId(ClaimWorkflowId.newBuilder().setWorkflowId("v").setGroupIndex(1)).build(),
        finishMerge(1).setProposerTerm(TERM).build(),
        loads(0, 2).setProposerTerm(TERM).build(),
        preferred(0, 4).setProposerTerm(TERM).build());
    for (ManagementCommand c : commands) {
      assertThat(state.apply(c, TERM)).isEqualTo(other.apply(c, TERM));
    }
    assertThat(state.snapshotTopology()).isEqualTo(other.snapshotTopology());
    assertThat(state.topology().getExecutionGroupsList()).extracting(ExecutionGroupRecord::getMembersList)
        .containsExactly(List.of(1L, 2L, 3L, 4L, 5L, 6L), List.of());
  }
}
