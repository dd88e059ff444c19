package io.raftoral;

import io.raftoral.api.RaftoralNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/** Real Ratis nodes on loopback in this JVM, each on its own free port. */
public final class TestCluster implements AutoCloseable {
  public final Map<Long, String> members;
  public final List<RaftoralNode> nodes = new ArrayList<>();

  private TestCluster(Map<Long, String> members) {
    this.members = members;
  }

  /** Starts {@code size} nodes; {@code configure} registers workflows (and options) per node id. */
  public static TestCluster start(int size, Path dataRoot, BiConsumer<Long, RaftoralNode.Builder> configure) {
    Map<Long, String> members = freeAddresses(size);
    TestCluster cluster = new TestCluster(members);
    try {
      // Start in parallel: a node's start returns only once its groups exist.
      List<Thread> starters = new ArrayList<>();
      RaftoralNode[] started = new RaftoralNode[size];
      RuntimeException[] failed = new RuntimeException[size];
      for (long id = 1; id <= size; id++) {
        int i = (int) id - 1;
        long nodeId = id;
        starters.add(Thread.ofPlatform().start(() -> {
          try {
            started[i] = cluster.newNode(nodeId, dataRoot, configure);
          } catch (RuntimeException e) {
            failed[i] = e;
          }
        }));
      }
      for (Thread t : starters) {
        t.join();
      }
      for (int i = 0; i < size; i++) {
        if (started[i] != null) {
          cluster.nodes.add(started[i]);
        }
      }
      for (RuntimeException e : failed) {
        if (e != null) {
          throw e;
        }
      }
      return cluster;
    } catch (InterruptedException e) {
      cluster.close();
      throw new IllegalStateException(e);
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  RaftoralNode newNode(long nodeId, Path dataRoot, BiConsumer<Long, RaftoralNode.Builder> configure) {
    RaftoralNode.Builder b = RaftoralNode.builder().nodeId(nodeId).members(members)
        .electionTimeout(Duration.ofMillis(500));
    if (dataRoot != null) {
      b.dataDirectory(dataRoot.resolve("node-" + nodeId));
    }
    configure.accept(nodeId, b);
    return b.start();
  }

  public RaftoralNode node(long id) {
    return nodes.get((int) id - 1);
  }

  public static Map<Long, String> freeAddresses(int count) {
    Map<Long, String> members = new LinkedHashMap<>();
    List<ServerSocket> held = new ArrayList<>();
    try {
      for (long id = 1; id <= count; id++) {
        ServerSocket s = new ServerSocket(0);
        held.add(s);
        members.put(id, "127.0.0.1:" + s.getLocalPort());
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } finally {
      for (ServerSocket s : held) {
        try {
          s.close();
        } catch (IOException ignored) {
          // the port is free again either way
        }
      }
    }
    return members;
  }

  @Override
  public void close() {
    for (RaftoralNode n : nodes) {
      try {
        n.close();
      } catch (RuntimeException ignored) {
        // already closed or crashed on purpose
      }
    }
  }
}
