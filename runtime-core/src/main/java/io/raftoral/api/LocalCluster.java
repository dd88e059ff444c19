package io.raftoral.api;

import io.raftoral.common.RaftoralException;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Nodes 1..size of one cluster in this process, on free loopback ports: for tests, demos and
 * benchmarks. Real Ratis servers talking over real sockets; only the processes are shared.
 */
public final class LocalCluster implements AutoCloseable {
  private final Map<Long, String> members;
  private final List<RaftoralNode> nodes;

  private LocalCluster(Map<Long, String> members, List<RaftoralNode> nodes) {
    this.members = members;
    this.nodes = nodes;
  }

  /**
   * Starts the nodes in parallel (a node's start waits for its groups to elect leaders).
   *
   * @param dataRoot node i keeps its data under {@code dataRoot/node-i}; null for in-memory nodes
   * @param configure registers workflows and sets options, per node id
   */
  public static LocalCluster start(int size, Path dataRoot, BiConsumer<Long, RaftoralNode.Builder> configure) {
    Map<Long, String> members = freeAddresses(size);
    RaftoralNode[] started = new RaftoralNode[size];
    RuntimeException[] failed = new RuntimeException[size];
    List<Thread> starters = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      int index = i;
      starters.add(Thread.ofPlatform().name("start-node-" + (i + 1)).start(() -> {
        try {
          RaftoralNode.Builder b = RaftoralNode.builder().nodeId(index + 1).members(members);
          if (dataRoot != null) {
            b.dataDirectory(dataRoot.resolve("node-" + (index + 1)));
          }
          configure.accept((long) index + 1, b);
          started[index] = b.start();
        } catch (RuntimeException e) {
          failed[index] = e;
        }
      }));
    }
    for (Thread t : starters) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new RaftoralException("interrupted while starting a local cluster", e);
      }
    }
    LocalCluster cluster = new LocalCluster(members, new ArrayList<>());
    for (RaftoralNode n : started) {
      if (n != null) {
        cluster.nodes.add(n);
      }
    }
    for (RuntimeException e : failed) {
      if (e != null) {
        cluster.close();
        throw e;
      }
    }
    return cluster;
  }

  /** The node with this id (1-based). */
  public RaftoralNode node(long id) {
    return nodes.get((int) id - 1);
  }

  /** The nodes in id order. */
  public List<RaftoralNode> nodes() {
    return Collections.unmodifiableList(nodes);
  }

  /** Every member's Raft address by node id. */
  public Map<Long, String> members() {
    return Collections.unmodifiableMap(members);
  }

  /** {@code count} loopback addresses whose ports were free a moment ago, for node ids 1..count. */
  public static Map<Long, String> freeAddresses(int count) {
    Map<Long, String> members = new LinkedHashMap<>();
    List<ServerSocket> held = new ArrayList<>();
    try {
      // Hold every socket until all are chosen, so no port is handed out twice.
      for (long id = 1; id <= count; id++) {
        ServerSocket s = new ServerSocket(0);
        held.add(s);
        members.put(id, "127.0.0.1:" + s.getLocalPort());
      }
    } catch (IOException e) {
      throw new RaftoralException("no free loopback port: " + e.getMessage(), e);
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

  /** Closes every node; closing one that is already closed is harmless. */
  @Override
  public void close() {
    for (RaftoralNode n : nodes) {
      try {
        n.close();
      } catch (RuntimeException ignored) {
        // closed before, or crashed on purpose by a test
      }
    }
  }
}
