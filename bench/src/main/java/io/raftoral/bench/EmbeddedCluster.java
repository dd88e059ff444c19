package io.raftoral.bench;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.graal.GraalWorkflows;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Nodes inside this JVM ({@code embedded}), each with its Raft log on disk under a temporary
 * directory (fsync on, Ratis's default). CPU and RSS are of this one process, load generator
 * included.
 */
final class EmbeddedCluster implements Target {
  private final LocalCluster local;
  private final List<RaftoralNode> nodes;
  private final Path root;
  /** With {@code --js}: each node's own JavaScript workflows (its Engine and context pools), closed after the nodes. */
  private final List<GraalWorkflows> js;

  private EmbeddedCluster(LocalCluster local, Path root, List<GraalWorkflows> js) {
    this.local = local;
    this.nodes = local.nodes();
    this.root = root;
    this.js = js;
  }

  static EmbeddedCluster start(int size) throws IOException {
    return start(size, false);
  }

  /** With {@code js}, every node also loads bench/js/seq10.mjs ({@link GraalWorkflows}) and the seq10 clients start {@link JsSeq10#TYPE}. */
  static EmbeddedCluster start(int size, boolean js) throws IOException {
    Path root = Files.createTempDirectory("raftoral-bench-");
    List<GraalWorkflows> loaded = new CopyOnWriteArrayList<>();
    try {
      return new EmbeddedCluster(LocalCluster.start(size, root, (id, b) -> {
        b.register(Workloads.SEQ10).register(BigState.HOT_STANDBY).register(BigState.OWNER_ONLY);
        if (js) {
          GraalWorkflows w = GraalWorkflows.load(JsSeq10.module());
          loaded.add(w);
          w.registerOn(b);
        }
      }), root, js ? loaded : null);
    } catch (RuntimeException e) {
      loaded.forEach(GraalWorkflows::close);
      throw e;
    }
  }

  @Override
  public String mode() {
    return js != null ? "embedded+js" : "embedded";
  }

  @Override
  public int size() {
    return nodes.size();
  }

  @Override
  public Seq10Client client(int index) {
    RaftoralNode node = nodes.get(index % nodes.size());
    if (js != null) { // JavaScript workflows take and give JSON bytes
      return input -> Integer.parseInt(new String(node.start(JsSeq10.TYPE, 1, Integer.toString(input).getBytes(StandardCharsets.UTF_8),
          byte[].class).result(Duration.ofSeconds(60)), StandardCharsets.UTF_8).strip());
    }
    return input -> node.start("seq10", 1, input, Integer.class).result(Duration.ofSeconds(60));
  }

  @Override
  public void startBigState(WorkflowDefinition<BigState.Input, Integer> definition, String workflowId, BigState.Input input) {
    nodes.getFirst().start(definition.type().name(), 1, input, Integer.class, workflowId);
  }

  @Override
  public int awaitBigState(String workflowId, Duration timeout) {
    return nodes.getFirst().handle(workflowId, Integer.class).result(timeout);
  }

  @Override
  public WorkflowInfo describe(String workflowId) {
    return nodes.getFirst().describe(workflowId);
  }

  @Override
  public HistoryPage history(String workflowId, HistoryQuery query) {
    return nodes.getFirst().history(workflowId, query);
  }

  @Override
  public long[] stopAndMeasureStateStores() throws IOException {
    local.close();
    closeJs();
    long[] bytes = new long[nodes.size()];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = Target.sizeOf(root.resolve("node-" + (i + 1)).resolve("state"));
    }
    return bytes;
  }

  @Override
  public double[] cpuSeconds() {
    return new double[] {processCpuSeconds()};
  }

  @Override
  public double[] liveHeapMb() {
    System.gc();
    return new double[] {java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024.0 * 1024)};
  }

  @Override
  public double[] rssMb() {
    return new double[] {Target.rssMb(ProcessHandle.current().pid())};
  }

  private void closeJs() {
    if (js != null) {
      js.forEach(GraalWorkflows::close);
    }
  }

  static double processCpuSeconds() {
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    return os.getProcessCpuTime() / 1e9;
  }

  @Override
  public void close() {
    local.close();
    closeJs();
    Target.deleteTree(root);
  }
}
