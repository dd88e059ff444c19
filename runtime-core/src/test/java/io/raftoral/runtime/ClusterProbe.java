package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.GroupIds;
import io.raftoral.raft.RaftHost;
import io.raftoral.raft.WorkflowStateMachine;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.BooleanSupplier;

/**
 * What the adversarial cluster tests reach inside a node: its runtime of one group, and a way to
 * hold a replica's apply thread (as a slow disk or a long GC pause of that thread would) while its
 * Raft log keeps receiving entries.
 */
final class ClusterProbe {
  private ClusterProbe() {}

  static GroupRuntime group(TestCluster cluster, long node, String executionGroup) {
    GroupRuntime g = cluster.node(node).inspector().group(executionGroup);
    assertThat(g).as("node %d hosts group %s", node, executionGroup).isNotNull();
    return g;
  }

  /** Holds the apply thread of one replica until {@link Stall#close}: entries reach its log but are not applied. */
  static Stall applyStall(WorkflowStateMachine machine) throws Exception {
    return new Stall(field(WorkflowStateMachine.class, "storeLock", machine));
  }

  /** Holds a node's management apply thread until {@link Stall#close}: its topology stays as it is. */
  static Stall managementStall(NodeInspector node) throws Exception {
    return new Stall(field(io.raftoral.raft.ManagementStateMachine.class, "state", node.managementStateMachine()));
  }

  /** A management command as committed in a node's log, with the Raft term and index of its entry. */
  record ManagementEntry(long term, long index, ManagementCommand command) {}

  /** The committed commands in {@code node}'s log of the management group, in log order. */
  static List<ManagementEntry> managementLog(NodeInspector node) throws Exception {
    List<ManagementEntry> out = new ArrayList<>();
    for (var entry : host(node).committedEntries(managementGroup(node))) {
      out.add(new ManagementEntry(entry.term(), entry.index(), ManagementCommand.parseFrom(entry.data())));
    }
    return out;
  }

  /** The term in which {@code node} leads the management group, or 0 when it does not lead it. */
  static long managementTerm(NodeInspector node) throws Exception {
    return host(node).leaderTerm(managementGroup(node));
  }

  static GroupId managementGroup(NodeInspector node) {
    return GroupIds.management(node.runtime().clusterId());
  }

  static RaftHost host(NodeInspector node) throws ReflectiveOperationException {
    return (RaftHost) field(NodeInspector.class, "host", node);
  }

  private static Object field(Class<?> type, String name, Object of) throws ReflectiveOperationException {
    Field f = type.getDeclaredField(name);
    f.setAccessible(true);
    return f.get(of);
  }

  /** Holds a monitor that an apply thread takes for every entry, on a thread of its own, until closed. */
  static final class Stall implements AutoCloseable {
    private final CountDownLatch release = new CountDownLatch(1);
    private final Thread holder;

    Stall(Object monitor) throws InterruptedException {
      CountDownLatch held = new CountDownLatch(1);
      holder = Thread.ofPlatform().name("apply-stall").start(() -> {
        synchronized (monitor) {
          held.countDown();
          try {
            release.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      });
      held.await();
    }

    @Override
    public void close() throws InterruptedException {
      release.countDown();
      holder.join();
    }
  }

  /** The inspector of the node that leads the management group, once one does (waiting at most {@code timeout}). */
  static NodeInspector managementLeader(TestCluster cluster, Duration timeout) throws InterruptedException {
    long[] leader = new long[1];
    await("a management leader", timeout, () -> (leader[0] = cluster.node(1).inspector().clusterInfo().getManagementLeader()) != 0);
    return cluster.node(leader[0]).inspector();
  }

  static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.sleep(20);
    }
  }
}
