package io.raftoral.conformance.driver;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A worker entry point: three {@code raftoral node} processes (as the Java entry point's, but with
 * no workflow of their own: the interpreter is left off their class path) each serving workers,
 * and beside each node one worker process of the language under test running the interpreter as
 * worker-hosted workflows. The driver's client calls go to the nodes as the Java entry point's do.
 *
 * <p>A node that is killed leaves its worker running: the worker reconnects once the node is back
 * (the "node killed under its worker" case). {@link #killWorker} kills the worker instead.
 */
final class WorkerCluster extends JavaCluster {
  private final int[] workerPorts;
  private final Function<String, List<String>> workerCommand;
  private final Map<String, String> workerEnv;
  private final List<NodeProcess> workers = new ArrayList<>();
  private final Map<NodeProcess, LinkedBlockingQueue<String>> registered = new HashMap<>();

  /**
   * @param workerCommand the worker process's command line for a node's worker address
   */
  WorkerCluster(Path dir, ClusterSettings settings, Function<String, List<String>> workerCommand, Map<String, String> env) {
    super(dir, settings, withoutInterpreter(System.getProperty("java.class.path")));
    this.workerPorts = Ports.free(3);
    this.workerCommand = workerCommand;
    this.workerEnv = env;
  }

  /** The driver's class path without its own classes, which register the Java interpreter's types through the SPI. */
  private static String withoutInterpreter(String classPath) {
    return String.join(File.pathSeparator, Arrays.stream(classPath.split(File.pathSeparator))
        .filter(e -> !e.replace('\\', '/').endsWith("conformance/target/classes")).toList());
  }

  private String workerAddress(int index) {
    return "127.0.0.1:" + workerPorts[index];
  }

  @Override
  List<String> nodeArgs(int index) {
    return List.of("--worker-address", workerAddress(index));
  }

  @Override
  void start() throws Exception {
    super.start();
    for (int i = 0; i < 3; i++) {
      String label = "w" + (i + 1);
      LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
      Map<String, String> env = new HashMap<>(workerEnv);
      env.put("CONFORMANCE_LOG", effectLog.toString());
      env.put("CONFORMANCE_NODE", nodes.get(i).label);
      NodeProcess worker = new NodeProcess(label, dir.resolve(label), workerCommand.apply(workerAddress(i)), env,
          dir.resolve("logs"), line -> {
            if (line == null) {
              lines.add("");
            } else if (line.contains("\"registered\"")) {
              lines.add(line);
            }
          });
      registered.put(worker, lines);
      workers.add(worker);
      startWorker(worker);
    }
  }

  private void startWorker(NodeProcess worker) throws Exception {
    LinkedBlockingQueue<String> lines = registered.get(worker);
    lines.clear();
    worker.start();
    awaitRegistered(worker);
  }

  private void awaitRegistered(NodeProcess worker) throws InterruptedException {
    String line = registered.get(worker).poll(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    if (line == null || line.isEmpty()) {
      throw new ScenarioFailure(worker.label + " did not register with its node (exit " + worker.exitCode() + "): "
          + worker.tail(4));
    }
  }

  private NodeProcess workerOf(NodeProcess node) {
    return workers.get(nodes.indexOf(node));
  }

  @Override
  void restart(NodeProcess node) throws Exception {
    NodeProcess worker = workerOf(node);
    registered.get(worker).clear();
    super.restart(node);
    // The worker reconnects by itself; the node serves workflows of its types once it has.
    if (worker.isAlive()) {
      awaitRegistered(worker);
    }
  }

  @Override
  void killWorker(NodeProcess node) throws Exception {
    workerOf(node).kill();
  }

  @Override
  void restartWorker(NodeProcess node) throws Exception {
    startWorker(workerOf(node));
  }

  @Override
  public void close() {
    stopAll(workers, null);
    super.close();
  }
}
