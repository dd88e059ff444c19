package io.raftoral.faults;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftoral.client.RaftoralClient;
import io.raftoral.conformance.driver.NodeProcess;
import io.raftoral.conformance.driver.Ports;
import io.raftoral.proto.client.ClusterInfoReply;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code n} {@code raftoral node} processes, node {@code i} inside host {@code i} of
 * {@link NetworkNamespaces} (so links between them can be cut), with the conformance interpreter
 * registered (its workflows log their side effects to one shared file, {@link #effectLog()}). The
 * driver in the root namespace reaches every node's API over the bridge whatever is cut between
 * the nodes. Node 1 bootstraps, the others join it; a killed node restarts with the same command
 * line and data directory (it keeps its identity).
 */
final class FaultCluster implements AutoCloseable {
  static final int RAFT_PORT = 7000;
  static final int API_PORT = 8000;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final NetworkNamespaces hosts;
  private final List<NodeProcess> nodes = new ArrayList<>();
  private final Map<Integer, CountDownLatch> serving = new ConcurrentHashMap<>();
  private final Map<String, RaftoralClient> clients = new ConcurrentHashMap<>(); // by "node/call timeout ms"
  private final Path effectLog;
  private final FileChannel markers;
  private final boolean[] paused;

  /**
   * @param dir where data directories, node logs and the side-effect log go
   * @param nodeFailureTimeout how long a node may be unreachable before the others remove it
   */
  FaultCluster(Path dir, int n, String classPath, String electionTimeout, String nodeFailureTimeout) throws IOException {
    Files.createDirectories(dir);
    this.effectLog = dir.resolve("effects.jsonl");
    this.hosts = NetworkNamespaces.create(n);
    try {
      this.markers = FileChannel.open(effectLog, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    } catch (IOException | RuntimeException e) {
      hosts.close();
      throw e;
    }
    this.paused = new boolean[n + 1];
    for (int i = 1; i <= n; i++) {
      String label = label(i);
      List<String> cmd = new ArrayList<>(hosts.exec(i));
      cmd.addAll(List.of(Ports.javaExecutable(), "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
          "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
          "-Dorg.slf4j.simpleLogger.showDateTime=true", "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
          "-cp", classPath, "io.raftoral.cli.RaftoralCli", "node",
          "--raft-addr", hosts.address(i) + ":" + RAFT_PORT, "--api-addr", hosts.address(i) + ":" + API_PORT,
          "--data-dir", dir.resolve(label).toString(),
          "--election-timeout", electionTimeout, "--node-failure-timeout", nodeFailureTimeout));
      cmd.addAll(i == 1 ? List.of("--bootstrap", "--node-id", "1") : List.of("--join", hosts.address(1) + ":" + API_PORT));
      int index = i;
      nodes.add(new NodeProcess(label, dir.resolve(label), cmd, Map.of("CONFORMANCE_LOG", effectLog.toString(),
          "CONFORMANCE_NODE", label), dir.resolve("logs"), line -> {
            if (line != null && line.startsWith("node ") && line.contains(" serving api ")) {
              serving.get(index).countDown();
            }
          }));
    }
  }

  static String label(int i) {
    return "n" + i;
  }

  int size() {
    return nodes.size();
  }

  Path effectLog() {
    return effectLog;
  }

  /** Starts every node (node 1 first: the others join it) and waits until each serves. */
  void start() throws IOException, InterruptedException {
    launch(1);
    awaitServing(1);
    for (int i = 2; i <= size(); i++) {
      launch(i);
    }
    for (int i = 2; i <= size(); i++) {
      awaitServing(i);
    }
  }

  private void launch(int i) throws IOException {
    serving.put(i, new CountDownLatch(1));
    nodes.get(i - 1).start();
  }

  private void awaitServing(int i) throws InterruptedException {
    if (!serving.get(i).await(90, TimeUnit.SECONDS)) {
      throw new IllegalStateException(label(i) + " did not serve within 90 s: " + nodes.get(i - 1).tail(20) + "; threads: "
          + nodes.get(i - 1).threadDump());
    }
  }

  boolean isAlive(int i) {
    return nodes.get(i - 1).isAlive();
  }

  boolean isPaused(int i) {
    synchronized (paused) {
      return paused[i];
    }
  }

  /** SIGKILL: no shutdown hook runs. */
  void kill(int i) throws InterruptedException {
    marker(i, "kill");
    nodes.get(i - 1).kill();
    synchronized (paused) {
      paused[i] = false;
    }
    dropClient(i);
  }

  /** Starts a killed node again with its command line and data directory; waits until it serves. */
  void restart(int i) throws IOException, InterruptedException {
    marker(i, "restart");
    launch(i);
    awaitServing(i);
  }

  /** SIGSTOP: the process freezes, as in a long GC pause or a suspended VM. */
  void pause(int i) {
    signal(i, SIGSTOP);
    marker(i, "pause");
    synchronized (paused) {
      paused[i] = true;
    }
  }

  /** SIGCONT after {@link #pause}. */
  void resume(int i) {
    signal(i, SIGCONT);
    synchronized (paused) {
      paused[i] = false;
    }
    marker(i, "resume");
  }

  NetworkNamespaces network() {
    return hosts;
  }

  /** A client of node {@code i}'s API whose calls give up after {@code callTimeout} (one per node, reused). */
  RaftoralClient client(int i, Duration callTimeout) {
    return clients.computeIfAbsent(i + "/" + callTimeout.toMillis(),
        k -> RaftoralClient.connect(hosts.address(i) + ":" + API_PORT, callTimeout));
  }

  private void dropClient(int i) {
    for (String k : List.copyOf(clients.keySet())) {
      if (k.startsWith(i + "/")) {
        RaftoralClient c = clients.remove(k);
        if (c != null) {
          c.close();
        }
      }
    }
  }

  /** The cluster as node {@code i} answers it, with its replica digests when asked. */
  ClusterInfoReply clusterInfo(int i, boolean digests) {
    try (RaftoralClient c = RaftoralClient.connect(hosts.address(i) + ":" + API_PORT, Duration.ofSeconds(5))) {
      return c.clusterInfo(digests);
    }
  }

  /** Which node process serves node id {@code nodeId}, asking every running one; 0 when none says so. */
  int processOf(long nodeId) {
    for (int i = 1; i <= size(); i++) {
      if (isAlive(i) && !isPaused(i)) {
        try {
          if (clusterInfo(i, false).getNodeId() == nodeId) {
            return i;
          }
        } catch (RuntimeException notNow) {
          // cut off or starting
        }
      }
    }
    return 0;
  }

  /**
   * Writes a line into the side-effect log, where the nodes' workflows write theirs: the checker
   * sees each fault in the same total order as the steps it explains (a re-run after a kill).
   */
  synchronized void marker(int i, String what) {
    ObjectNode line = JSON.createObjectNode();
    line.put("wf", "");
    line.put("node", label(i));
    line.put("ev", "nemesis");
    line.put("key", what);
    line.put("ms", System.currentTimeMillis());
    try {
      markers.write(ByteBuffer.wrap((JSON.writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Where node {@code i}'s stderr is, and its last lines. */
  String tail(int i) {
    return nodes.get(i - 1).tail(10);
  }

  // kill(2) through the FFM API: a pause lands within microseconds of the decision to pause (a
  // `kill` process would take milliseconds to start), so it can fall inside a step's commit.
  private static final java.lang.invoke.MethodHandle KILL = java.lang.foreign.Linker.nativeLinker().downcallHandle(
      java.lang.foreign.Linker.nativeLinker().defaultLookup().find("kill").orElseThrow(),
      java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT, java.lang.foreign.ValueLayout.JAVA_INT,
          java.lang.foreign.ValueLayout.JAVA_INT));
  private static final int SIGCONT = 18;
  private static final int SIGSTOP = 19;

  private void signal(int i, int signal) {
    // The process under `ip netns exec` is the JVM itself (exec replaces it), so this is the node.
    long pid = nodes.get(i - 1).pid();
    int rc;
    try {
      rc = (int) KILL.invokeExact((int) pid, signal);
    } catch (Throwable e) {
      throw new IllegalStateException("kill(" + pid + ", " + signal + ") failed", e);
    }
    if (rc != 0) {
      throw new IllegalStateException("kill(" + pid + ", " + signal + ") returned " + rc);
    }
  }

  @Override
  public void close() throws IOException {
    clients.values().forEach(RaftoralClient::close);
    for (int i = 1; i <= size(); i++) {
      NodeProcess n = nodes.get(i - 1);
      try {
        if (isPaused(i) && n.isAlive()) {
          signal(i, SIGCONT);
        }
        n.stop(null, Duration.ofSeconds(20));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        // closing: the next one still stops
      }
    }
    hosts.close();
    markers.close();
  }
}
