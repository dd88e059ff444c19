package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.proto.client.ManagementRole;
import io.raftoral.proto.client.NodeInfo;
import java.io.IOException;
import java.io.Reader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A node's identity (docs/ARCHITECTURE.md, "Node identity"), with node processes: a wiped node
 * never gets its old id back, a node that cannot bind its addresses says which one before it
 * writes anything or registers, and a restart with other addresses either updates the cluster
 * or is refused saying exactly why.
 */
class IdentityProcessesTest {
  private static final Duration WAIT = Duration.ofSeconds(90);
  // Restarts here are not failures: nobody is removed for being down during the test.
  private static final List<String> PATIENT = List.of("--node-failure-timeout", "300s");

  private static List<String> mode(String... head) {
    List<String> all = new ArrayList<>(List.of(head));
    all.addAll(PATIENT);
    return all;
  }

  private static boolean settled(ClusterInfoReply c, int count) {
    return NodeProcesses.settled(c, count) && c.getNodesList().stream().allMatch(n -> n.getRole() == ManagementRole.VOTER);
  }

  @Test
  void aWipedNodeRestartedOnItsOldRaftAddressGetsANewIdAndTheOldIdLeavesEveryGroup() throws Exception {
    try (NodeProcesses nodes = new NodeProcesses("IdentityProcessesTest-wiped")) {
      nodes.start(mode("--bootstrap", "--node-id", "1"));
      List<String> join = mode("--join", nodes.apiAddress(1));
      nodes.start(join);
      nodes.start(join);
      nodes.awaitCluster(1, "the cluster settles", c -> settled(c, 3));
      long old = nodes.nodeId(3);

      nodes.kill(3);
      deleteRecursively(nodes.dataDirectory(3));
      nodes.restart(3, join); // within the failure timeout, same --raft-addr and --join

      assertThat(nodes.nodeId(3)).as("a node without its log never gets its old id").isNotEqualTo(old);
      assertThat(identity(nodes.dataDirectory(3)).getProperty("node_id")).isEqualTo(Long.toString(nodes.nodeId(3)));
      ClusterInfoReply after = nodes.awaitCluster(1, "the cluster settles", c -> settled(c, 3)
          && c.getNodesList().stream().noneMatch(n -> n.getNodeId() == old));
      assertThat(after.getNodesList()).extracting(NodeInfo::getNodeId).contains(nodes.nodeId(3));
      for (ExecutionGroupInfo g : after.getExecutionGroupsList()) {
        assertThat(g.getMembersList()).doesNotContain(old).contains(nodes.nodeId(3));
        assertThat(g.getRaftMembersList()).doesNotContain(old);
      }
    }
  }

  @Test
  void aBusyRaftPortIsNamedBeforeTheDataDirectoryOrTheClusterIsTouched() throws Exception {
    try (NodeProcesses nodes = new NodeProcesses("IdentityProcessesTest-busy");
        ServerSocket taken = new ServerSocket()) {
      nodes.start(mode("--bootstrap", "--node-id", "1"));
      taken.bind(new InetSocketAddress("127.0.0.1", 0));
      String raft = "127.0.0.1:" + taken.getLocalPort();
      String api = "127.0.0.1:" + NodeProcesses.freePort();
      Path data = nodes.dataDirectory(1).resolveSibling("busy"); // removed with the others' by close()
      List<String> args = new ArrayList<>(List.of("--raft-addr", raft, "--api-addr", api, "--data-dir", data.toString(),
          "--election-timeout", NodeProcesses.ELECTION_TIMEOUT, "--join", nodes.apiAddress(1)));
      NodeProcesses.CliResult busy = nodes.runNode(args.toArray(String[]::new));
      assertThat(busy.exitCode()).as(busy.toString()).isEqualTo(1);
      assertThat(busy.stderr()).as(busy.toString()).contains(raft).contains("in use");
      assertThat(data.resolve("identity.properties")).as("nothing written").doesNotExist();
      assertThat(nodes.clusterInfo(1).getNodesList()).as("no ghost registration").hasSize(1);

      // A directory left by a start that failed after it registered (an identity, no Raft
      // storage) never ran: the node joins afresh and its identity follows the id it got.
      Files.createDirectories(data);
      Files.writeString(data.resolve("identity.properties"), "node_id=41\ncluster_id=raftoral\n");
      taken.close();
      int again = nodes.startAt(raft, api, data, mode("--join", nodes.apiAddress(1)));
      assertThat(nodes.nodeId(again)).isNotEqualTo(41);
      assertThat(identity(data).getProperty("node_id")).isEqualTo(Long.toString(nodes.nodeId(again)));
      nodes.awaitCluster(1, "the cluster settles", c -> c.getNodesCount() == 2 && c.getNodesList().stream().allMatch(n -> n.getRole() == ManagementRole.VOTER));
    }
  }

  @Test
  void aRestartKeepsItsRaftAddressAndAnnouncesANewApiAddress() {
    try (NodeProcesses nodes = new NodeProcesses("IdentityProcessesTest-addresses")) {
      nodes.start(mode("--bootstrap", "--node-id", "1"));
      List<String> join = mode("--join", nodes.apiAddress(1));
      nodes.start(join);
      nodes.awaitCluster(1, "the cluster settles", c -> settled(c, 2));
      long id = nodes.nodeId(2);
      nodes.stop(2);

      // Another raft address on the same data directory: refused before anything starts, saying so.
      String otherRaft = "127.0.0.1:" + NodeProcesses.freePort();
      List<String> moved = new ArrayList<>(List.of("--raft-addr", otherRaft, "--api-addr", nodes.apiAddress(2), "--data-dir",
          nodes.dataDirectory(2).toString(), "--election-timeout", NodeProcesses.ELECTION_TIMEOUT));
      moved.addAll(join);
      NodeProcesses.CliResult refused = nodes.runNode(moved.toArray(String[]::new));
      assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(1);
      assertThat(refused.stderr()).as(refused.toString()).contains("raft address").contains(nodes.raftAddress(2))
          .contains(otherRaft).doesNotContain("removed");
      assertThat(nodes.clusterInfo(1).getNodesList()).filteredOn(n -> n.getNodeId() == id)
          .extracting(NodeInfo::getRaftAddress).containsExactly(nodes.raftAddress(2));

      // Another api address: the node restarts as itself and the cluster learns the new address.
      String newApi = "127.0.0.1:" + NodeProcesses.freePort();
      nodes.changeApiAddress(2, newApi);
      nodes.restart(2, join);
      assertThat(nodes.nodeId(2)).isEqualTo(id);
      nodes.awaitCluster(1, "the cluster settles", c -> c.getNodesList().stream().anyMatch(n -> n.getNodeId() == id && n.getApiAddress().equals(newApi)));
    }
  }

  private static Properties identity(Path dataDirectory) throws IOException {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(dataDirectory.resolve("identity.properties"))) {
      p.load(r);
    }
    return p;
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
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
