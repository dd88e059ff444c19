package io.raftoral.bench;

import io.raftoral.client.RaftoralClient;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.proto.client.ManagementRole;
import io.raftoral.proto.client.NodeInfo;
import io.raftoral.workflow.WorkflowDefinition;
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
  /** Added to {@link #READY_TIMEOUT} per node: a large cluster takes one placement decision per round per node. */
  static final Duration READY_PER_NODE = Duration.ofSeconds(10);
  /** How long the placement must stay the same before the cluster counts as ready. */
  static final Duration SETTLED = Duration.ofSeconds(5);
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(15);
  static final Duration WORKFLOW_TIMEOUT = Duration.ofSeconds(60);
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
  private static final Pattern SERVING = Pattern.compile("node (\\d+) serving api");

  private record Node(int index, String raftAddress, String apiAddress, Path stdout, Path stderr, Process process,
      List<String> modeArgs) {}

  private final Path root;
  private final List<String> jvmOptions;
  private final List<String> nodeArgs;
  private final List<Node> nodes = new CopyOnWriteArrayList<>(); // read by the shutdown hook
  private final List<RaftoralClient> clients = new ArrayList<>();
  private final String runId = Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16);
  private final AtomicLong seq10Clients = new AtomicLong(); // ids stay unique when a row makes clients twice (fanin's warm-up)
  private volatile boolean keepFiles;
  private List<Integer> groupSizeBounds = List.of();
  private BenchWorkers workers;
  /** Non-null: every node loads bench/js/seq10.mjs and the seq10 clients start {@link JsSeq10#TYPE}, run this way. */
  private JsSeq10.Truffle js;
  // Node index -> its worker address (kept across restarts of the node).
  private final java.util.Map<Integer, String> workerAddresses = new java.util.concurrent.ConcurrentHashMap<>();
  private final Thread stopOnExit = Thread.ofPlatform().name("bench-stop-nodes").unstarted(this::stopAndClean);

  private ProcessCluster(Path root, List<String> jvmOptions, List<String> nodeArgs) {
    this.root = root;
    this.jvmOptions = jvmOptions;
    this.nodeArgs = List.copyOf(nodeArgs);
    Runtime.getRuntime().addShutdownHook(stopOnExit);
  }

  /**
   * Starts {@code size} node processes and returns once the cluster has placed every node (see
   * {@link #notReady}) and kept that placement for {@link #SETTLED}.
   *
   * @param extraJvm options added to {@link #NODE_JVM} for every node (e.g. a JFR recording)
   * @param nodeArgs options added to every node's {@code raftoral node} command line (e.g. group sizes)
   * @param bootstrapNodes how many nodes bootstrap the cluster together ({@code --members}); the others join one by one
   * @param groupSizeBounds the nodes' min and max group size when given ({@code --group-sizes MIN,TARGET,MAX}), else
   *     empty: ready also waits until every live group's size is within them
   * @param keepFiles keep the nodes' logs and data directories after {@link #close()}
   */
  static ProcessCluster start(int size, List<String> extraJvm, List<String> nodeArgs, int bootstrapNodes,
      List<Integer> groupSizeBounds, boolean keepFiles) throws IOException, InterruptedException {
    return start(size, extraJvm, nodeArgs, bootstrapNodes, groupSizeBounds, keepFiles, null);
  }

  /**
   * As above; with {@code workers} (a {@link BenchWorkers#LANGUAGES} name) every node also serves
   * workers and gets a worker process of that language beside it, and the seq10 clients start the
   * worker-hosted {@link BenchWorkers#TYPE} instead of the embedded seq10.
   */
  static ProcessCluster start(int size, List<String> extraJvm, List<String> nodeArgs, int bootstrapNodes,
      List<Integer> groupSizeBounds, boolean keepFiles, String workers) throws IOException, InterruptedException {
    return start(size, extraJvm, nodeArgs, bootstrapNodes, groupSizeBounds, keepFiles, workers, null);
  }

  /**
   * As above; with {@code js} every node also loads {@code bench/js/seq10.mjs} ({@code --workflows})
   * in a JVM set up for that Truffle runtime ({@link JsSeq10#jvmOptions}), and the seq10 clients
   * start {@link JsSeq10#TYPE}. Ready also waits until every node logged that it loaded the module
   * with the asked runtime.
   */
  static ProcessCluster start(int size, List<String> extraJvm, List<String> nodeArgs, int bootstrapNodes,
      List<Integer> groupSizeBounds, boolean keepFiles, String workers, JsSeq10.Truffle js)
      throws IOException, InterruptedException {
    List<String> jvm = new ArrayList<>(NODE_JVM);
    List<String> args = new ArrayList<>(nodeArgs);
    if (js != null) {
      List<String> jsJvm = JsSeq10.jvmOptions(js, System.getProperty("java.class.path"));
      if (jsJvm.stream().anyMatch(o -> o.startsWith("--enable-native-access="))) {
        jvm.removeIf(o -> o.startsWith("--enable-native-access="));
      }
      jvm.addAll(jsJvm); // ends with -cp CLASSPATH
      args.addAll(List.of("--workflows", JsSeq10.module().toString()));
    }
    jvm.addAll(extraJvm);
    ProcessCluster cluster = new ProcessCluster(Files.createTempDirectory("raftoral-bench-processes-"), jvm, args);
    cluster.keepFiles = keepFiles;
    cluster.js = js;
    if (workers != null) {
      cluster.workers = new BenchWorkers(workers, cluster.root);
      cluster.workers.prepare();
    }
    cluster.groupSizeBounds = List.copyOf(groupSizeBounds);
    int founders = Math.max(1, Math.min(bootstrapNodes, size));
    try {
      if (founders == 1) {
        cluster.launch(List.of("--bootstrap", "--node-id", "1"), "127.0.0.1:" + freePort(), "127.0.0.1:" + freePort());
      } else {
        // Every founder is started with the same --members map, so their Raft ports are chosen first.
        List<String> rafts = new ArrayList<>();
        List<String> members = new ArrayList<>();
        for (int i = 1; i <= founders; i++) {
          rafts.add("127.0.0.1:" + freePort());
          members.add(i + "=" + rafts.getLast());
        }
        for (int i = 1; i <= founders; i++) {
          cluster.launch(List.of("--bootstrap", "--node-id", Integer.toString(i), "--members", String.join(",", members)),
              rafts.get(i - 1), "127.0.0.1:" + freePort());
        }
      }
      // Founders start at once and serve once their groups elect: on 2 shared cores that takes longer the more they are.
      Duration foundersServe = START_TIMEOUT.plus(READY_PER_NODE.multipliedBy(founders - 1L));
      for (Node n : List.copyOf(cluster.nodes)) {
        cluster.awaitServing(n, foundersServe);
        cluster.clients.add(RaftoralClient.connect(n.apiAddress(), Duration.ofSeconds(10)));
      }
      // One at a time: two nodes joining a cluster whose management group has one voter at once
      // are never admitted (the leader asks Ratis for {1} -> {1,2,3} in one change, which it
      // refuses as a change of the majority set, and removes both after 30 s).
      String seeds = String.join(",", cluster.nodes.stream().map(Node::apiAddress).toList());
      for (int i = founders + 1; i <= size; i++) {
        Node n = cluster.launch(List.of("--join", seeds), "127.0.0.1:" + freePort(), "127.0.0.1:" + freePort());
        cluster.awaitServing(n, START_TIMEOUT);
        cluster.clients.add(RaftoralClient.connect(n.apiAddress(), Duration.ofSeconds(10)));
        cluster.awaitAdmitted(i);
      }
      cluster.awaitReady();
      if (js != null) {
        cluster.checkTruffleRuntime();
      }
      if (cluster.workers != null) {
        for (Node n : cluster.nodes) {
          cluster.workers.start(n.index(), cluster.workerAddress(n.index()));
        }
      }
      return cluster;
    } catch (Throwable e) {
      cluster.printLogTails();
      cluster.keepFiles = true;
      cluster.close();
      throw e;
    }
  }

  private Node launch(List<String> modeArgs, String raft, String api) throws IOException {
    Node node = spawn(nodes.size() + 1, 1, modeArgs, raft, api);
    nodes.add(node);
    return node;
  }

  /** Starts node {@code index}'s process; its run {@code run} logs to node-I.stdout/.stderr (run 1) or node-I.RUN.stdout/.stderr. */
  private Node spawn(int index, int run, List<String> modeArgs, String raft, String api) throws IOException {
    Path dataDir = root.resolve("node-" + index);
    String logs = run == 1 ? "node-" + index : "node-" + index + "." + run;
    Path stdout = root.resolve(logs + ".stdout");
    Path stderr = root.resolve(logs + ".stderr");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvmOptions.stream().map(o -> o.replace("{node}", Integer.toString(index))).toList());
    // RocksDB unpacks its native library into java.io.tmpdir, which a killed node leaves behind: keep it under root.
    cmd.add("-Djava.io.tmpdir=" + root);
    if (!jvmOptions.contains("-cp")) { // JsSeq10.jvmOptions gives its own
      cmd.addAll(List.of("-cp", System.getProperty("java.class.path")));
    }
    cmd.addAll(List.of("io.raftoral.cli.RaftoralCli", "node", "--raft-addr", raft, "--api-addr", api, "--data-dir", dataDir.toString()));
    cmd.addAll(modeArgs);
    cmd.addAll(nodeArgs);
    if (workers != null) {
      cmd.addAll(List.of("--worker-address", workerAddress(index)));
    }
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
    pb.environment().remove("RAFTORAL_API");
    return new Node(index, raft, api, stdout, stderr, pb.start(), List.copyOf(modeArgs));
  }

  private String workerAddress(int index) {
    return workerAddresses.computeIfAbsent(index, i -> "127.0.0.1:" + freePort());
  }

  /** SIGKILL to node {@code index} (1-based), waiting until its process is gone. */
  void kill(int index) throws InterruptedException {
    Process p = nodes.get(index - 1).process();
    p.destroyForcibly();
    p.waitFor(30, TimeUnit.SECONDS);
  }

  /** Node {@code index}'s data directory (identity, Raft logs, state stores). */
  Path dataDirectory(int index) {
    return root.resolve("node-" + index);
  }

  /** The stderr file (its logs) of node {@code index}'s current process. */
  Path stderr(int index) {
    return nodes.get(index - 1).stderr();
  }

  boolean isAlive(int index) {
    return nodes.get(index - 1).process().isAlive();
  }

  /**
   * Starts node {@code index} again, after {@link #kill}, on its old Raft and API addresses, with
   * new log files (node-I.RUN.stderr), and returns without waiting for it to serve. {@code
   * asNewNode}: with {@code --join} through the other nodes instead of its first command line
   * (a node whose data directory was wiped registers as a new node); else its first command line
   * (a node with its data directory recovers).
   */
  void restart(int index, boolean asNewNode) throws IOException {
    Node old = nodes.get(index - 1);
    if (old.process().isAlive()) {
      throw new IllegalStateException("node process " + index + " is still running");
    }
    List<String> modeArgs = old.modeArgs();
    if (asNewNode) {
      List<String> seeds = nodes.stream().filter(n -> n.index() != index).map(Node::apiAddress).toList();
      modeArgs = List.of("--join", String.join(",", seeds));
    }
    int run = 2;
    while (Files.exists(root.resolve("node-" + index + "." + run + ".stderr"))) {
      run++;
    }
    nodes.set(index - 1, spawn(index, run, modeArgs, old.raftAddress(), old.apiAddress()));
    // A fresh channel: the old one may be backing off after the connection the kill broke.
    clients.get(index - 1).close();
    clients.set(index - 1, RaftoralClient.connect(old.apiAddress(), Duration.ofSeconds(10)));
  }

  /** The cluster as node {@code index} answers it, with its replicas' applied indexes and digests when asked. */
  ClusterInfoReply clusterInfo(int index, boolean replicas) {
    return clients.get(index - 1).clusterInfo(replicas);
  }

  /** A seq10 client that starts its workflows through node {@code index} (1-based) only. */
  Seq10Client clientOn(int index) {
    return client(index - 1);
  }

  private void awaitServing(Node node, Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Matcher m = SERVING.matcher(Files.readString(node.stdout(), StandardCharsets.UTF_8));
      if (m.find()) {
        return;
      }
      if (!node.process().isAlive()) {
        int code = node.process().exitValue();
        // Exit 2 is picocli's usage error: an option this build of `raftoral node` does not know or refuses.
        String why = code == 2 ? " refused its command line" : " exited with " + code + " before serving";
        throw new IllegalStateException("node process " + node.index() + why + ": "
            + String.join(" | ", firstLines(node.stderr(), 3)) + "\n  command line options: " + nodeArgs);
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("node process " + node.index() + " did not serve within " + timeout.toSeconds() + " s");
      }
      Thread.sleep(50);
    }
  }

  private static List<String> firstLines(Path file, int n) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      return lines.subList(0, Math.min(n, lines.size()));
    } catch (IOException e) {
      return List.of("(no stderr: " + e.getMessage() + ")");
    }
  }

  /** Until the first node's view lists {@code count} nodes, none of them still joining. */
  private void awaitAdmitted(int count) throws InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      try {
        ClusterInfoReply info = clients.getFirst().clusterInfo();
        long joining = info.getNodesList().stream().filter(n -> n.getRole() == ManagementRole.JOINING
            || n.getRole() == ManagementRole.MANAGEMENT_ROLE_UNSPECIFIED).count();
        if (info.getNodesCount() >= count && joining == 0) {
          return;
        }
        last = info.getNodesCount() + " nodes, " + joining + " joining";
      } catch (RuntimeException e) {
        last = e.getMessage();
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("node " + count + " was not admitted within " + START_TIMEOUT.toSeconds() + " s; last: " + last);
  }

  /**
   * Until the management leader's view shows the whole cluster placed ({@link #notReady} says
   * nothing) and the same execution groups for {@link #SETTLED}: the leader decides one change
   * per round, so a view that is complete once may still be between two decisions. The leader's
   * view is the committed placement; the other nodes' views are compared with it afterwards
   * ({@link #viewsBehind}), and a node whose view lags is reported, not waited for.
   */
  private void awaitReady() throws InterruptedException {
    Duration timeout = READY_TIMEOUT.plus(READY_PER_NODE.multipliedBy(nodes.size()));
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "no answer yet";
    String layout = null;
    long since = 0;
    while (System.nanoTime() < deadline) {
      String seen = null;
      try {
        ClusterInfoReply info = leaderView();
        String why = notReady(info);
        if (why == null) {
          seen = layout(info);
        } else {
          last = "management leader " + info.getNodeId() + ": " + why;
        }
      } catch (RuntimeException e) {
        last = e.getMessage();
      }
      if (seen == null || !seen.equals(layout)) {
        layout = seen;
        since = System.nanoTime();
      } else if (System.nanoTime() - since >= SETTLED.toNanos()) {
        String behind = viewsBehind(leaderView());
        if (!behind.isEmpty()) {
          System.err.println("placed, but some nodes' own views differ from the management leader's: " + behind);
        }
        return;
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("the cluster of " + nodes.size() + " node processes was not ready within "
        + timeout.toSeconds() + " s; last: " + last);
  }

  /** The cluster view of the node that leads the management group (as the first node names it). */
  private ClusterInfoReply leaderView() {
    ClusterInfoReply first = clients.getFirst().clusterInfo();
    long leader = first.getManagementLeader();
    for (RaftoralClient client : clients) {
      ClusterInfoReply info = client == clients.getFirst() ? first : null;
      if (info == null) {
        try {
          info = client.clusterInfo();
        } catch (RuntimeException e) {
          continue;
        }
      }
      if (info.getNodeId() == leader) {
        return info;
      }
    }
    throw new IllegalStateException("no node answers as the management leader (node 1 names " + leader + ")");
  }

  /** {@link #viewsBehind(ClusterInfoReply)} against the management leader's view now. */
  String viewsBehind() {
    return viewsBehind(leaderView());
  }

  /** The nodes whose own view lists other nodes or other groups than {@code reference}; empty when all agree. */
  String viewsBehind(ClusterInfoReply reference) {
    String want = layout(reference);
    List<String> behind = new ArrayList<>();
    for (RaftoralClient client : clients) {
      try {
        ClusterInfoReply info = client.clusterInfo();
        if (info.getNodesCount() != reference.getNodesCount() || !layout(info).equals(want)) {
          behind.add("node " + info.getNodeId() + " sees " + info.getNodesCount() + " nodes, " + liveGroups(info).size() + " groups");
        }
      } catch (RuntimeException e) {
        behind.add(client.address() + ": " + e.getMessage());
      }
    }
    return String.join("; ", behind);
  }

  /**
   * Why the cluster is not placed yet in this view, or null: all N nodes admitted; every node a
   * member of a live execution group; every live group with a leader, open, and its Raft
   * configuration equal to its committed members (no member change under way).
   */
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
    List<ExecutionGroupInfo> live = liveGroups(info);
    if (live.isEmpty()) {
      return "no execution group";
    }
    for (ExecutionGroupInfo g : live) {
      if (g.getLeaderNode() == 0) {
        return "execution group " + g.getIndex() + " has no leader";
      }
      if (!g.getOpen()) {
        return "execution group " + g.getIndex() + " is not open";
      }
      if (!g.getMergeTarget().isEmpty()) {
        return "execution group " + g.getIndex() + " is merging";
      }
      if (groupSizeBounds.size() == 2 && live.size() > 1
          && (g.getMembersCount() < groupSizeBounds.get(0) || g.getMembersCount() > groupSizeBounds.get(1))) {
        return "execution group " + g.getIndex() + " has " + g.getMembersCount() + " members, outside " + groupSizeBounds;
      }
      if (!new HashSet<>(g.getRaftMembersList()).equals(new HashSet<>(g.getMembersList()))) {
        return "execution group " + g.getIndex() + " has Raft members " + g.getRaftMembersList() + ", committed " + g.getMembersList();
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

  private static List<ExecutionGroupInfo> liveGroups(ClusterInfoReply info) {
    return info.getExecutionGroupsList().stream().filter(g -> g.getMergedInto().isEmpty()).toList();
  }

  /** The execution groups' indexes and members, to tell whether the placement changed between two views. */
  private static String layout(ClusterInfoReply info) {
    return liveGroups(info).stream().sorted(java.util.Comparator.comparingInt(ExecutionGroupInfo::getIndex))
        .map(g -> g.getIndex() + "=" + new java.util.TreeSet<>(g.getMembersList())).toList().toString();
  }

  /**
   * The placement as the first node sees it now: each live execution group's members and
   * leader, and how many groups each node is in (1 everywhere when the groups are disjoint).
   */
  String placement() {
    ClusterInfoReply info = leaderView();
    List<ExecutionGroupInfo> live = liveGroups(info);
    java.util.Map<Long, Integer> memberships = new java.util.TreeMap<>();
    info.getNodesList().forEach(n -> memberships.put(n.getNodeId(), 0));
    StringBuilder groups = new StringBuilder();
    for (ExecutionGroupInfo g : live) {
      g.getMembersList().forEach(m -> memberships.merge(m, 1, Integer::sum));
      groups.append(String.format(" g%d%s/L%d", g.getIndex(), new java.util.TreeSet<>(g.getMembersList()), g.getLeaderNode()));
    }
    java.util.IntSummaryStatistics per = memberships.values().stream().mapToInt(Integer::intValue).summaryStatistics();
    java.util.IntSummaryStatistics sizes = live.stream().mapToInt(ExecutionGroupInfo::getMembersCount).summaryStatistics();
    long voters = info.getNodesList().stream().filter(n -> n.getRole() == ManagementRole.VOTER).count();
    return String.format("%d nodes (%d management voters), %d execution groups of %d..%d members, groups per node %d..%d "
        + "(%d follower links in execution groups):%s", info.getNodesCount(), voters, live.size(), sizes.getMin(), sizes.getMax(),
        per.getMin(), per.getMax(), executionFollowerLinks(info), groups);
  }

  /** Sum over live execution groups of (members - 1): the leader-to-follower links that carry its heartbeats. */
  long executionFollowerLinks() {
    return executionFollowerLinks(leaderView());
  }

  private static long executionFollowerLinks(ClusterInfoReply info) {
    return liveGroups(info).stream().mapToLong(g -> Math.max(0, g.getMembersCount() - 1)).sum();
  }

  /** Every node's Raft port: a socket touching one of them carries Raft traffic. */
  Set<Integer> raftPorts() {
    Set<Integer> ports = new HashSet<>();
    nodes.forEach(n -> ports.add(Integer.parseInt(n.raftAddress().substring(n.raftAddress().lastIndexOf(':') + 1))));
    return ports;
  }

  @Override
  public String mode() {
    return workers != null ? "processes+" + workers.language() + "-workers" : js != null ? "processes+js-" + js.label() : "processes";
  }

  /** GraalWorkflows logs "GraalVM workflows ... (GraalVM V on VM, NAME runtime)" once it loaded the modules: NAME is "Interpreted" without the optimizing runtime. */
  private static final Pattern JS_RUNTIME = Pattern.compile("GraalVM workflows .* \\(GraalVM .* on .*, (.+) runtime\\)");

  /** Every node loaded the module with the asked Truffle runtime (a wrong compiler version falls back to the interpreter). */
  private void checkTruffleRuntime() throws IOException {
    for (Node n : nodes) {
      String log = Files.readString(n.stderr(), StandardCharsets.UTF_8) + Files.readString(n.stdout(), StandardCharsets.UTF_8);
      Matcher m = JS_RUNTIME.matcher(log);
      if (!m.find()) {
        throw new IOException("node process " + n.index() + " did not log that it loaded " + JsSeq10.module() + " (see " + n.stderr() + ")");
      }
      if (!js.matches(m.group(1))) {
        throw new IOException("node process " + n.index() + " runs JavaScript on the " + m.group(1) + " runtime, not "
            + js.label() + " (see " + n.stderr() + ")");
      }
      System.err.println("node " + n.index() + ": JavaScript on the " + m.group(1) + " runtime");
    }
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
      client.start(workers != null ? BenchWorkers.TYPE : js != null ? JsSeq10.TYPE : "seq10", 1, Integer.toString(input).getBytes(StandardCharsets.UTF_8), id);
      RaftoralClient.Outcome outcome = client.await(id, WORKFLOW_TIMEOUT);
      return Integer.parseInt(new String(outcome.resultOrThrow(), StandardCharsets.UTF_8).strip());
    };
  }

  @Override
  public void startBigState(WorkflowDefinition<BigState.Input, Integer> definition, String workflowId, BigState.Input input) {
    try {
      clients.getFirst().start(definition.type().name(), 1, JSON.writeValueAsBytes(input), workflowId);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(e);
    }
  }

  @Override
  public int awaitBigState(String workflowId, Duration timeout) {
    RaftoralClient.Outcome outcome = clients.getFirst().await(workflowId, timeout);
    return Integer.parseInt(new String(outcome.resultOrThrow(), StandardCharsets.UTF_8).strip());
  }

  @Override
  public WorkflowInfo describe(String workflowId) {
    return clients.getFirst().describe(workflowId);
  }

  @Override
  public HistoryPage history(String workflowId, HistoryQuery query) {
    return clients.getFirst().history(workflowId, query);
  }

  @Override
  public long[] stopAndMeasureStateStores() throws IOException {
    stopNodes();
    long[] bytes = new long[nodes.size()];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = Target.sizeOf(root.resolve("node-" + (i + 1)).resolve("state"));
    }
    return bytes;
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
    if (workers != null) {
      workers.close();
    }
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
