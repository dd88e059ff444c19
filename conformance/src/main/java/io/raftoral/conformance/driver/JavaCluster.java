package io.raftoral.conformance.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.client.RaftoralClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The Java entry point: three {@code raftoral node} processes (the CLI of runtime-core), the
 * first bootstrapping, the others joining it, with the Java interpreter registered through the
 * {@code WorkflowProvider} SPI (it is on their class path). The driver is their client through
 * {@link RaftoralClient}, the Java client API.
 */
class JavaCluster extends Cluster {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String classPath;
  private final Map<NodeProcess, LinkedBlockingQueue<String>> serving = new ConcurrentHashMap<>();
  private final Map<NodeProcess, RaftoralClient> clients = new ConcurrentHashMap<>();

  JavaCluster(Path dir, ClusterSettings settings, String classPath) {
    super(dir, settings);
    this.classPath = classPath;
  }

  @Override
  void start() throws Exception {
    int[] ports = Ports.free(6);
    String seed = "127.0.0.1:" + ports[1];
    for (int i = 0; i < 3; i++) {
      String label = "n" + (i + 1);
      Path data = dir.resolve(label);
      List<String> cmd = new ArrayList<>(List.of(Ports.javaExecutable(), "--enable-native-access=ALL-UNNAMED",
          "--sun-misc-unsafe-memory-access=allow", "-Xmx384m", "-XX:+UseSerialGC",
          // Times in the nodes' logs: a slow start or recovery is read from them.
          "-Dorg.slf4j.simpleLogger.showDateTime=true", "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS"));
      cmd.addAll(jvmArgs());
      cmd.addAll(List.of("-cp", classPath, "io.raftoral.cli.RaftoralCli", "node",
          "--raft-addr", "127.0.0.1:" + ports[2 * i], "--api-addr", "127.0.0.1:" + ports[2 * i + 1],
          "--data-dir", data.toString(),
          "--node-failure-timeout", ClusterSettings.NODE_FAILURE_TIMEOUT_MILLIS + "ms",
          "--retention", settings.retentionMillis() + "ms"));
      cmd.addAll(nodeArgs(i));
      if (i == 0) {
        cmd.addAll(List.of("--bootstrap", "--node-id", "1"));
      } else {
        cmd.addAll(List.of("--join", seed));
      }
      LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
      NodeProcess[] self = new NodeProcess[1];
      self[0] = new NodeProcess(label, data, cmd,
          Map.of("CONFORMANCE_LOG", effectLog.toString(), "CONFORMANCE_NODE", label), dir.resolve("logs"),
          line -> {
            if (line != null && line.startsWith("node ") && line.contains(" serving api ")) {
              lines.add(line);
            } else if (line == null) {
              lines.add("");
            }
          });
      serving.put(self[0], lines);
      nodes.add(self[0]);
    }
    startAndWait(nodes.get(0));
    List<Thread> joins = new ArrayList<>();
    List<Exception> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
    for (NodeProcess n : nodes.subList(1, 3)) {
      joins.add(Thread.ofPlatform().start(() -> {
        try {
          startAndWait(n);
        } catch (Exception e) {
          failures.add(e);
        }
      }));
    }
    for (Thread t : joins) {
      t.join();
    }
    if (!failures.isEmpty()) {
      throw failures.getFirst();
    }
    awaitHealthy(START_TIMEOUT);
  }

  /** More options of the nodes' JVMs. */
  List<String> jvmArgs() {
    return List.of();
  }

  /** More arguments of node {@code index}'s command line (0-based). */
  List<String> nodeArgs(int index) {
    return List.of();
  }

  private void startAndWait(NodeProcess n) throws Exception {
    LinkedBlockingQueue<String> lines = serving.get(n);
    lines.clear();
    n.start();
    String line = lines.poll(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    if (line == null || line.isEmpty()) {
      throw new ScenarioFailure(n.label + " did not serve (exit " + n.exitCode() + "): " + n.tail(4) + "; threads: " + n.threadDump());
    }
    // "node 2 serving api 127.0.0.1:8002 raft 127.0.0.1:7002"
    String[] words = line.split(" ");
    n.nodeId = Long.parseLong(words[1]);
    n.apiAddress = words[4];
    RaftoralClient old = clients.put(n, RaftoralClient.connect(n.apiAddress));
    if (old != null) {
      old.close();
    }
  }

  @Override
  void restart(NodeProcess node) throws Exception {
    startAndWait(node);
  }

  @Override
  Surface surface(NodeProcess node) {
    RaftoralClient client = clients.get(node);
    if (client == null) {
      throw new ScenarioFailure(node + " has no client");
    }
    return new JavaSurface(client);
  }

  @Override
  public void close() {
    clients.values().forEach(RaftoralClient::close);
    stopAll(nodes, null);
  }

  static JsonNode parse(byte[] bytes) {
    try {
      return JSON.readTree(bytes);
    } catch (java.io.IOException e) {
      throw new ScenarioFailure("a result is not JSON: " + new String(bytes, java.nio.charset.StandardCharsets.UTF_8));
    }
  }
}
