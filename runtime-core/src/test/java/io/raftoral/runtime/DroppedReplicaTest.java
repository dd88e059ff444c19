package io.raftoral.runtime;

import static io.raftoral.runtime.ClusterProbe.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.proto.management.BeginMerge;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.raft.GroupId;
import io.raftoral.workflow.WorkflowDefinition;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rule (issue 20, dropping a replica): a node drops its replica of a group merged away, Raft
 * storage and state store both, and a crash in the middle of dropping one never stops the node
 * from starting again or leaves the replica's files behind.
 *
 * <p>Scenario: 3 real Ratis nodes with data directories, {@code executionGroups(2)}; workflows
 * finish in group 1; node 3 stops; group 1 is merged into group 0 (nodes 1 and 2 drop their
 * replicas of it). Node 3's directory is then left as a drop stopped half way left it: the Raft
 * storage of group 1 deleted, its state store deleted file by file up to and including CURRENT.
 * Node 3 restarts: it serves every workflow from group 0, and nothing of group 1 stays on disk.
 */
class DroppedReplicaTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir
  Path tmp;
  private TestCluster cluster;

  private static RaftoralNode.Builder configure(RaftoralNode.Builder b) {
    return b.executionGroups(2).requestTimeout(Duration.ofSeconds(20))
        .register(WorkflowDefinition.of("echo", 1, String.class, String.class, (ctx, in) -> ctx.checkpoint("v", in)));
  }

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aNodeStoppedWhileDroppingAReplicaStartsAgainAndTheReplicaIsGone() throws Exception {
    cluster = TestCluster.start(3, tmp, (node, b) -> configure(b));
    NodeInspector node1 = cluster.node(1).inspector();
    await("node 1 applies the topology", WAIT, () -> node1.executionGroupIds().size() == 2);
    GroupId into = node1.executionGroupIds().get(0);
    GroupId from = node1.executionGroupIds().get(1);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      String id = cluster.node(1).start("echo", 1, "value-" + i, String.class, node1.workflowIdIn(1)).workflowId();
      assertThat(cluster.node(1).handle(id, String.class).result(WAIT)).isEqualTo("value-" + i);
      ids.add(id);
    }
    Path node3 = tmp.resolve("node-3");
    await("node 3 stores group 1", WAIT, () -> Files.exists(replicaState(node3, from).resolve("CURRENT")));
    cluster.node(3).close();

    // The merge, begun by the management leader (node 1 or 2); its controller runs it to the end.
    await("BeginMerge committed", WAIT, () -> {
      try {
        NodeInspector leader = ClusterProbe.managementLeader(cluster, WAIT);
        if (leader.nodeId() == 3) {
          return false;
        }
        ManagementResult begun = leader.decide(ManagementCommand.newBuilder()
            .setBeginMerge(BeginMerge.newBuilder().setFromIndex(1).setIntoIndex(0).setReason("test")).build());
        return begun != null && begun.getApplied();
      } catch (Exception notYet) {
        return false;
      }
    });
    for (long n = 1; n <= 2; n++) {
      NodeInspector in = cluster.node(n).inspector();
      Path dir = tmp.resolve("node-" + n);
      await("node " + n + " sees group 1 retired", WAIT, () -> in.routing().isRetired(from));
      await("node " + n + " dropped group 1", WAIT, () -> !hasReplicaFiles(dir, from));
    }

    // Node 3 stopped half way through dropping group 1: Raft storage gone, state store partly.
    deleteRecursively(node3.resolve("raft").resolve(from.uuid().toString()));
    Files.delete(replicaState(node3, from).resolve("CURRENT"));

    try (RaftoralNode restarted = configure(RaftoralNode.builder().nodeId(3).members(cluster.members())
        .dataDirectory(node3).electionTimeout(Duration.ofMillis(500))).start()) {
      restarted.inspector().holdLeadersInPlace(true);
      await("node 3 catches up with the merge", WAIT, () -> restarted.inspector().routing().isRetired(from));
      for (int i = 0; i < ids.size(); i++) {
        assertThat(restarted.handle(ids.get(i), String.class).result(WAIT)).isEqualTo("value-" + i);
        assertThat(restarted.describe(ids.get(i)).executionGroup()).isEqualTo(into.uuid().toString());
      }
      await("node 3's replica of group 0 holds every workflow", WAIT,
          () -> restarted.inspector().replicaState(into.uuid().toString()).workflows() >= ids.size());
      await("nothing of group 1 left on node 3", WAIT, () -> !hasReplicaFiles(node3, from));
    }
  }

  private static Path replicaState(Path nodeDir, GroupId group) {
    return nodeDir.resolve("state").resolve(group.uuid().toString());
  }

  /** Whether any file of the group's replica (Raft storage or state store) is anywhere under the node's directory. */
  private static boolean hasReplicaFiles(Path nodeDir, GroupId group) {
    String name = group.uuid().toString();
    try (Stream<Path> paths = Files.walk(nodeDir)) {
      return paths.anyMatch(p -> p.getFileName().toString().contains(name));
    } catch (IOException | java.io.UncheckedIOException e) {
      // Walked while a directory was being moved, or the node's disk probe file came and went: look again.
      return true;
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
