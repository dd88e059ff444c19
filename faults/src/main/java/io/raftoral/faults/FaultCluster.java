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

  /**
   * How the nodes run.
   *
   * @param nodeFailureTimeout how long a node may be unreachable before the others remove it
   * @param snapshotEvery each group's snapshot interval in entries (small: snapshots, purges and
   *     closed log segments happen during the run, so faults meet them)
   * @param diskMebibytes the size of the tmpfs each node's data directory lives on (a full disk
   *     is then one file away); 0: the data directories stay on the disk of {@code dir}
   * @param linkProxies whether the Raft traffic of every link goes through a {@link LinkProxies}
   *     proxy (links can then be slowed)
   */
  record Settings(int nodes, String electionTimeout, String nodeFailureTimeout, long snapshotEvery, int diskMebibytes,
      boolean linkProxies) {}

  private final Settings settings;
  private final Path dir;
  private final String classPath;
  private final NetworkNamespaces hosts;
  private final LinkProxies links; // null without
  private final List<NodeProcess> nodes = new ArrayList<>();
  private final List<Path> mounts = new ArrayList<>();
  private final Map<Integer, CountDownLatch> serving = new ConcurrentHashMap<>();
  private final Map<String, RaftoralClient> clients = new ConcurrentHashMap<>(); // by "node/call timeout ms"
  private final Path effectLog;
  private final FileChannel markers;
  private final boolean[] paused;

  /** @param dir where data directories, node logs and the side-effect log go */
  FaultCluster(Path dir, Settings settings, String classPath) throws IOException {
    Files.createDirectories(dir);
    this.settings = settings;
    this.dir = dir;
    this.classPath = classPath;
    this.effectLog = dir.resolve("effects.jsonl");
    this.hosts = NetworkNamespaces.create(settings.nodes());
    LinkProxies proxies = null;
    try {
      proxies = settings.linkProxies() ? new LinkProxies(hosts, RAFT_PORT) : null;
      this.markers = FileChannel.open(effectLog, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
      for (int i = 1; i <= settings.nodes(); i++) {
        if (settings.diskMebibytes() > 0) {
          mountTmpfs(disk(i), settings.diskMebibytes());
        }
        nodes.add(process(i, i == 1 ? List.of("--bootstrap", "--node-id", "1") : List.of("--join", apiAddress(1))));
      }
    } catch (IOException | RuntimeException e) {
      if (proxies != null) {
        proxies.close();
      }
      unmountAll();
      hosts.close();
      throw e;
    }
    this.links = proxies;
    this.paused = new boolean[settings.nodes() + 1];
  }

  /** Node {@code i}'s process: {@code membership} is {@code --bootstrap ...} or {@code --join SEEDS}. */
  private NodeProcess process(int i, List<String> membership) {
    String label = label(i);
    List<String> cmd = new ArrayList<>(hosts.exec(i));
    cmd.addAll(List.of(Ports.javaExecutable(), "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-Dorg.slf4j.simpleLogger.showDateTime=true", "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
        "-cp", classPath, "io.raftoral.cli.RaftoralCli", "node",
        "--raft-addr", hosts.address(i) + ":" + RAFT_PORT, "--api-addr", apiAddress(i),
        "--data-dir", dataDir(i).toString(), "--snapshot-every", Long.toString(settings.snapshotEvery()),
        "--election-timeout", settings.electionTimeout(), "--node-failure-timeout", settings.nodeFailureTimeout()));
    cmd.addAll(membership);
    return new NodeProcess(label, dataDir(i), cmd, Map.of("CONFORMANCE_LOG", effectLog.toString(), "CONFORMANCE_NODE", label),
        dir.resolve("logs"), line -> {
          if (line != null && line.startsWith("node ") && line.contains(" serving api ")) {
            serving.get(i).countDown();
          }
        });
  }

  private String apiAddress(int i) {
    return hosts.address(i) + ":" + API_PORT;
  }

  /** Where node {@code i}'s data directory lives: its tmpfs when it has one. */
  private Path disk(int i) {
    return dir.resolve(label(i) + "-disk");
  }

  Path dataDir(int i) {
    return disk(i).resolve("data");
  }

  boolean hasOwnDisks() {
    return settings.diskMebibytes() > 0;
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

  /**
   * Starts a killed node again on its data directory and waits until it serves or exits: null
   * when it serves, else its exit code and last lines (it refused its data directory).
   */
  String restartOrRefusal(int i) throws IOException, InterruptedException {
    marker(i, "restart");
    launch(i);
    NodeProcess p = nodes.get(i - 1);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (System.nanoTime() < deadline) {
      if (serving.get(i).await(100, TimeUnit.MILLISECONDS)) {
        return null;
      }
      if (!p.isAlive()) {
        return "exit " + p.exitCode() + ": " + refusal(p);
      }
    }
    throw new IllegalStateException(label(i) + " neither served nor exited within 90 s: " + p.tail(20));
  }

  /** The node's own last words ("raftoral: ..."), without the Ratis lines logged while it closed. */
  private static String refusal(NodeProcess p) {
    try {
      List<String> lines = Files.readAllLines(p.stderrFile(), StandardCharsets.ISO_8859_1);
      for (int k = lines.size() - 1; k >= 0; k--) {
        if (lines.get(k).startsWith("raftoral: ")) {
          return lines.get(k);
        }
      }
    } catch (IOException e) {
      // the tail says what there is
    }
    return p.tail(3);
  }

  /**
   * What a node whose data directory was refused is told to do: start empty and join. Its data
   * directory is deleted and it joins through the other nodes as a new node (the cluster
   * removes its old identity after the failure timeout).
   */
  void rejoinEmpty(int i) throws IOException, InterruptedException {
    marker(i, "rejoin-empty");
    deleteTree(dataDir(i));
    List<String> seeds = new ArrayList<>();
    for (int j = 1; j <= size(); j++) {
      if (j != i) {
        seeds.add(apiAddress(j));
      }
    }
    nodes.set(i - 1, process(i, List.of("--join", String.join(",", seeds))));
    launch(i);
    awaitServing(i);
  }

  /** Fills node {@code i}'s tmpfs to the last byte with a file beside its data directory; returns the bytes written. */
  long fillDisk(int i) throws IOException {
    marker(i, "disk-full");
    long written = 0;
    byte[] block = new byte[1 << 20];
    try (FileChannel f = FileChannel.open(disk(i).resolve("filler"), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.APPEND)) {
      while (true) {
        written += f.write(ByteBuffer.wrap(block));
      }
    } catch (IOException full) {
      if (!String.valueOf(full.getMessage()).contains("No space left")) {
        throw full;
      }
    }
    // A last block smaller than 1 MiB may still fit: fill byte-wise up to the end.
    try (FileChannel f = FileChannel.open(disk(i).resolve("filler"), StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
      while (true) {
        written += f.write(ByteBuffer.wrap(new byte[4096]));
      }
    } catch (IOException full) {
      return written;
    }
  }

  /** Deletes what {@link #fillDisk} wrote. */
  void freeDisk(int i) throws IOException {
    Files.deleteIfExists(disk(i).resolve("filler"));
    marker(i, "disk-freed");
  }

  /**
   * Whether a workflow started through node {@code i} completes within {@code within} (retried
   * while the node refuses): the node serves.
   */
  boolean serves(int i, Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      if (probe(i)) {
        return true;
      }
      Workload.pause(100);
    }
    return false;
  }

  /** Starts a one-checkpoint workflow through node {@code i} and awaits it: whether it completed (once, no retry). */
  boolean probe(int i) {
    String id = "probe-" + label(i) + "-" + PROBES.incrementAndGet();
    try {
      RaftoralClient c = client(i, Duration.ofSeconds(3));
      c.start(Workload.TYPE, 1, PROBE, id);
      return c.await(id, Duration.ofSeconds(5)).info().status() == io.raftoral.common.WorkflowStatus.COMPLETED;
    } catch (io.raftoral.common.RaftoralException notYet) {
      return false;
    }
  }

  /** Whether a start through node {@code i} is refused UNAVAILABLE within {@code within}. */
  boolean refuses(int i, Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      String id = "probe-" + label(i) + "-" + PROBES.incrementAndGet();
      try {
        client(i, Duration.ofSeconds(3)).start(Workload.TYPE, 1, PROBE, id);
      } catch (io.raftoral.common.RaftoralException e) {
        if (e.code() == io.raftoral.common.ErrorCode.UNAVAILABLE) {
          return true;
        }
      }
      Workload.pause(200);
    }
    return false;
  }

  private static final java.util.concurrent.atomic.AtomicInteger PROBES = new java.util.concurrent.atomic.AtomicInteger();
  private static final byte[] PROBE = "{\"program\":[{\"op\":\"checkpoint\",\"key\":\"x\",\"value\":1}]}".getBytes(StandardCharsets.UTF_8);

  /** Waits until every node answers, each sees all of them, and every execution group has a leader and every node as a member. */
  void awaitWhole(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    Object last = null;
    while (System.nanoTime() < deadline) {
      boolean whole = true;
      for (int i = 1; i <= size() && whole; i++) {
        try {
          ClusterInfoReply c = clusterInfo(i, false);
          last = c;
          whole = c.getNodesCount() == size() && c.getExecutionGroupsCount() > 0
              && c.getExecutionGroupsList().stream().allMatch(g -> g.getLeaderNode() != 0 && g.getMembersCount() == size());
        } catch (RuntimeException e) {
          last = e;
          whole = false;
        }
      }
      if (whole) {
        return;
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException("the cluster is not whole within " + timeout.toSeconds() + " s; last answer: " + last);
  }

  /** How long a rejoined node may take to be whole: its old identity is removed after the failure timeout. */
  Duration wholeAgainBound() {
    return Duration.ofSeconds(120).plus(duration(settings.nodeFailureTimeout()));
  }

  /** A duration as the node's options write it: 500ms, 15s, 2m. */
  static Duration duration(String text) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m)").matcher(text.strip());
    if (!m.matches()) {
      throw new IllegalArgumentException("not a duration (500ms, 15s, 2m): " + text);
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      default -> Duration.ofMinutes(n);
    };
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

  /** The proxies that can slow each link, or null when the nodes talk directly. */
  LinkProxies links() {
    return links;
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
    if (links != null) {
      links.close();
    }
    hosts.close();
    unmountAll();
    markers.close();
  }

  private void mountTmpfs(Path where, int mebibytes) throws IOException {
    Files.createDirectories(where);
    Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + mebibytes + "m", "tmpfs", where.toString())
        .redirectErrorStream(true).start();
    String output = new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    try {
      if (mount.waitFor() != 0) {
        throw new NetworkNamespaces.Unavailable("cannot mount a tmpfs on " + where + " (needs root): " + output);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted mounting " + where, e);
    }
    mounts.add(where);
  }

  private void unmountAll() {
    for (Path m : mounts) {
      try {
        new ProcessBuilder("umount", "-l", m.toString()).redirectErrorStream(true).start().waitFor(30, TimeUnit.SECONDS);
      } catch (IOException e) {
        // closing: the next one still unmounts
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    mounts.clear();
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
