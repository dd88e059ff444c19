package io.raftoral;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * A {@link LocalCluster} with the tests' shorter election timeout (500 ms), so failover tests run
 * quickly, whose nodes keep the leaderships they get ({@code holdLeadersInPlace}): these tests
 * move leaders themselves, and leader spreading (tested by DisjointGroupsTest and the process
 * tests) would move them back.
 */
public final class TestCluster implements AutoCloseable {
  public final List<RaftoralNode> nodes;
  private final LocalCluster cluster;

  private TestCluster(LocalCluster cluster) {
    this.cluster = cluster;
    this.nodes = cluster.nodes();
    nodes.forEach(n -> n.inspector().holdLeadersInPlace(true));
  }

  public static TestCluster start(int size, Path dataRoot, BiConsumer<Long, RaftoralNode.Builder> configure) {
    return new TestCluster(LocalCluster.start(size, dataRoot, (id, b) -> {
      b.electionTimeout(Duration.ofMillis(500));
      configure.accept(id, b);
    }));
  }

  public RaftoralNode node(long id) {
    return cluster.node(id);
  }

  /** Makes {@code node} the owner of the execution group the id "any" routes to (the only one by default). */
  public void makeOwner(long node) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!node(node).inspector().ownsGroupOf("any")) {
      try {
        node(node).inspector().transferLeadership("any", node, Duration.ofSeconds(5));
      } catch (java.io.IOException e) {
        // the group is electing: ask again
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("node " + node + " did not become the owner within 60 s");
      }
      Thread.sleep(50);
    }
  }

  /** Every member's Raft address by node id (to restart a node on its data directory). */
  public Map<Long, String> members() {
    return cluster.members();
  }

  public static Map<Long, String> freeAddresses(int count) {
    return LocalCluster.freeAddresses(count);
  }

  @Override
  public void close() {
    cluster.close();
  }
}
