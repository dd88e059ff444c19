package io.raftoral.conformance.driver;

import io.raftoral.client.RaftoralClient;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.proto.client.ReplicaInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A 3-node cluster of one entry point: real processes, each with its data directory, and the
 * side-effect log they all append to. Subclasses start the processes and give each node's
 * {@link Surface}.
 */
abstract class Cluster implements AutoCloseable {
  static final Duration START_TIMEOUT = Duration.ofSeconds(180);

  final Path dir;
  final Path effectLog;
  final ClusterSettings settings;
  final List<NodeProcess> nodes = new ArrayList<>();

  Cluster(Path dir, ClusterSettings settings) {
    this.dir = dir;
    this.effectLog = dir.resolve("effects.jsonl");
    this.settings = settings;
  }

  /** Starts every node and returns once the cluster can run workflows. */
  abstract void start() throws Exception;

  /** Starts a killed node again with its data directory; returns once it serves. */
  abstract void restart(NodeProcess node) throws Exception;

  abstract Surface surface(NodeProcess node);

  /** SIGKILLs the worker process beside {@code node} (entry points that run workflows on workers). */
  void killWorker(NodeProcess node) throws Exception {
    throw new ScenarioFailure("this entry point runs no worker processes");
  }

  /** Starts the killed worker of {@code node} again; returns once it has registered with its node. */
  void restartWorker(NodeProcess node) throws Exception {
    throw new ScenarioFailure("this entry point runs no worker processes");
  }

  /** Stops every node (cleanly if it can). */
  @Override
  public abstract void close();

  NodeProcess node(String label) {
    return nodes.stream().filter(n -> n.label.equals(label)).findFirst()
        .orElseThrow(() -> new ScenarioFailure("no node " + label));
  }

  NodeProcess byId(long nodeId) {
    return nodes.stream().filter(n -> n.nodeId == nodeId).findFirst()
        .orElseThrow(() -> new ScenarioFailure("no node has id " + nodeId));
  }

  List<NodeProcess> live() {
    return nodes.stream().filter(NodeProcess::isAlive).toList();
  }

  /**
   * Waits until every live node sees all members, every execution group has a leader and its
   * Raft configuration equals its committed members (no member change under way).
   */
  void awaitHealthy(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (true) {
      last = healthProblem();
      if (last == null) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new ScenarioFailure("cluster not healthy within " + timeout.toSeconds() + " s: " + last + "; threads: "
            + threadDumps(live()));
      }
      Thread.sleep(200);
    }
  }

  /** The thread dumps of {@code nodes} (NodeProcess#threadDump), for a failure message. */
  static String threadDumps(List<NodeProcess> nodes) throws InterruptedException {
    List<String> files = new ArrayList<>();
    for (NodeProcess n : nodes) {
      files.add(n.threadDump());
    }
    return String.join(", ", files);
  }

  private String healthProblem() {
    for (NodeProcess n : live()) {
      try (RaftoralClient client = RaftoralClient.connect(n.apiAddress, Duration.ofSeconds(10))) {
        ClusterInfoReply info = client.clusterInfo();
        if (info.getNodesCount() != nodes.size()) {
          return n + " sees " + info.getNodesCount() + " nodes";
        }
        if (info.getExecutionGroupsCount() == 0) {
          return n + " sees no execution group";
        }
        for (ExecutionGroupInfo g : info.getExecutionGroupsList()) {
          if (g.getLeaderNode() == 0) {
            return n + ": group " + g.getIndex() + " has no leader";
          }
          if (g.getMembersCount() != nodes.size() || g.getRaftMembersCount() != g.getMembersCount()) {
            return n + ": group " + g.getIndex() + " members " + g.getMembersList() + " raft " + g.getRaftMembersList();
          }
        }
      } catch (RuntimeException e) {
        return n + ": " + e.getMessage();
      }
    }
    return null;
  }

  /**
   * Waits until every live node's replica of every group it hosts has the same digest as the
   * other replicas of that group (SPEC §7: replicas that applied the same log are equal).
   */
  void awaitEqualDigests(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Map<String, Map<String, String>> byGroup = new TreeMap<>();
      String problem = null;
      for (NodeProcess n : live()) {
        try (RaftoralClient client = RaftoralClient.connect(n.apiAddress, Duration.ofSeconds(20))) {
          for (ReplicaInfo r : client.clusterInfo(true).getReplicasList()) {
            byGroup.computeIfAbsent(r.getGroupId(), g -> new LinkedHashMap<>())
                .put(n.label, r.getDigest() + "@" + r.getAppliedIndex());
          }
        } catch (RuntimeException e) {
          problem = n + ": " + e.getMessage();
        }
      }
      if (problem == null) {
        problem = byGroup.isEmpty() ? "no replicas reported" : null;
        for (var e : byGroup.entrySet()) {
          long distinct = e.getValue().values().stream().map(v -> v.substring(0, v.indexOf('@'))).distinct().count();
          if (distinct != 1 || e.getValue().size() < 2) {
            problem = "group " + e.getKey() + ": " + e.getValue();
          }
        }
      }
      if (problem == null) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new ScenarioFailure("replica digests not equal within " + timeout.toSeconds() + " s: " + problem);
      }
      Thread.sleep(300);
    }
  }

  static void stopAll(List<NodeProcess> nodes, String quitLine) {
    List<Thread> stops = new ArrayList<>();
    for (NodeProcess n : nodes) {
      stops.add(Thread.ofPlatform().start(() -> {
        try {
          n.stop(quitLine, Duration.ofSeconds(20));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }));
    }
    for (Thread t : stops) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  static void ensureDir(Path p) throws IOException {
    java.nio.file.Files.createDirectories(p);
  }
}
