package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.DescribeRequest;
import io.raftoral.proto.client.RaftoralApiGrpc;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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

  /** Starts a bootstrap node and two joining ones; the last one with {@code lastArgs}. */
  private static void startThree(NodeProcesses nodes, String... lastArgs) {
    nodes.start(mode(List.of("--bootstrap", "--node-id", "1")));
    nodes.start(mode(List.of("--join", nodes.apiAddress(1))));
    nodes.start(mode(List.of("--join", nodes.apiAddress(1)), lastArgs));
    nodes.awaitCluster(1, "three voters", NodeProcesses::wholeOfThree);
  }

  /** Pauses process {@code victim} until process {@code via} no longer lists its node. */
  private static long removeByPausing(NodeProcesses nodes, int victim, int via) {
    long id = nodes.nodeId(victim);
    nodes.pause(victim);
    nodes.awaitCluster(via, "node " + id + " removed", c -> c.getNodesList().stream().noneMatch(n -> n.getNodeId() == id));
    return id;
  }

  private static int managementLeaderProcess(NodeProcesses nodes) {
    long leader = nodes.awaitCluster(1, "a management leader", c -> c.getManagementLeader() != 0).getManagementLeader();
    for (int i = 1; i <= nodes.size(); i++) {
      if (nodes.nodeId(i) == leader) {
        return i;
      }
    }
    throw new AssertionError("no process is node " + leader);
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
      while (nodes.health(victim) != ServingStatus.NOT_SERVING) {
        assertThat(System.nanoTime()).as("process %d (node %d) reports NOT_SERVING", victim, removed).isLessThan(deadline);
        sleep(200);
      }
      StatusRuntimeException refused = describeError(nodes.apiAddress(victim));
      assertThat(refused).isNotNull();
      assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(refused.getStatus().getDescription()).contains("node " + removed + " was removed from cluster raftoral");
      assertThat(nodes.stderr(victim)).contains("ERROR").contains("was removed from cluster raftoral");

      nodes.resume(holder);
      ClusterInfoReply back = nodes.awaitCluster(victim, "process " + victim + " back as a new member",
          c -> c.getNodeId() != removed && NodeProcesses.wholeOfThree(c) && c.getNodesList().stream().anyMatch(n -> n.getNodeId() == c.getNodeId()));
      assertThat(back.getNodesList()).noneMatch(n -> n.getNodeId() == removed);
      assertThat(nodes.health(victim)).isEqualTo(ServingStatus.SERVING);
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
