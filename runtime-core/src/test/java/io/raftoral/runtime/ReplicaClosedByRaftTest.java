package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.raft.RaftHost;
import io.raftoral.workflow.WorkflowDefinition;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ratis closes a division it cannot go on with (a log write that failed its own precondition,
 * as after the fault matrix's stale snapshot install) without removing it and without telling
 * the runtime: the replica applies nothing more, yet the node served on. The node's health now
 * counts a replica Ratis closed as a fault of the node and restarts the node in place, which
 * reopens the replica from its data directory.
 */
class ReplicaClosedByRaftTest {
  private static final Duration WAIT = Duration.ofSeconds(90);

  @TempDir
  Path tmp;

  /** One step: the doubled input, a checkpoint committed through the group. */
  private static WorkflowDefinition<Integer, Integer> doubled() {
    return WorkflowDefinition.of("doubled", 1, Integer.class, Integer.class,
        (ctx, n) -> ctx.checkpointCompute("twice", Integer.class, () -> 2 * n));
  }

  @Test
  void aReplicaRaftClosedRestartsItsNodeWhichReopensIt() throws Exception {
    try (TestCluster cluster = TestCluster.start(3, tmp, (id, b) -> b.register(doubled()))) {
      RaftoralNode node = cluster.node(2);
      assertThat(cluster.node(1).start("doubled", 1, 3, Integer.class).result(WAIT)).isEqualTo(6);
      NodeInspector before = node.inspector();
      String group = before.executionGroups().getFirst();

      division(before, group).close(); // what Ratis does when its log worker fails

      await("node 2 says which replica stopped", () -> before.notServing() != null);
      assertThat(before.notServing()).contains("closed by Raft")
        .contains(group.substring(group.length() - 12).toUpperCase(java.util.Locale.ROOT)); // the group, as logs name it
      await("node 2 serves again after a restart in place", () -> node.inspector() != before
          && node.inspector().notServing() == null && node.nodeId() == before.nodeId());
      // Its replica applies again: a workflow started through it ends, and the replicas agree.
      assertThat(node.start("doubled", 1, 5, Integer.class).result(WAIT)).isEqualTo(10);
      RaftoralNode other = cluster.node(1);
      await("node 2's replica caught up with node 1's", () -> {
        try {
          return node.inspector().replicaState(group).equals(other.inspector().replicaState(group));
        } catch (RuntimeException e) {
          return false; // being reopened
        }
      });
    }
  }

  /** The node's Ratis division of the execution group, reached as Ratis's own code reaches it (the raft layer hides it). */
  private static RaftServer.Division division(NodeInspector inspector, String group) throws Exception {
    Field hostField = NodeInspector.class.getDeclaredField("host");
    hostField.setAccessible(true);
    RaftHost host = (RaftHost) hostField.get(inspector);
    Field serverField = RaftHost.class.getDeclaredField("server");
    serverField.setAccessible(true);
    RaftServer server = (RaftServer) serverField.get(host);
    return server.getDivision(RaftGroupId.valueOf(UUID.fromString(group)));
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
