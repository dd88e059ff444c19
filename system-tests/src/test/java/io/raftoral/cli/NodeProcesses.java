package io.raftoral.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Real {@code raftoral} processes for tests: nodes started through {@code RaftoralCli node} on
 * free loopback ports, each with its own data directory, and CLI commands run as processes too.
 *
 * <p>Nodes are numbered 1, 2, 3... in the order they were started (node 1 is usually the
 * bootstrap node); {@link #nodeId(int)} is the id the node printed, which for joining nodes
 * the cluster allocates. Each node's stdout and stderr, and every CLI run's, stay in files under
 * {@code target/node-processes/NAME-TIMESTAMP/} for debugging; data directories (and the
 * processes' own temp files, {@code java.io.tmpdir}) live in a temp directory removed by
 * {@link #close()}, which also stops every process still running (nodes
 * and {@link #spawnJava helpers}) and unmounts every {@link #tmpfs} it mounted.
 *
 * <p>A node may run under a command prefix ({@link #startIn}), e.g. {@code ip netns exec NS}
 * to put it in a network namespace of its own ({@link io.raftoral.faults.NetworkNamespaces}).
 */
public final class NodeProcesses implements AutoCloseable {
  /** How long a node may take to print its serving line. */
  public static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  /** How long one CLI command (or a node expected to fail) may run. */
  public static final Duration CLI_TIMEOUT = Duration.ofSeconds(120);
  /** How long {@link #awaitCluster} waits for a cluster to settle. */
  public static final Duration CLUSTER_WAIT = Duration.ofSeconds(90);
  /** Short, so that failover tests are quick; the node default is 1 s. */
  public static final String ELECTION_TIMEOUT = "500ms";

  private static final List<String> NODE_JVM = List.of(
      "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx256m", "-XX:+UseSerialGC",
      "-Dorg.slf4j.simpleLogger.showDateTime=true");
  // A CLI command is short-lived: favour start-up time.
  private static final List<String> CLI_JVM = List.of(
      "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx128m", "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1");
  private static final Pattern SERVING = Pattern.compile("node (\\d+) serving api");
  // The test class path without what only drives the browser (ConsoleBrowserTest): the node processes run what ships.
  private static final String PROCESS_CLASS_PATH = java.util.Arrays.stream(
          System.getProperty("java.class.path").split(java.io.File.pathSeparator))
      .filter(entry -> !entry.contains("/org/seleniumhq/") && !entry.contains("/net/bytebuddy/"))
      .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));

  /** What a CLI process did. */
  public record CliResult(int exitCode, String stdout, String stderr) {
    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- stdout:\n" + stdout + "\n--- stderr:\n" + stderr;
    }
  }

  private volatile List<String> extraNodeJvm = List.of();

  /** JVM options (e.g. a test hook's {@code -D}) for the nodes launched or restarted from now on. */
  public void nodeJvmOptions(String... options) {
    extraNodeJvm = List.of(options);
  }

  private volatile java.util.Map<String, String> extraEnvironment = java.util.Map.of();

  /** Environment variables (e.g. OpenTelemetry's) for the processes launched from now on. */
  public void environment(java.util.Map<String, String> variables) {
    extraEnvironment = java.util.Map.copyOf(variables);
  }

  /** One node process and where it lives. */
  public static final class Node {
    final int index;
    final List<String> commandPrefix;
    final String raftAddress;
    volatile String apiAddress;
    final Path dataDirectory;
    volatile Process process;
    volatile Path stdout;
    volatile Path stderr;
    volatile long nodeId;

    Node(int index, List<String> commandPrefix, String raftAddress, String apiAddress, Path dataDirectory) {
      this.index = index;
      this.commandPrefix = List.copyOf(commandPrefix);
      this.raftAddress = raftAddress;
      this.apiAddress = apiAddress;
      this.dataDirectory = dataDirectory;
    }
  }

  private final Path logDirectory;
  private final Path dataRoot;
  private final List<Node> nodes = new CopyOnWriteArrayList<>();
  private final List<Process> helpers = new CopyOnWriteArrayList<>();
  private final List<Path> mounts = new CopyOnWriteArrayList<>();
  private final AtomicInteger runs = new AtomicInteger();
  private final Thread killOnExit;

  /** @param name names the log directory, e.g. the test class */
  public NodeProcesses(String name) {
    try {
      String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS"));
      logDirectory = Files.createDirectories(Path.of("target", "node-processes", name + "-" + stamp)).toAbsolutePath();
      dataRoot = Files.createTempDirectory("raftoral-" + name + "-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // Should the test JVM die without close(), its children must not outlive it.
    killOnExit = new Thread(() -> {
      nodes.forEach(n -> {
        if (n.process != null) {
          n.process.destroyForcibly();
        }
      });
      helpers.forEach(Process::destroyForcibly);
    });
    Runtime.getRuntime().addShutdownHook(killOnExit);
  }

  // --- starting nodes ---

  /** Starts a node with {@code --bootstrap --node-id 1} (plus {@code extraArgs}) and waits until it serves. */
  public int bootstrap(String... extraArgs) {
    return start(concat(List.of("--bootstrap", "--node-id", "1"), extraArgs));
  }

  /**
   * Starts a node joining through every running node's API address and waits until it serves.
   * Several may be started at once from different threads.
   */
  public int startJoining(String... extraArgs) {
    List<String> seeds = nodes.stream().filter(n -> n.nodeId > 0 && n.process != null && n.process.isAlive())
        .map(n -> n.apiAddress).toList();
    if (seeds.isEmpty()) {
      throw new IllegalStateException("no running node to join through");
    }
    return start(concat(List.of("--join", String.join(",", seeds)), extraArgs));
  }

  /** Starts a node joining through the given nodes (by index) and waits until it serves. */
  public int startJoiningVia(List<Integer> seedIndexes, String... extraArgs) {
    String seeds = seedIndexes.stream().map(this::apiAddress).collect(Collectors.joining(","));
    return start(concat(List.of("--join", seeds), extraArgs));
  }

  /**
   * Starts a node on fresh ports and a fresh data directory with {@code modeArgs} (e.g.
   * {@code --bootstrap} or {@code --join SEEDS}, plus any other option) and waits for its
   * serving line. Returns the node's index.
   */
  public int start(List<String> modeArgs) {
    return startNode(List.of(), "127.0.0.1:" + freePort(), "127.0.0.1:" + freePort(), null, modeArgs);
  }

  /**
   * As {@link #start}, with the node's {@code java} command run through {@code commandPrefix}
   * (e.g. {@code ip netns exec NS}: a network namespace) on the given addresses; restarts use
   * the same prefix.
   */
  public int startIn(List<String> commandPrefix, String raftAddress, String apiAddress, List<String> modeArgs) {
    return startNode(commandPrefix, raftAddress, apiAddress, null, modeArgs);
  }

  /**
   * As {@link #start} on the given addresses and data directory (e.g. a directory a failed start
   * left behind); the node is then managed like any other.
   */
  public int startAt(String raftAddress, String apiAddress, Path dataDirectory, List<String> modeArgs) {
    return startNode(List.of(), raftAddress, apiAddress, dataDirectory, modeArgs);
  }

  /** @param dataDirectory null for a fresh one named after the node's index */
  private int startNode(List<String> prefix, String raftAddress, String apiAddress, Path dataDirectory, List<String> modeArgs) {
    Node node;
    synchronized (nodes) { // only the numbering is serialized: nodes may start concurrently
      int index = nodes.size() + 1;
      node = new Node(index, prefix, raftAddress, apiAddress,
          dataDirectory != null ? dataDirectory : dataRoot.resolve("node-" + index));
      nodes.add(node);
      launch(node, modeArgs);
    }
    awaitServing(node);
    return node.index;
  }

  /**
   * Starts node {@code i} again after {@link #stop} or {@link #kill}, on the same addresses and
   * data directory, with {@code modeArgs} (a restarted node keeps its identity; the mode is
   * still required on the command line), and waits until it serves.
   */
  public void restart(int i, List<String> modeArgs) {
    Node node = node(i);
    synchronized (node) {
      if (node.process != null && node.process.isAlive()) {
        throw new IllegalStateException("node " + i + " is still running");
      }
      node.nodeId = 0;
      launch(node, modeArgs);
    }
    awaitServing(node);
  }

  private void launch(Node node, List<String> modeArgs) {
    int run = runs.incrementAndGet();
    node.stdout = logDirectory.resolve("node-" + node.index + "-" + run + ".stdout");
    node.stderr = logDirectory.resolve("node-" + node.index + "-" + run + ".stderr");
    List<String> args = new ArrayList<>(List.of("node", "--raft-addr", node.raftAddress, "--api-addr", node.apiAddress,
        "--data-dir", node.dataDirectory.toString(), "--election-timeout", ELECTION_TIMEOUT));
    args.addAll(modeArgs);
    node.process = spawn(node.commandPrefix, concat(NODE_JVM, extraNodeJvm.toArray(String[]::new)), RaftoralCli.class, args, node.stdout, node.stderr);
  }

  private void awaitServing(Node node) {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (true) {
      Matcher m = SERVING.matcher(read(node.stdout));
      if (m.find()) {
        node.nodeId = Long.parseLong(m.group(1));
        return;
      }
      if (!node.process.isAlive()) {
        throw new AssertionError("node " + node.index + " exited with " + node.process.exitValue()
            + " before serving; stderr:\n" + tail(node.stderr, 40));
      }
      if (System.nanoTime() > deadline) {
        node.process.destroyForcibly();
        throw new AssertionError("node " + node.index + " did not serve within " + START_TIMEOUT.toSeconds()
            + " s; stderr:\n" + tail(node.stderr, 40));
      }
      sleep(100);
    }
  }

  /**
   * Runs {@code raftoral node ARGS} exactly as given (no addresses added) until it exits, for a
   * node expected to fail; kills it and fails the test if it is still running after
   * {@link #CLI_TIMEOUT}.
   */
  public CliResult runNode(String... args) {
    return run(NODE_JVM, concat(List.of("node"), args));
  }

  // --- controlling nodes ---

  /** SIGKILL (no shutdown hook runs) and wait until it is gone. */
  public void kill(int i) {
    Process p = node(i).process;
    p.destroyForcibly();
    waitFor(p, Duration.ofSeconds(30));
  }

  /** SIGTERM (the node closes cleanly) and wait; returns the exit code (143 after SIGTERM). */
  public int stop(int i) {
    Process p = node(i).process;
    p.destroy();
    if (!waitFor(p, Duration.ofSeconds(60))) {
      p.destroyForcibly();
      waitFor(p, Duration.ofSeconds(30));
      throw new AssertionError("node " + i + " did not stop within 60 s of SIGTERM; stderr:\n" + tail(node(i).stderr, 40));
    }
    return p.exitValue();
  }

  /** SIGSTOP: the process freezes (as in a long GC pause or a suspended VM) until {@link #resume}. */
  public void pause(int i) {
    signal(i, "STOP");
  }

  /** SIGCONT after {@link #pause}. */
  public void resume(int i) {
    signal(i, "CONT");
  }

  private void signal(int i, String signal) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid(i))).inheritIO().start();
      if (!kill.waitFor(30, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new AssertionError("kill -" + signal + " " + pid(i) + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** Node {@code i} serves its api on {@code hostPort} from its next {@link #restart} on. */
  public void changeApiAddress(int i, String hostPort) {
    node(i).apiAddress = hostPort;
  }

  /** Everything node {@code i}'s current process wrote to stderr (its log). */
  public String stderr(int i) {
    return read(node(i).stderr);
  }

  /** The exit code of node {@code i}'s process once it has exited within {@code timeout}, else fails. */
  public int awaitExit(int i, Duration timeout) {
    Process p = node(i).process;
    if (!waitFor(p, timeout)) {
      throw new AssertionError("node " + i + " still runs after " + timeout.toSeconds() + " s; stderr:\n" + tail(node(i).stderr, 40));
    }
    return p.exitValue();
  }

  public boolean isAlive(int i) {
    return node(i).process.isAlive();
  }

  public int size() {
    return nodes.size();
  }

  public String apiAddress(int i) {
    return node(i).apiAddress;
  }

  // --- asking the cluster ---

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

  /** {@code value} as JSON bytes, a workflow input. */
  public static byte[] json(Object value) {
    try {
      return JSON.writeValueAsBytes(value);
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
  }

  /** Three voters, every execution group at three members with a leader, its Raft configuration equal to them. */
  public static boolean wholeOfThree(io.raftoral.proto.client.ClusterInfoReply c) {
    return settled(c, 3) && c.getExecutionGroupsCount() > 0
        && c.getNodesList().stream().allMatch(n -> n.getRole() == io.raftoral.proto.client.ManagementRole.VOTER);
  }

  /**
   * {@code count} nodes, and every execution group with a leader and {@code count} committed
   * members that are also its Raft configuration (a kill can leave a group of two with one alive).
   */
  public static boolean settled(io.raftoral.proto.client.ClusterInfoReply c, int count) {
    return c.getNodesCount() == count && c.getExecutionGroupsList().stream().allMatch(g -> g.getMembersCount() == count
        && g.getLeaderNode() != 0 && g.getRaftMembersList().equals(g.getMembersList()));
  }

  /**
   * Waits (at most {@code timeout}) until every running node holds every execution group and all
   * replicas of a group have one digest (the same applied state); returns the first running
   * node's replicas by group.
   */
  public java.util.Map<String, io.raftoral.proto.client.ReplicaInfo> awaitReplicasEqual(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      java.util.Map<String, java.util.Set<String>> digests = new java.util.HashMap<>();
      java.util.Map<String, Integer> holders = new java.util.HashMap<>();
      java.util.Map<String, io.raftoral.proto.client.ReplicaInfo> first = new java.util.HashMap<>();
      List<Integer> alive = java.util.stream.IntStream.rangeClosed(1, size()).filter(this::isAlive).boxed().toList();
      for (int i : alive) {
        for (io.raftoral.proto.client.ReplicaInfo r : clusterInfo(i, true).getReplicasList()) {
          digests.computeIfAbsent(r.getGroupId(), k -> new java.util.HashSet<>()).add(r.getDigest());
          holders.merge(r.getGroupId(), 1, Integer::sum);
          first.putIfAbsent(r.getGroupId(), r);
        }
      }
      if (!digests.isEmpty() && digests.values().stream().allMatch(d -> d.size() == 1)
          && holders.values().stream().allMatch(h -> h == alive.size())) {
        return first;
      }
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("replicas converge: not within " + timeout.toSeconds() + " s; digests by group: " + digests
            + ", holders by group: " + holders + " of " + alive.size() + " running nodes");
      }
      sleep(200);
    }
  }

  /** The cluster as process {@code via} answers it. */
  public io.raftoral.proto.client.ClusterInfoReply clusterInfo(int via) {
    return clusterInfo(via, false);
  }

  /** The cluster as process {@code via} answers it, with that node's replica digests when asked. */
  public io.raftoral.proto.client.ClusterInfoReply clusterInfo(int via, boolean replicaDigests) {
    try (io.raftoral.client.RaftoralClient c = io.raftoral.client.RaftoralClient.connect(apiAddress(via), Duration.ofSeconds(10))) {
      return c.clusterInfo(replicaDigests);
    }
  }

  /**
   * Waits (at most {@link #CLUSTER_WAIT}) until process {@code via} answers a cluster info that
   * satisfies {@code condition}; fails naming {@code what} and the last answer (or error).
   */
  public io.raftoral.proto.client.ClusterInfoReply awaitCluster(int via, String what,
      java.util.function.Predicate<io.raftoral.proto.client.ClusterInfoReply> condition) {
    return awaitCluster(via, what, CLUSTER_WAIT, condition);
  }

  /** As {@link #awaitCluster(int, String, java.util.function.Predicate)}, waiting at most {@code timeout}. */
  public io.raftoral.proto.client.ClusterInfoReply awaitCluster(int via, String what, Duration timeout,
      java.util.function.Predicate<io.raftoral.proto.client.ClusterInfoReply> condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Object last = null;
    while (true) {
      try {
        io.raftoral.proto.client.ClusterInfoReply c = clusterInfo(via);
        last = c;
        if (condition.test(c)) {
          return c;
        }
      } catch (RuntimeException notNow) {
        last = notNow; // starting, rejoining, not serving or cut off
      }
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError(what + ": not within " + timeout.toSeconds() + " s; last seen by process " + via + ": " + last);
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting: " + what, e);
      }
    }
  }

  /** The grpc.health.v1 status process {@code index} reports; UNKNOWN when it does not answer. */
  public io.grpc.health.v1.HealthCheckResponse.ServingStatus health(int index) {
    io.grpc.ManagedChannel channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forTarget(apiAddress(index))
        .usePlaintext().build();
    try {
      return io.grpc.health.v1.HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
          .check(io.grpc.health.v1.HealthCheckRequest.getDefaultInstance()).getStatus();
    } catch (io.grpc.StatusRuntimeException e) {
      return io.grpc.health.v1.HealthCheckResponse.ServingStatus.UNKNOWN;
    } finally {
      channel.shutdownNow();
    }
  }

  public String raftAddress(int i) {
    return node(i).raftAddress;
  }

  public Path dataDirectory(int i) {
    return node(i).dataDirectory;
  }

  /** The node id node {@code i} printed when it started serving. */
  public long nodeId(int i) {
    return node(i).nodeId;
  }

  public long pid(int i) {
    return node(i).process.pid();
  }

  public Process process(int i) {
    return node(i).process;
  }

  /** The last {@code lines} lines of node {@code i}'s stderr (its log). */
  public String stderrTail(int i, int lines) {
    return tail(node(i).stderr, lines);
  }

  public Path logDirectory() {
    return logDirectory;
  }

  private Node node(int i) {
    if (i < 1 || i > nodes.size()) {
      throw new IllegalArgumentException("no node " + i + "; nodes are 1.." + nodes.size());
    }
    return nodes.get(i - 1);
  }

  // --- CLI ---

  /** Runs {@code raftoral ARGS} as a process (RAFTORAL_API unset) and returns what it did. */
  public CliResult cli(String... args) {
    return run(CLI_JVM, Arrays.asList(args));
  }

  /** Runs {@code raftoral ARGS --api <node i's API address>}. */
  public CliResult cliOn(int i, String... args) {
    return run(CLI_JVM, concat(Arrays.asList(args), "--api", apiAddress(i)));
  }

  /**
   * Starts {@code main} of the test classpath as a helper process through {@code commandPrefix}
   * (e.g. to act from inside a network namespace); its stdout and stderr go to
   * {@code NAME.stdout}/{@code .stderr} in the log directory. {@link #close} stops it if it
   * still runs.
   */
  public Process spawnJava(List<String> commandPrefix, Class<?> main, List<String> args, String name) {
    int run = runs.incrementAndGet();
    Process p = spawn(commandPrefix, CLI_JVM, main, args, logDirectory.resolve(name + "-" + run + ".stdout"),
        logDirectory.resolve(name + "-" + run + ".stderr"));
    helpers.add(p);
    return p;
  }

  // --- file systems ---

  /**
   * A directory under this run's data root with a tmpfs of {@code mebibytes} MiB mounted on it
   * (e.g. a node's data directory whose disk a test fills), unmounted by {@link #close}. Skips the
   * test, saying why, where mounting is not permitted (it needs root, or CAP_SYS_ADMIN).
   */
  public Path tmpfs(String name, int mebibytes) {
    try {
      Path dir = Files.createDirectories(dataRoot.resolve(name));
      Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + mebibytes + "m", "tmpfs", dir.toString())
          .redirectErrorStream(true).start();
      String output = new String(mount.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      boolean mounted = mount.waitFor() == 0;
      Assumptions.assumeTrue(mounted, () -> "cannot mount a tmpfs on " + dir + " here (needs root or CAP_SYS_ADMIN): "
          + output);
      mounts.add(dir);
      return dir;
    } catch (IOException e) {
      Assumptions.abort("cannot run mount here: " + e);
      throw new AssertionError("unreachable");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  private CliResult run(List<String> jvm, List<String> args) {
    int run = runs.incrementAndGet();
    String name = "run-" + run + "-" + (args.isEmpty() ? "none" : args.getFirst());
    Path out = logDirectory.resolve(name + ".stdout");
    Path err = logDirectory.resolve(name + ".stderr");
    Process p = spawn(List.of(), jvm, RaftoralCli.class, args, out, err);
    if (!waitFor(p, CLI_TIMEOUT)) {
      p.destroyForcibly();
      waitFor(p, Duration.ofSeconds(30));
      throw new AssertionError("raftoral " + String.join(" ", args) + " did not exit within " + CLI_TIMEOUT.toSeconds()
          + " s; stderr:\n" + tail(err, 40));
    }
    return new CliResult(p.exitValue(), read(out), read(err));
  }

  private Process spawn(List<String> prefix, List<String> jvm, Class<?> main, List<String> args, Path stdout, Path stderr) {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(jvm);
    // An --in-memory node keeps its files in a temp directory, which a SIGKILL leaves behind:
    // under the data root, close() removes it.
    cmd.add("-Djava.io.tmpdir=" + dataRoot);
    cmd.addAll(List.of("-cp", PROCESS_CLASS_PATH, main.getName()));
    cmd.addAll(args);
    try {
      List<String> shown = new ArrayList<>(prefix); // the java command itself is the same every time
      if (main != RaftoralCli.class) {
        shown.add(main.getSimpleName());
      }
      shown.addAll(args);
      Files.writeString(logDirectory.resolve("commands.log"), String.join(" ", shown) + "  > " + stdout.getFileName() + "\n",
          StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
      pb.environment().remove("RAFTORAL_API");
      pb.environment().putAll(extraEnvironment);
      return pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // --- helpers ---

  /** A port nobody listens on right now (the usual small race with other processes applies). */
  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static boolean waitFor(Process p, Duration timeout) {
    try {
      return p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String tail(Path file, int lines) {
    if (file == null) {
      return "";
    }
    List<String> all = read(file).lines().toList();
    return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  private static List<String> concat(List<String> head, String... tail) {
    List<String> all = new ArrayList<>(head);
    all.addAll(Arrays.asList(tail));
    return all;
  }

  /**
   * Stops every node and helper still running (SIGTERM, then SIGKILL after 30 s), unmounts the
   * tmpfs mounts and removes the data directories.
   */
  @Override
  public void close() {
    List<Process> running = Stream.concat(nodes.stream().map(n -> n.process), helpers.stream())
        .filter(p -> p != null && p.isAlive()).toList();
    for (Process p : running) { // a paused process would not act on SIGTERM
      try {
        new ProcessBuilder("kill", "-CONT", Long.toString(p.pid())).start().waitFor(10, TimeUnit.SECONDS);
      } catch (IOException | InterruptedException e) {
        // SIGKILL below still ends it
      }
    }
    running.forEach(Process::destroy);
    for (Process p : running) {
      if (!waitFor(p, Duration.ofSeconds(30))) {
        p.destroyForcibly();
        waitFor(p, Duration.ofSeconds(30));
      }
    }
    for (Path dir : mounts) {
      try {
        Process umount = new ProcessBuilder("umount", dir.toString()).redirectErrorStream(true).start();
        umount.getInputStream().readAllBytes();
        if (umount.waitFor() != 0) { // still busy: detach it, the kernel frees it once unused
          new ProcessBuilder("umount", "-l", dir.toString()).inheritIO().start().waitFor();
        }
      } catch (IOException e) {
        // nothing more to try; the mount stays until reboot
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      Runtime.getRuntime().removeShutdownHook(killOnExit);
    } catch (IllegalStateException shuttingDown) {
      // the hook is running or will run; nothing to do
    }
    try (Stream<Path> paths = Files.walk(dataRoot)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      // leftovers in the temp directory are harmless
    }
  }
}
