package io.raftoral.bench;

import io.raftoral.client.RaftoralClient;
import io.raftoral.proto.client.ClusterInfoReply;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The soak's node processes: like {@link ProcessCluster}, but each node keeps its addresses and
 * data directory so it can be SIGKILLed and started again with the same command line. Each
 * run's stderr stays beside the data directories ({@code node-I-RUN.stderr}).
 */
final class SoakCluster implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final Pattern SERVING = Pattern.compile("node (\\d+) serving api");

  private final Path root;
  private final List<String> nodeOptions;
  private final List<String> nodeJvm;
  private final List<String> raft = new ArrayList<>();
  private final List<String> api = new ArrayList<>();
  private final List<List<String>> modes = new ArrayList<>();
  private final List<Process> processes = new ArrayList<>();
  private int runs;
  private final Thread killOnExit = new Thread(this::killAll);

  /**
   * @param nodeOptions added to every node's {@code raftoral node} command line
   * @param nodeJvm added to every node's JVM options
   */
  SoakCluster(Path root, List<String> nodeOptions, List<String> nodeJvm) {
    this.root = root;
    this.nodeOptions = nodeOptions;
    this.nodeJvm = nodeJvm;
    Runtime.getRuntime().addShutdownHook(killOnExit);
  }

  /** Starts node 1 (bootstrap) and the others joining through it, one at a time. */
  void start(int size) throws IOException, InterruptedException {
    for (int i = 0; i < size; i++) {
      raft.add("127.0.0.1:" + freePort());
      api.add("127.0.0.1:" + freePort());
      modes.add(i == 0 ? List.of("--bootstrap", "--node-id", "1") : List.of("--join", api.getFirst()));
      processes.add(null);
      launch(i);
    }
  }

  int size() {
    return processes.size();
  }

  String apiAddress(int i) {
    return api.get(i);
  }

  boolean isAlive(int i) {
    return processes.get(i).isAlive();
  }

  void kill(int i) throws InterruptedException {
    Process p = processes.get(i);
    p.destroyForcibly();
    p.waitFor(30, TimeUnit.SECONDS);
  }

  /** Starts node {@code i} again with its first command line (its data directory makes it a restart). */
  void restart(int i) throws IOException, InterruptedException {
    launch(i);
  }

  private void launch(int i) throws IOException, InterruptedException {
    Path stdout = root.resolve("node-" + (i + 1) + "-" + (++runs) + ".stdout");
    Path stderr = root.resolve("node-" + (i + 1) + "-" + runs + ".stderr");
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(ProcessCluster.NODE_JVM);
    // Ratis's own warnings (a failed snapshot install, a stuck appender) belong in a soak's logs.
    cmd.add("-Dorg.slf4j.simpleLogger.log.org.apache.ratis=warn");
    cmd.addAll(nodeJvm);
    // RocksDB unpacks its native library into java.io.tmpdir, which SIGKILL leaves behind: keep it under root.
    cmd.add("-Djava.io.tmpdir=" + root);
    cmd.addAll(List.of("-Xmx512m", "-cp", System.getProperty("java.class.path"), "io.raftoral.cli.RaftoralCli", "node",
        "--raft-addr", raft.get(i), "--api-addr", api.get(i), "--data-dir", root.resolve("node-" + (i + 1)).toString()));
    cmd.addAll(modes.get(i));
    cmd.addAll(nodeOptions);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
    pb.environment().remove("RAFTORAL_API");
    Process p = pb.start();
    processes.set(i, p);
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (!SERVING.matcher(Files.readString(stdout, StandardCharsets.UTF_8)).find()) {
      if (!p.isAlive() || System.nanoTime() > deadline) {
        throw new IllegalStateException("node " + (i + 1) + " did not serve (" + (p.isAlive() ? "timeout" : "exit " + p.exitValue())
            + "); see " + stderr);
      }
      Thread.sleep(50);
    }
  }

  /**
   * Waits until node {@code via} sees every node and every execution group has a leader and a
   * Raft configuration equal to its committed members.
   */
  void awaitSettled(int via, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      try (RaftoralClient c = RaftoralClient.connect(api.get(via))) {
        ClusterInfoReply info = c.clusterInfo();
        if (info.getNodesCount() == size() && info.getExecutionGroupsCount() > 0 && info.getExecutionGroupsList().stream()
            .allMatch(g -> g.getLeaderNode() != 0 && g.getMembersCount() == size() && g.getRaftMembersList().equals(g.getMembersList()))) {
          return;
        }
      } catch (RuntimeException notYet) {
        // starting
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("the cluster did not settle within " + timeout.toSeconds() + " s");
  }

  /** Lines of every node run's stderr that contain {@code text}. */
  long countLogLines(String text) throws IOException {
    long count = 0;
    try (var files = Files.list(root)) {
      for (Path p : files.filter(f -> f.getFileName().toString().endsWith(".stderr")).toList()) {
        count += Files.readAllLines(p, StandardCharsets.UTF_8).stream().filter(l -> l.contains(text)).count();
      }
    }
    return count;
  }

  private void killAll() {
    processes.stream().filter(p -> p != null && p.isAlive()).forEach(Process::destroyForcibly);
  }

  /** SIGTERM, then SIGKILL after 15 s. */
  @Override
  public void close() {
    for (Process p : processes) {
      if (p != null && p.isAlive()) {
        p.destroy();
      }
    }
    for (Process p : processes) {
      try {
        if (p != null && !p.waitFor(15, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      Runtime.getRuntime().removeShutdownHook(killOnExit);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway
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
