package io.raftoral.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.management.BeginMerge;
import io.raftoral.proto.management.ClaimWorkflowId;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.FinishMerge;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.Refusal;
import io.raftoral.proto.management.RemoveNode;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.Topology;
import io.raftoral.raft.GroupIds;
import org.junit.jupiter.api.Test;

/** Break tests (issue 20) of the management rules: claims, merges, groups that lose every member. */
class ManagementGroupEdgeTest {
  private static final long TERM = 3;
  private final ManagementState state = new ManagementState(GroupIds::executionUuid);

  private ManagementResult apply(ManagementCommand.Builder c) {
    return state.apply(c.setProposerTerm(TERM).build(), TERM);
  }

  /** Nodes 1..6; group 0 = {1,2,3}, group 1 = {4,5,6}, group 2 = {} placeholder-free: only two groups, both open. */
  private void bootstrapTwoGroups() {
    Topology.Builder t = Topology.newBuilder().setClusterId("c");
    for (long n = 1; n <= 6; n++) {
      t.addNodes(NodeRecord.newBuilder().setNodeId(n).setRaftAddress("h:" + n).setRole(n <= 3 ? Role.VOTER : Role.LISTENER));
    }
    for (int i = 0; i < 2; i++) {
      ExecutionGroupRecord.Builder g = ExecutionGroupRecord.newBuilder().setIndex(i)
          .setGroupId(GroupIds.execution("c", i).uuid().toString()).setOpen(true);
      for (long n = 1 + 3L * i; n <= 3 + 3L * i; n++) {
        g.addMembers(n).addInitialMembers(n);
      }
      t.addExecutionGroups(g);
    }
    assertThat(apply(ManagementCommand.newBuilder().setBootstrap(t)).getApplied()).isTrue();
  }

  private ManagementResult claim(String id, int index) {
    return apply(ManagementCommand.newBuilder().setClaimWorkflowId(ClaimWorkflowId.newBuilder().setWorkflowId(id).setGroupIndex(index)));
  }

  /**
   * Three nodes of one group die and are removed: the group has no replica left. Starts must not
   * go there (Routing.place and the client's GroupChooser pick among open groups; a claim there
   * names a group that can never start the workflow).
   */
  @Test
  void aGroupThatLostEveryMemberTakesNoStartsAndNoClaims() {
    bootstrapTwoGroups();
    for (long n = 4; n <= 6; n++) {
      assertThat(apply(ManagementCommand.newBuilder().setRemoveNode(RemoveNode.newBuilder().setNodeId(n).setReason("dead")))
          .getApplied()).isTrue();
    }
    ExecutionGroupRecord g1 = state.topology().getExecutionGroups(1);
    assertThat(g1.getMembersList()).isEmpty();
    ManagementResult r = claim("order-1", 1);
    assertThat(r.getApplied()).as("a claim into a group without members: %s", r).isFalse();
    assertThat(r.getRefusal()).isEqualTo(Refusal.REFUSAL_GROUP_CLOSED);
    assertThat(g1.getOpen()).as("a group without members is open to starts").isFalse();
  }

  @Test
  void claimsSurviveASnapshotAndTheFirstClaimWinsAcrossAMergeChain() {
    bootstrapTwoGroups();
    assertThat(claim("a", 1).getValue()).isEqualTo(1);
    assertThat(claim("a", 0).getValue()).as("the first claim wins").isEqualTo(1);
    assertThat(claim(" ", 0).getRefusal()).isEqualTo(Refusal.REFUSAL_INVALID);
    assertThat(claim("x".repeat(513), 0).getRefusal()).isEqualTo(Refusal.REFUSAL_INVALID);
    assertThat(claim("x".repeat(512), 0).getApplied()).isTrue();
    assertThat(claim("b", 7).getRefusal()).isEqualTo(Refusal.REFUSAL_INVALID);
    assertThat(claim("b", -1).getRefusal()).isEqualTo(Refusal.REFUSAL_INVALID);

    assertThat(apply(ManagementCommand.newBuilder().setBeginMerge(BeginMerge.newBuilder().setFromIndex(1).setIntoIndex(0)))
        .getApplied()).isTrue();
    assertThat(claim("c", 1).getRefusal()).as("claim into a merging group").isEqualTo(Refusal.REFUSAL_GROUP_CLOSED);
    assertThat(claim("a", 0).getValue()).as("an earlier claim still answers its index").isEqualTo(1);
    assertThat(apply(ManagementCommand.newBuilder().setFinishMerge(FinishMerge.newBuilder().setFromIndex(1))).getApplied()).isTrue();
    assertThat(ManagementState.resolve(state.topology(), 1).getIndex()).isEqualTo(0);
    assertThat(state.topology().getExecutionGroups(0).getMembersList()).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
    assertThat(claim("d", 1).getRefusal()).isEqualTo(Refusal.REFUSAL_GROUP_CLOSED);
    assertThat(apply(ManagementCommand.newBuilder().setFinishMerge(FinishMerge.newBuilder().setFromIndex(1))).getApplied())
        .as("a retired group never changes").isFalse();

    ManagementState restored = new ManagementState(GroupIds::executionUuid);
    restored.restore(state.snapshotTopology());
    assertThat(restored.topology()).isEqualTo(state.topology());
    assertThat(restored.claimedGroup("a")).isEqualTo(1);
    assertThat(restored.claimedGroup("x".repeat(512))).isEqualTo(0);
    assertThat(restored.snapshotTopology()).isEqualTo(state.snapshotTopology());
  }
}
