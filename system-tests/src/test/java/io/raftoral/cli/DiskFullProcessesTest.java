package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.client.RaftoralApiGrpc;
import io.raftoral.proto.client.ReplicaInfo;
import io.raftoral.proto.client.StartRequest;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * A node whose disk fills up says so and comes back once space returns (issue 16; SPEC §7;
 * docs/ARCHITECTURE.md, "Disk faults"), with node processes: node 3 keeps its data directory on a
 * small tmpfs of its own (the test is skipped, saying why, where it cannot mount one), which the
 * test fills to the last byte while workflows run (a write of its state store or Raft log then
 * fails, or not, depending on timing). Node 3 must log an ERROR, report NOT_SERVING,
 * answer a client call UNAVAILABLE, and the others go on; once the space is freed it serves again
 * as a member of the cluster (the same node, or a new one when its data directory could not be
 * opened again), its replica equal to the others', and a workflow started through it completes.
 */
class DiskFullProcessesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(60);
  /** Room for the node's files and its 64 MiB reserve, small enough to fill at once. */
  private static final int TMPFS_MIB = 160;
  private static final Pattern DISK_ERROR =
      Pattern.compile("ERROR .*node \\d+: (the disk of \\S+ is nearly full|cannot write to )");

  @Test
  void aNodeWhoseDiskFillsUpSaysSoStopsServingAndComesBackAsAnEqualMember() throws Exception {
    try (NodeProcesses nodes = new NodeProcesses("DiskFullProcessesTest")) {
      Path disk = nodes.tmpfs("node-3-disk", TMPFS_MIB);
      nodes.start(List.of("--bootstrap", "--node-id", "1"));
      nodes.start(List.of("--join", nodes.apiAddress(1)));
      // Frequent snapshots: RocksDB flushes and Ratis rolls log segments while the disk is full,
      // so writes really fail (with the default, preallocated space absorbs the few entries).
      nodes.startAt("127.0.0.1:" + NodeProcesses.freePort(), "127.0.0.1:" + NodeProcesses.freePort(), disk.resolve("data"),
          List.of("--join", nodes.apiAddress(1), "--snapshot-every", "20"));
      await("three voters, the groups at three", () -> NodeProcesses.wholeOfThree(nodes.clusterInfo(1, false)));
      long before = nodes.nodeId(3);

      Map<String, Integer> expected = new LinkedHashMap<>();
      try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(1))) {
        for (int i = 0; i < 10; i++) {
          c.start("countdown", 1, NodeProcesses.json(6), "before-" + i);
          expected.put("before-" + i, 6);
        }
      }

      Path filler = disk.resolve("filler");
      long written = fillUntilFull(filler);
      System.out.printf("filled node 3's disk with %d MiB; %d bytes left%n", written >> 20,
          Files.getFileStore(disk).getUsableSpace());

      await("node 3 reports NOT_SERVING", () -> nodes.health(3) == ServingStatus.NOT_SERVING);
      await("node 3 logs the full disk at ERROR", () -> DISK_ERROR.matcher(nodes.stderr(3)).find());
      StatusRuntimeException refused = startError(nodes.apiAddress(3), "refused-on-3");
      assertThat(refused).as("a start on node 3 while its disk is full").isNotNull();
      assertThat(refused.getStatus().getCode()).as(refused.getStatus().toString()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(refused.getStatus().getDescription()).contains("does not serve now");

      for (int i = 0; i < 5; i++) {
        try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(1 + i % 2))) {
          c.start("countdown", 1, NodeProcesses.json(3), "during-" + i);
          expected.put("during-" + i, 3);
        }
      }
      assertAllComplete(nodes, 2, expected);
      assertThat(nodes.health(3)).as("node 3 while its disk is still full").isEqualTo(ServingStatus.NOT_SERVING);

      Files.delete(filler);

      await("node 3 serves again", () -> nodes.health(3) == ServingStatus.SERVING);
      long after = nodes.clusterInfo(3, false).getNodeId();
      System.out.printf("node 3 was node %d, serves as node %d%n", before, after);
      await("node " + after + " is a member in every group (raftoral cluster)", () -> isMember(nodes, after));

      // Nothing runs any more: every replica of every group must reach the same state.
      String start = "after-on-" + after;
      try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(3))) {
        c.start("countdown", 1, NodeProcesses.json(2), start);
        RaftoralClient.Outcome o = c.await(start, WAIT);
        assertThat(o.info().status()).isEqualTo(WorkflowStatus.COMPLETED);
        assertThat(new String(o.result(), StandardCharsets.UTF_8)).isEqualTo("2");
      }
      await("every group's replicas equal on the three nodes", () -> replicasEqual(nodes));
    }
  }

  /** Node {@code nodeId} is listed as a voter and is a member of every execution group, as `raftoral cluster` prints it. */
  private static boolean isMember(NodeProcesses nodes, long nodeId) {
    NodeProcesses.CliResult r = nodes.cliOn(1, "cluster", "--output", "json");
    if (r.exitCode() != 0) {
      return false;
    }
    JsonNode cluster;
    try {
      cluster = JSON.readTree(r.stdout());
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + r, e);
    }
    boolean voter = false;
    for (JsonNode n : cluster.path("nodes")) {
      voter |= n.path("nodeId").asLong() == nodeId && n.path("role").asText().equals("VOTER");
    }
    boolean inEveryGroup = cluster.path("executionGroups").size() > 0;
    for (JsonNode g : cluster.path("executionGroups")) {
      inEveryGroup &= contains(g.path("members"), nodeId) && contains(g.path("raftMembers"), nodeId)
          && g.path("members").size() == 3 && g.path("raftMembers").size() == 3;
    }
    return cluster.path("nodes").size() == 3 && voter && inEveryGroup;
  }

  private static boolean contains(JsonNode array, long value) {
    for (JsonNode v : array) {
      if (v.asLong() == value) {
        return true;
      }
    }
    return false;
  }

  /** Each group's replica on every node: same applied state (digest). */
  private static boolean replicasEqual(NodeProcesses nodes) {
    Map<String, Set<String>> digests = new LinkedHashMap<>();
    for (int i = 1; i <= 3; i++) {
      List<ReplicaInfo> replicas = nodes.clusterInfo(i, true).getReplicasList();
      for (ReplicaInfo r : replicas) {
        digests.computeIfAbsent(r.getGroupId(), g -> new HashSet<>()).add(r.getDigest());
      }
      if (replicas.isEmpty()) {
        return false;
      }
    }
    System.out.println("replica digests: " + digests);
    return digests.values().stream().allMatch(d -> d.size() == 1)
        && IntStream.rangeClosed(1, 3).allMatch(i -> nodes.clusterInfo(i, false).getExecutionGroupsList().stream()
            .map(g -> g.getGroupId()).collect(Collectors.toSet()).equals(digests.keySet()));
  }

  private static void assertAllComplete(NodeProcesses nodes, int via, Map<String, Integer> expected) {
    try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(via))) {
      for (Map.Entry<String, Integer> e : expected.entrySet()) {
        RaftoralClient.Outcome o = c.await(e.getKey(), WAIT);
        assertThat(o.info().status()).as(e.getKey()).isEqualTo(WorkflowStatus.COMPLETED);
        assertThat(new String(o.result(), StandardCharsets.UTF_8)).as(e.getKey()).isEqualTo(e.getValue().toString());
      }
    }
  }

  /** A raw gRPC start on {@code address}: what it failed with, or null when it succeeded. */
  private static StatusRuntimeException startError(String address, String id) {
    ManagedChannel channel = NettyChannelBuilder.forTarget(address).usePlaintext().build();
    try {
      StartRequest request = StartRequest.newBuilder().setType("countdown").setVersion(1)
          .setInput(ByteString.copyFromUtf8("1")).setWorkflowId(id).build();
      return catchThrowableOfType(StatusRuntimeException.class, () -> RaftoralApiGrpc.newBlockingStub(channel)
          .withDeadlineAfter(20, TimeUnit.SECONDS).start(request));
    } finally {
      channel.shutdownNow();
    }
  }

  /** Writes {@code file} until the file system refuses more (ENOSPC); returns the bytes written. */
  private static long fillUntilFull(Path file) {
    byte[] block = new byte[1 << 20];
    long written = 0;
    try (OutputStream out = Files.newOutputStream(file)) {
      while (true) {
        out.write(block);
        written += block.length;
      }
    } catch (IOException full) {
      return written; // no space left: as wanted
    }
  }

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      try {
        if (condition.getAsBoolean()) {
          return;
        }
      } catch (RuntimeException notYet) {
        // a node restarting or rejoining
      }
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      try {
        Thread.sleep(250);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
  }
}
