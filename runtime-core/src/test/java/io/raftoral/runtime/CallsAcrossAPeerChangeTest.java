package io.raftoral.runtime;

import static io.raftoral.runtime.ClusterProbe.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftoral.TestCluster;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.Proposer;
import io.raftoral.raft.RaftHost;
import io.raftoral.workflow.JsonCodec;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Rule (issue 20): a call in flight to a group's leader is answered when the group's member list
 * changes meanwhile. Every node learns a new member list of a group at once (a merge that ends,
 * a join, a removal) and builds new clients for it; a call still on the old client must not fail
 * with that client closed under it (a merge made terminations and awaits fail that way, each
 * with the group's leader there throughout).
 *
 * <p>Scenario: 3 real Ratis nodes; node 1 leads group 0 and its replica holds its apply thread,
 * so a start proposed from node 2 (through node 2's client of the group) is committed but not
 * answered; node 2 then learns a member list with one more member; the apply goes on.
 */
class CallsAcrossAPeerChangeTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private TestCluster cluster;

  @BeforeEach
  void start() {
    cluster = TestCluster.start(3, null, (node, b) -> b.requestTimeout(Duration.ofSeconds(30))
        .register(WorkflowDefinition.of("echo", 1, String.class, String.class, (ctx, in) -> in)));
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  @Test
  void aCallInFlightIsAnsweredWhenTheGroupsMembersChange() throws Exception {
    cluster.makeOwner(1);
    NodeInspector node2 = cluster.node(2).inspector();
    GroupId group = node2.executionGroupIds().getFirst();
    String id = node2.workflowIdIn(0);
    CompletableFuture<Proposer.Outcome> call;
    try (ClusterProbe.Stall leaderApply = ClusterProbe.applyStall(
        ClusterProbe.group(cluster, 1, group.uuid().toString()).stateMachine())) {
      call = node2.propose(group, Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder().setWorkflowId(id)
          .setType("echo").setVersion(1).setInput(ByteString.copyFrom(new JsonCodec().encode("x")))
          .setStartedAtMillis(System.currentTimeMillis())).build());
      await("the start committed", WAIT, () -> committedOn(cluster.node(1).inspector(), group, id));
      assertThat(call).isNotDone();

      Map<Long, String> more = new LinkedHashMap<>(cluster.members());
      more.put(99L, "127.0.0.1:1");
      ClusterProbe.host(node2).knowPeers(RaftHost.group(group, more));
    }
    assertThat(call.get(WAIT.toSeconds(), TimeUnit.SECONDS).result().getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(cluster.node(3).handle(id, String.class).result(WAIT)).isEqualTo("x");
  }

  private static boolean committedOn(NodeInspector node, GroupId group, String workflowId) {
    try {
      return node.loggedCommands(group.uuid().toString()).stream()
          .anyMatch(c -> c.command().getWorkflowStart().getWorkflowId().equals(workflowId));
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
