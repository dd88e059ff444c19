package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftoral.client.RaftoralClient;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.DescribeRequest;
import io.raftoral.proto.client.ManagementRole;
import io.raftoral.proto.client.RaftoralApiGrpc;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * A node the cluster removed while it was still running finds out (docs/ARCHITECTURE.md,
 * "Groups and membership"): it logs an ERROR, reports NOT_SERVING, answers client calls with
 * FAILED_PRECONDITION saying what happened, and rejoins by itself as a new node, or, with
 * {@code --no-rejoin}, exits 1 with a message naming {@code --join}.
 */
class RemovedNodeProcessesTest {
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final int FAILURE_TIMEOUT_SECONDS = 3;

  private static List<String> mode(List<String> head, String... extra) {
    List<String> all = new ArrayList<>(head);
    all.addAll(List.of("--node-failure-timeout", FAILURE_TIMEOUT_SECONDS + "s"));
    all.addAll(List.of(extra));
    return all;
  }

  private static ClusterInfoReply info(NodeProcesses nodes, int via) {
    try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(via), Duration.ofSeconds(10))) {
      return c.clusterInfo();
    }
  }

  private static ClusterInfoReply await(NodeProcesses nodes, int via, String what, Predicate<ClusterInfoReply> condition) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    ClusterInfoReply last = null;
    while (true) {
      try {
        last = info(nodes, via);
        if (condition.test(last)) {
          return last;
        }
      } catch (RuntimeException notYet) {
        // starting, or not serving
      }
      assertThat(System.nanoTime()).as("%s; last seen by process %d: %s", what, via, last).isLessThan(deadline);
      sleep(200);
    }
  }

  private static boolean whole(ClusterInfoReply c) {
    return c.getNodesCount() == 3 && c.getNodesList().stream().allMatch(n -> n.getRole() == ManagementRole.VOTER)
        && c.getExecutionGroupsList().stream().allMatch(g -> g.getMembersCount() == 3 && g.getLeaderNode() != 0
            && g.getRaftMembersList().equals(g.getMembersList()));
  }

  /** Starts a bootstrap node and two joining ones; the last one with {@code lastArgs}. */
  private static void startThree(NodeProcesses nodes, String... lastArgs) {
    nodes.start(mode(List.of("--bootstrap", "--node-id", "1")));
    nodes.start(mode(List.of("--join", nodes.apiAddress(1))));
    nodes.start(mode(List.of("--join", nodes.apiAddress(1)), lastArgs));
    await(nodes, 1, "three voters", RemovedNodeProcessesTest::whole);
  }

  /** Pauses process {@code victim} until process {@code via} no longer lists its node. */
  private static long removeByPausing(NodeProcesses nodes, int victim, int via) {
    long id = nodes.nodeId(victim);
    nodes.pause(victim);
    await(nodes, via, "node " + id + " removed", c -> c.getNodesList().stream().noneMatch(n -> n.getNodeId() == id));
    return id;
  }

  private static int managementLeaderProcess(NodeProcesses nodes) {
    long leader = await(nodes, 1, "a management leader", c -> c.getManagementLeader() != 0).getManagementLeader();
    for (int i = 1; i <= nodes.size(); i++) {
      if (nodes.nodeId(i) == leader) {
        return i;
      }
    }
    throw new AssertionError("no process is node " + leader);
  }

  private static ServingStatus health(String address) {
    ManagedChannel channel = NettyChannelBuilder.forTarget(address).usePlaintext().build();
    try {
      return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance()).getStatus();
    } catch (StatusRuntimeException e) {
      return ServingStatus.UNKNOWN;
    } finally {
      channel.shutdownNow();
    }
  }

  private static StatusRuntimeException describeError(String address) {
    ManagedChannel channel = NettyChannelBuilder.forTarget(address).usePlaintext().build();
    try {
      return catchThrowableOfType(StatusRuntimeException.class, () -> RaftoralApiGrpc.newBlockingStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS).describe(DescribeRequest.newBuilder().setWorkflowId("any").build()));
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void aRemovedNodeSaysSoIsNotServingAndRejoinsAsANewNode() {
    try (NodeProcesses nodes = new NodeProcesses("RemovedNodeProcessesTest-rejoin")) {
      startThree(nodes);
      int leader = managementLeaderProcess(nodes);
      List<Integer> others = new ArrayList<>(List.of(1, 2, 3));
      others.remove(Integer.valueOf(leader));
      int victim = others.get(0);
      int holder = others.get(1);
      long removed = removeByPausing(nodes, victim, leader);

      // Freeze the second survivor too: the leader alone can still tell the victim it was
      // removed, but commits nothing, so the victim stays removed while we look at it.
      nodes.pause(holder);
      nodes.resume(victim);
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (health(nodes.apiAddress(victim)) != ServingStatus.NOT_SERVING) {
        assertThat(System.nanoTime()).as("process %d (node %d) reports NOT_SERVING", victim, removed).isLessThan(deadline);
        sleep(200);
      }
      StatusRuntimeException refused = describeError(nodes.apiAddress(victim));
      assertThat(refused).isNotNull();
      assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(refused.getStatus().getDescription()).contains("node " + removed + " was removed from cluster raftoral");
      assertThat(nodes.stderr(victim)).contains("ERROR").contains("was removed from cluster raftoral");

      nodes.resume(holder);
      ClusterInfoReply back = await(nodes, victim, "process " + victim + " back as a new member",
          c -> c.getNodeId() != removed && whole(c) && c.getNodesList().stream().anyMatch(n -> n.getNodeId() == c.getNodeId()));
      assertThat(back.getNodesList()).noneMatch(n -> n.getNodeId() == removed);
      assertThat(health(nodes.apiAddress(victim))).isEqualTo(ServingStatus.SERVING);
    }
  }

  @Test
  void withNoRejoinARemovedNodeExitsOneNamingJoin() {
    try (NodeProcesses nodes = new NodeProcesses("RemovedNodeProcessesTest-norejoin")) {
      startThree(nodes, "--no-rejoin");
      long removed = removeByPausing(nodes, 3, 1);
      nodes.resume(3);
      assertThat(nodes.awaitExit(3, WAIT)).as(nodes.stderrTail(3, 20)).isEqualTo(1);
      assertThat(nodes.stderr(3)).contains("node " + removed + " was removed from cluster raftoral")
          .contains("--join").contains("not --bootstrap");
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
