package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.client.ManagementRole;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.GroupIds;
import io.raftoral.raft.LoggedEntry;
import io.raftoral.raft.RaftHost;
import io.raftoral.runtime.NodeInspector;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Rule: the management group's listeners keep receiving its log after a reconfiguration that
 * failed. Ratis drops, when a reconfiguration times out (a new peer made no progress), the log
 * senders of every follower it does not count as caught up, and it never counts a listener
 * added under the current leader as caught up: those listeners then get no entry again (their
 * topology stays where it was: the split in ScaleProcessesTest never reached nodes 4 and 5).
 *
 * <p>Scenario: five in-process nodes joined one by one (voters 1-3, listeners 4 and 5, added under
 * the same management leader); the leader is asked to add a listener at an address where nobody
 * answers, which times out; then a caller-chosen id is claimed, and every listener must see the
 * claim in its management log.
 */
class ListenersAfterAFailedReconfigurationTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private final JoiningNodes cluster = new JoiningNodes();

  @AfterEach
  void stop() {
    cluster.close();
  }

  @Test
  void listenersAddedByThisLeaderStillGetTheLogAfterAReconfigurationTimesOut() throws Exception {
    RaftoralNode first = cluster.bootstrap();
    for (int i = 0; i < 4; i++) {
      cluster.join(first.apiAddress());
    }
    await("voters 1-3 and listeners 4, 5", () -> {
      ClusterInfoReply info = first.inspector().clusterInfo();
      return info.getNodesList().stream().filter(n -> n.getRole() == ManagementRole.LISTENER).count() == 2
          && info.getNodesList().stream().filter(n -> n.getRole() == ManagementRole.VOTER).count() == 3;
    });
    ClusterInfoReply info = first.inspector().clusterInfo();
    GroupId management = GroupIds.management(info.getClusterId());
    Map<Long, String> voters = new HashMap<>();
    Map<Long, String> listeners = new HashMap<>();
    info.getNodesList().forEach(n -> (n.getRole() == ManagementRole.VOTER ? voters : listeners).put(n.getNodeId(), n.getRaftAddress()));
    RaftoralNode leader = node(info.getManagementLeader());

    Map<Long, String> withAnAbsentOne = new HashMap<>(listeners);
    withAnAbsentOne.put(99L, LocalCluster.freeAddresses(1).get(1L));
    try {
      assertThat(host(leader).setConfiguration(management, voters, withAnAbsentOne).isSuccess()).isFalse();
    } catch (java.io.IOException timedOut) {
      // the reconfiguration did not finish: what this test is about
    }

    await("the claim of a caller-chosen id committed", () -> {
      try {
        node(voters.keySet().iterator().next()).start("steps", 1, 1, Integer.class, "after-the-failure");
        return true;
      } catch (RuntimeException electing) {
        return false;
      }
    });
    for (long listener : listeners.keySet()) {
      await("listener " + listener + " sees the claim", () -> claimed(node(listener), management, "after-the-failure"));
    }
  }

  private RaftoralNode node(long id) {
    synchronized (cluster.nodes) {
      return cluster.nodes.stream().filter(n -> n.nodeId() == id).findFirst().orElseThrow();
    }
  }

  private static boolean claimed(RaftoralNode node, GroupId management, String workflowId) {
    try {
      for (LoggedEntry e : host(node).committedEntries(management)) {
        ManagementCommand c = ManagementCommand.parseFrom(e.data());
        if (c.hasClaimWorkflowId() && c.getClaimWorkflowId().getWorkflowId().equals(workflowId)) {
          return true;
        }
      }
      return false;
    } catch (Exception e) {
      return false;
    }
  }

  private static RaftHost host(RaftoralNode node) throws ReflectiveOperationException {
    Field f = NodeInspector.class.getDeclaredField("host");
    f.setAccessible(true);
    return (RaftHost) f.get(node.inspector());
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.sleep(50);
    }
  }
}
