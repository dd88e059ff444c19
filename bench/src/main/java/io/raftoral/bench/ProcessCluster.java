package io.raftoral.bench;

import io.raftoral.client.RaftoralClient;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.proto.client.ManagementRole;
import io.raftoral.proto.client.NodeInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * N real {@code raftoral node} processes ({@code processes} mode) on loopback, started with this
 * JVM's classpath (runtime-core, the CLI and {@link BenchWorkflows}, which registers the bench
 * workflows through {@code META-INF/services}). Node 1 bootstraps the cluster, the others join
 * through it; each keeps its data directory (Raft log, fsync on) under one temporary directory.
 * Clients talk to the nodes through {@link RaftoralClient}, one connection per node, client i
 * to node i mod N.
 *
 * <p>{@link #close()} stops every node with SIGTERM (a clean close that hands off leadership)
 * and SIGKILLs any still running after {@link #STOP_TIMEOUT}; a shutdown hook does the same if
 * this JVM exits first (Ctrl-C, a failure), so no node outlives the load generator.
 */
final class ProcessCluster implements Target {
  /** JVM options of every node process; {@code --node-jvm} adds to them. */
  static final List<String> NODE_JVM = List.of(
      "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx1g");
  static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(15);
  static final Duration WORKFLOW_TIMEOUT = Duration.ofSeconds(60);
  private static final Pattern SERVING = Pattern.compile("node (\\d+) serving api");

  private record Node(int index, String raftAddress, String apiAddress, Path stdout, Path stderr, Process process) {}

  private final Path root;
  private final List<String> jvmOptions;
  private final List<Node> nodes = new CopyOnWriteArrayList<>(); // read by the shutdown hook
  private final List<RaftoralClient> clients = new ArrayList<>();
  private final String runId = Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16);
  private final AtomicLong bigStates = new AtomicLong();
  private final AtomicLong seq10Clients = new AtomicLong(); // ids stay unique when a row makes clients twice (fanin's warm-up)
  private volatile boolean keepFiles;
  private final Thread stopOnExit = Thread.ofPlatform().name("bench-stop-nodes").unstarted(this::stopAndClean);

  private ProcessCluster(Path root, List<String> jvmOptions) {
    this.root = root;
    this.jvmOptions = jvmOptions;
    Runtime.getRuntime().addShutdownHook(stopOnExit);
  }

  /**
   * Starts {@code size} node processes and returns once every node sees all of them, each
   * placed in an execution group, and a leader in every group.
   *
   * @param extraJvm options added to {@link #NODE_JVM} for every node (e.g. a JFR recording)
   * @param keepFiles keep the nodes' logs and data directories after {@link #close()}
   */
  static ProcessCluster start(int size, List<String> extraJvm, boolean keepFiles) throws IOException, InterruptedException {
    List<String> jvm = new ArrayList<>(NODE_JVM);
    jvm.addAll(extraJvm);
    ProcessCluster cluster = new ProcessCluster(Files.createTempDirectory("raftoral-bench-processes-"), jvm);
    cluster.keepFiles = keepFiles;
    try {
      // One at a time: two nodes joining a cluster whose management group has one voter at once
      // are never admitted (the leader asks Ratis for {1} -> {1,2,3} in one change, which it
      // refuses as a change of the majority set, and removes both after 30 s).
      for (int i = 1; i <= size; i++) {
        Node n = cluster.launch(i == 1 ? List.of("--bootstrap", "--node-id", "1")
            : List.of("--join", cluster.nodes.getFirst().apiAddress()));
        cluster.awaitServing(n);
        cluster.clients.add(RaftoralClient.connect(n.apiAddress(), Duration.ofSeconds(10)));
      }
      cluster.awaitReady();
      return cluster;
    } catch (Throwable e) {
      cluster.printLogTails();
      cluster.keepFiles = true;
      cluster.close();
      throw e;
    }
  }

  private Node launch(List<String> modeArgs) throws IOException {
    int index = nodes.size() + 1;
    String raft = "127.0.0.1:" + freePort();
    String api = "127.0.0.1:" + freePort();
    Path dataDir = root.resolve("node-" + index);
    Path stdout = root.resolve("node-" + index + ".stdout");
    Path stderr = root.resolve("node-" + index + ".stderr");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmOptions.stream().map(o -> o.replace("{node}", Integer.toString(index))).toList());
    // RocksDB unpacks its native library into java.io.tmpdir, which a killed node leaves behind: keep it under root.
    cmd.add("-Djava.io.tmpdir=" + root);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.raftoral.cli.RaftoralCli",
        "node", "--raft-addr", raft, "--api-addr", api, "--data-dir", dataDir.toString()));
    cmd.addAll(modeArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
    pb.environment().remove("RAFTORAL_API");
    Node node = new Node(index, raft, api, stdout, stderr, pb.start());
    nodes.add(node);
    return node;
  }

  private void awaitServing(Node node) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (true) {
      Matcher m = SERVING.matcher(Files.readString(node.stdout(), StandardCharsets.UTF_8));
      if (m.find()) {
        return;
      }
      if (!node.process().isAlive()) {
        throw new IllegalStateException("node process " + node.index() + " exited with " + node.process().exitValue()
            + " before serving");
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("node process " + node.index() + " did not serve within " + START_TIMEOUT.toSeconds() + " s");
      }
      Thread.sleep(50);
    }
  }

  /** Until every node sees all N nodes, each placed in an execution group, and every group has a leader. */
  private void awaitReady() throws InterruptedException {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      boolean ready = true;
      for (RaftoralClient client : clients) {
        try {
          ClusterInfoReply info = client.clusterInfo();
          String why = notReady(info);
          if (why != null) {
            last = client.address() + ": " + why;
            ready = false;
            break;
          }
        } catch (RuntimeException e) {
          last = client.address() + ": " + e.getMessage();
          ready = false;
          break;
        }
      }
      if (ready) {
        return;
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("the cluster of " + nodes.size() + " node processes was not ready within "
        + READY_TIMEOUT.toSeconds() + " s; last: " + last);
  }

  private String notReady(ClusterInfoReply info) {
    if (info.getNodesCount() != nodes.size()) {
      return info.getNodesCount() + " of " + nodes.size() + " nodes";
    }
    Set<Long> placed = new HashSet<>();
    for (NodeInfo n : info.getNodesList()) {
      if (n.getRole() == ManagementRole.JOINING || n.getRole() == ManagementRole.MANAGEMENT_ROLE_UNSPECIFIED) {
        return "node " + n.getNodeId() + " is " + n.getRole();
      }
    }
    if (info.getExecutionGroupsCount() == 0) {
      return "no execution group";
    }
    for (ExecutionGroupInfo g : info.getExecutionGroupsList()) {
      if (g.getLeaderNode() == 0) {
        return "execution group " + g.getIndex() + " has no leader";
      }
      placed.addAll(g.getMembersList());
    }
    for (NodeInfo n : info.getNodesList()) {
      if (!placed.contains(n.getNodeId())) {
        return "node " + n.getNodeId() + " is in no execution group";
      }
    }
    return null;
  }

  @Override
  public String mode() {
    return "processes";
  }

  @Override
  public int size() {
    return nodes.size();
  }

  /** Client {@code index} starts seq10 workflows with ids unique to this run on node {@code index mod N}. */
  @Override
  public Seq10Client client(int index) {
    RaftoralClient client = clients.get(index % clients.size());
    String prefix = "seq10-" + runId + "-" + seq10Clients.incrementAndGet() + "-";
    AtomicLong n = new AtomicLong();
    return input -> {
      String id = prefix + n.incrementAndGet();
      client.start("seq10", 1, Integer.toString(input).getBytes(StandardCharsets.UTF_8), id);
      RaftoralClient.Outcome outcome = client.await(id, WORKFLOW_TIMEOUT);
      return Integer.parseInt(new String(outcome.resultOrThrow(), StandardCharsets.UTF_8).strip());
    };
  }

  @Override
  public int bigState(int writes, int keys) throws Exception {
    String id = "bigstate-" + runId + "-" + bigStates.incrementAndGet();
    RaftoralClient client = clients.getFirst();
    client.start("bigstate", 1, ("\"" + writes + "," + keys + "\"").getBytes(StandardCharsets.UTF_8), id);
    RaftoralClient.Outcome outcome = client.await(id, Duration.ofMinutes(10));
    return Integer.parseInt(new String(outcome.resultOrThrow(), StandardCharsets.UTF_8).strip());
  }

  @Override
  public double[] cpuSeconds() {
    return nodes.stream().mapToDouble(n -> n.process().info().totalCpuDuration()
        .map(d -> d.toNanos() / 1e9).orElse(0.0)).toArray();
  }

  @Override
  public double[] rssMb() {
    return nodes.stream().mapToDouble(n -> Target.rssMb(n.process().pid())).toArray();
  }

  @Override
  public double[] liveHeapMb() {
    return nodes.stream().mapToDouble(n -> Target.liveHeapMb(n.process().pid())).toArray();
  }

  private void printLogTails() {
    for (Node n : nodes) {
      try {
        List<String> lines = Files.readAllLines(n.stderr(), StandardCharsets.UTF_8);
        System.err.println("--- node process " + n.index() + " (api " + n.apiAddress() + ") stderr, last lines:");
        lines.subList(Math.max(0, lines.size() - 20), lines.size()).forEach(System.err::println);
      } catch (IOException e) {
        // nothing to show
      }
    }
  }

  /** SIGTERM to every node, SIGKILL to those still running after {@link #STOP_TIMEOUT}. */
  private void stopNodes() {
    List<Process> running = nodes.stream().map(Node::process).filter(Process::isAlive).toList();
    running.forEach(Process::destroy);
    long deadline = System.nanoTime() + STOP_TIMEOUT.toNanos();
    for (Process p : running) {
      try {
        if (!p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
          System.err.println("node process " + p.pid() + " still running " + STOP_TIMEOUT.toSeconds() + " s after SIGTERM: SIGKILL");
          p.destroyForcibly();
          p.waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void close() {
    clients.forEach(RaftoralClient::close);
    try {
      Runtime.getRuntime().removeShutdownHook(stopOnExit);
    } catch (IllegalStateException shuttingDown) {
      return; // the JVM is exiting: the hook stops the nodes and cleans up
    }
    stopAndClean();
  }

  private void stopAndClean() {
    stopNodes();
    if (keepFiles) {
      System.err.println("node logs and data directories kept in " + root);
    } else {
      Target.deleteTree(root);
    }
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
