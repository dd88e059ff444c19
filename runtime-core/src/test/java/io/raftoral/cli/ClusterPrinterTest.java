package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.proto.client.ManagementRole;
import io.raftoral.proto.client.MemberLag;
import io.raftoral.proto.client.NodeInfo;
import org.junit.jupiter.api.Test;

/**
 * `raftoral cluster` prints each group's size, members, leader, preferred leader, running
 * workflows, each member's lag and its state (open, opening, merging, retired), in text and
 * JSON alike; a group whose leader did not report says so.
 */
class ClusterPrinterTest {
  private static final String G0 = "00000000-0000-0000-0000-000000000000";
  private static final String G1 = "11111111-1111-1111-1111-111111111111";
  private static final String G2 = "22222222-2222-2222-2222-222222222222";
  private static final String G3 = "33333333-3333-3333-3333-333333333333";

  private static ClusterInfoReply reply() {
    ClusterInfoReply.Builder c = ClusterInfoReply.newBuilder().setClusterId("blue").setNodeId(1).setManagementLeader(1);
    for (long id = 1; id <= 6; id++) {
      c.addNodes(NodeInfo.newBuilder().setNodeId(id).setRaftAddress("127.0.0.1:700" + id).setRole(ManagementRole.VOTER));
    }
    c.addExecutionGroups(ExecutionGroupInfo.newBuilder().setGroupId(G0).setIndex(0).addMembers(1).addMembers(2).addMembers(3)
        .addRaftMembers(1).addRaftMembers(2).addRaftMembers(3).setLeaderNode(2).setPreferredLeader(2).setOpen(true)
        .setRunningWorkflows(17).setCommitIndex(420)
        .addMemberLag(MemberLag.newBuilder().setNodeId(2).setMatchIndex(420))
        .addMemberLag(MemberLag.newBuilder().setNodeId(1).setMatchIndex(417).setLagEntries(3).setMillisSinceContact(12))
        .addMemberLag(MemberLag.newBuilder().setNodeId(3).setMatchIndex(420).setMillisSinceContact(40)));
    c.addExecutionGroups(ExecutionGroupInfo.newBuilder().setGroupId(G1).setIndex(1).setMergedInto(G0));
    c.addExecutionGroups(ExecutionGroupInfo.newBuilder().setGroupId(G2).setIndex(2).addMembers(4).addMembers(5)
        .setMergeTarget(G0).setLeaderNode(4).setCommitIndex(9)
        .addMemberLag(MemberLag.newBuilder().setNodeId(4).setMatchIndex(9))
        .addMemberLag(MemberLag.newBuilder().setNodeId(5).setMatchIndex(9).setMillisSinceContact(5)));
    c.addExecutionGroups(ExecutionGroupInfo.newBuilder().setGroupId(G3).setIndex(3).addMembers(6).setPreferredLeader(6));
    return c.build();
  }

  @Test
  void textShowsEachGroupsSizeLeaderLoadLagAndState() {
    String text = Printer.clusterText(reply());
    assertThat(text).contains("4 execution groups:");
    assertThat(text).contains("group 0   " + G0 + " size 3 members [1,2,3] leader node 2 (preferred: node 2), 17 running\n"
        + "    node 2    leader, commit index 420\n"
        + "    node 1    3 entries behind, last contact 12 ms ago\n"
        + "    node 3    0 entries behind, last contact 40 ms ago\n");
    assertThat(text).contains("group 1   " + G1 + " retired: merged into group 0\n");
    assertThat(text).contains("group 2   " + G2 + " size 2 members [4,5] leader node 4 (preferred: any), 0 running"
        + " (merging into group 0, closed to starts)\n");
    assertThat(text).contains("group 3   " + G3 + " size 1 members [6] leader none (preferred: node 6) (not open to starts yet)\n"
        + "    no status from its leader");
  }

  @Test
  void jsonCarriesTheSameFields() {
    JsonNode groups = Printer.cluster(reply()).path("executionGroups");
    assertThat(groups).hasSize(4);
    JsonNode g0 = groups.get(0);
    assertThat(g0.path("state").asText()).isEqualTo("open");
    assertThat(g0.path("size").asInt()).isEqualTo(3);
    assertThat(g0.path("leaderNode").asLong()).isEqualTo(2);
    assertThat(g0.path("preferredLeader").asLong()).isEqualTo(2);
    assertThat(g0.path("runningWorkflows").asLong()).isEqualTo(17);
    assertThat(g0.path("commitIndex").asLong()).isEqualTo(420);
    assertThat(g0.path("mergedInto").isNull()).isTrue();
    assertThat(g0.path("mergeTarget").isNull()).isTrue();
    JsonNode lag1 = g0.path("memberLag").get(1);
    assertThat(lag1.path("nodeId").asLong()).isEqualTo(1);
    assertThat(lag1.path("matchIndex").asLong()).isEqualTo(417);
    assertThat(lag1.path("lagEntries").asLong()).isEqualTo(3);
    assertThat(lag1.path("millisSinceContact").asLong()).isEqualTo(12);
    assertThat(groups.get(1).path("state").asText()).isEqualTo("retired");
    assertThat(groups.get(1).path("mergedInto").asText()).isEqualTo(G0);
    assertThat(groups.get(1).path("size").asInt()).isZero();
    assertThat(groups.get(2).path("state").asText()).isEqualTo("merging");
    assertThat(groups.get(2).path("mergeTarget").asText()).isEqualTo(G0);
    assertThat(groups.get(3).path("state").asText()).isEqualTo("opening");
    assertThat(groups.get(3).path("memberLag")).isEmpty();
  }
}
