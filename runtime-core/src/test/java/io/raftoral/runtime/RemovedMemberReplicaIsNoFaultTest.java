package io.raftoral.runtime;

import static io.raftoral.runtime.ClusterProbe.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.SplitGroup;
import io.raftoral.raft.GroupId;
import io.raftoral.workflow.WorkflowDefinition;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Break test of "a replica Ratis closed while the node hosts it is a node fault": Ratis also
 * closes a division on the ordinary way out of a group. A member the group's configuration no
 * longer lists gets no more heartbeats; at its next election timeout its division finds itself
 * out of the configuration (or the leader answers its pre-vote with "shut down") and Ratis
 * closes it (LeaderElection: NOT_IN_CONF / SHUTDOWN; a removed leader closes itself in
 * LeaderStateImpl.checkAndUpdateConfiguration). The node still hosts the replica until
 * {@code dropLeftReplicas} runs (on a topology change or every 5 s, and only once this node's
 * own topology no longer places it in the group). Meanwhile the node is healthy: it must not be
 * reported faulty (which stops it serving and restarts it in place).
 *
 * <p>Scenario: 3 real nodes, one execution group of all three; the management leader commits a
 * split that moves node M (neither the management leader nor the group's leader) out of it while
 * M's management replica lags (its apply thread held, as a GC pause or a slow disk would): M's
 * topology still places it in the group. The management leader's conform loop takes M out of the
 * group's Raft configuration and Ratis closes M's division.
 */
class RemovedMemberReplicaIsNoFaultTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir
  Path tmp;

  @Test
  void aReplicaRatisClosesBecauseItsNodeLeftTheGroupIsNoFaultOfTheNode() throws Exception {
    try (TestCluster cluster = TestCluster.start(3, tmp, (id, b) -> b.minGroupSize(1).targetGroupSize(2).maxGroupSize(3)
        .register(WorkflowDefinition.of("echo", 1, String.class, String.class, (ctx, in) -> ctx.checkpoint("v", in))))) {
      assertThat(cluster.node(1).start("echo", 1, "x", String.class).result(WAIT)).isEqualTo("x");
      NodeInspector leader = ClusterProbe.managementLeader(cluster, WAIT);
      String group = leader.executionGroups().getFirst();
      GroupId gid = GroupId.of(UUID.fromString(group));
      await("every node hosts the group", WAIT, () -> {
        for (long n = 1; n <= 3; n++) {
          if (cluster.node(n).inspector().group(group) == null) {
            return false;
          }
        }
        return true;
      });
      long moved = 0;
      for (long n = 1; n <= 3 && moved == 0; n++) {
        if (n != leader.nodeId() && !ClusterProbe.host(cluster.node(n).inspector()).isLeader(gid)) {
          moved = n;
        }
      }
      assertThat(moved).as("a node that leads neither the management group nor the execution group").isNotZero();
      List<Long> keep = new ArrayList<>();
      for (long n = 1; n <= 3; n++) {
        if (n != moved) {
          keep.add(n);
        }
      }
      NodeInspector m = cluster.node(moved).inspector();
      GroupRuntime replica = ClusterProbe.group(cluster, moved, group);

      try (ClusterProbe.Stall lagging = ClusterProbe.managementStall(m)) {
        ManagementResult split = leader.decide(ManagementCommand.newBuilder().setSplitGroup(SplitGroup.newBuilder()
            .setIndex(0).addAllKeep(keep).addMoved(moved).setReason("test: move a member out")).build());
        assertThat(split).as("the split is committed").isNotNull();
        assertThat(split.getApplied()).as("the split is applied: %s", split).isTrue();

        long node = moved;
        await("Ratis closed node " + node + "'s division once the group's configuration left it out", WAIT,
            () -> replica.stateMachine().isClosed());

        // Nothing is wrong with node M: it left the group, as the committed topology says.
        assertThat(hosting(m).replicaFault())
            .as("node %d's health after Ratis closed the replica of a group it was moved out of", node)
            .isNull();
      }
      // Once its topology catches up, node M drops the replica, without a fault or a restart.
      long node = moved;
      GroupHosting hostingOfM = hosting(m);
      await("node " + node + " dropped its replica of the group it left", WAIT, () -> !hostingOfM.hosts(gid));
      assertThat(cluster.node(moved).inspector()).as("node %d was not restarted", node).isSameAs(m);
      assertThat(m.notServing()).as("node %d serves", node).isNull();
    }
  }

  private static GroupHosting hosting(NodeInspector inspector) throws ReflectiveOperationException {
    Field f = NodeInspector.class.getDeclaredField("hosting");
    f.setAccessible(true);
    return (GroupHosting) f.get(inspector);
  }
}
