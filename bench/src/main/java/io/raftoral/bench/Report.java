package io.raftoral.bench;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * One row of the BENCHMARK.md report table. CPU % and RSS MB are of the processes that hold the
 * nodes: embedded, the one process (load generator included); processes, the sum over the node
 * processes, each of which is in {@code nodeCpuPercent} / {@code nodeRssMb}, and the load
 * generator's own CPU in {@code loadGeneratorCpuPercent} (NaN when embedded).
 *
 * <p>Traffic (NaN when not measured): {@code bytesPerCommand}, bytes sent over {@code lo} in the
 * measured window per command committed (seq10: 12 per workflow that ended in the window: start,
 * 10 checkpoints, end); {@code raftBytesPerCommand}, the payload bytes of it on sockets of the
 * nodes' Raft ports; {@code idle}, the cluster's traffic with no workflows ({@code --idle-seconds}).
 */
record Report(String workload, int nodes, String mode, int clients, double workflowsPerSecond, double stepsPerSecond,
    double p50Ms, double p90Ms, double p99Ms, double cpuPercent, double rssMb, long completed, long errors,
    List<Double> nodeCpuPercent, List<Double> nodeRssMb, double loadGeneratorCpuPercent, double bytesPerCommand,
    double raftBytesPerCommand, LoadGenerator.Idle idle) {

  Report(String workload, int nodes, String mode, int clients, double workflowsPerSecond, double stepsPerSecond,
      double p50Ms, double p90Ms, double p99Ms, double cpuPercent, double rssMb, long completed, long errors,
      List<Double> nodeCpuPercent, List<Double> nodeRssMb, double loadGeneratorCpuPercent) {
    this(workload, nodes, mode, clients, workflowsPerSecond, stepsPerSecond, p50Ms, p90Ms, p99Ms, cpuPercent, rssMb, completed,
        errors, nodeCpuPercent, nodeRssMb, loadGeneratorCpuPercent, Double.NaN, Double.NaN, LoadGenerator.Idle.NONE);
  }

  Report withBytesPerCommand(double lo, double raft) {
    return new Report(workload, nodes, mode, clients, workflowsPerSecond, stepsPerSecond, p50Ms, p90Ms, p99Ms, cpuPercent, rssMb,
        completed, errors, nodeCpuPercent, nodeRssMb, loadGeneratorCpuPercent, lo, raft, idle);
  }

  Report withTraffic(LoadGenerator.Idle idle) {
    return new Report(workload, nodes, mode, clients, workflowsPerSecond, stepsPerSecond, p50Ms, p90Ms, p99Ms, cpuPercent, rssMb,
        completed, errors, nodeCpuPercent, nodeRssMb, loadGeneratorCpuPercent, bytesPerCommand, raftBytesPerCommand, idle);
  }

  static final String HEADER = "| workload | nodes | mode | C | wf/s | steps/s | p50 ms | p90 ms | p99 ms | CPU % | RSS MB | errors "
      + "| lo B/ckpt | Raft B/ckpt | idle lo B/s | idle Raft B/s |\n"
      + "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

  String markdown() {
    return String.format(Locale.ROOT, "| %s | %d | %s | %d | %.0f | %.0f | %.1f | %.1f | %.1f | %.0f | %.0f | %d | %s | %s | %s | %s |",
        workload, nodes, mode, clients, workflowsPerSecond, stepsPerSecond, p50Ms, p90Ms, p99Ms, cpuPercent, rssMb, errors,
        number(bytesPerCommand), number(raftBytesPerCommand), number(idle.loBytesPerSecond()), number(idle.raftBytesPerSecond()));
  }

  private static String number(double v) {
    return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.0f", v);
  }

  private static String jsonNumber(double v) {
    return Double.isNaN(v) ? "null" : String.format(Locale.ROOT, "%.1f", v);
  }

  /** Per node process CPU and RSS, and the load generator's CPU; empty when embedded. */
  String detail() {
    if (nodeCpuPercent.isEmpty()) {
      return "";
    }
    return String.format(Locale.ROOT, "%s %d nodes C=%d: node CPU %% %s, node RSS MB %s, load generator CPU %% %.0f",
        workload, nodes, clients, join(nodeCpuPercent, "/", "%.0f"), join(nodeRssMb, "/", "%.0f"), loadGeneratorCpuPercent);
  }

  String json() {
    String perNode = nodeCpuPercent.isEmpty() ? "" : String.format(Locale.ROOT,
        ",\"node_cpu_percent\":[%s],\"node_rss_mb\":[%s],\"load_generator_cpu_percent\":%.1f",
        join(nodeCpuPercent, ",", "%.1f"), join(nodeRssMb, ",", "%.1f"), loadGeneratorCpuPercent);
    return String.format(Locale.ROOT,
        "{\"workload\":\"%s\",\"nodes\":%d,\"mode\":\"%s\",\"clients\":%d,\"wf_per_s\":%.1f,\"steps_per_s\":%.1f,"
            + "\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"cpu_percent\":%.1f,\"rss_mb\":%.1f,\"completed\":%d,\"errors\":%d%s,"
            + "\"lo_bytes_per_checkpoint\":%s,\"raft_bytes_per_checkpoint\":%s,\"idle_lo_bytes_per_s\":%s,\"idle_raft_bytes_per_s\":%s,"
            + "\"execution_follower_links\":%d,\"private_loopback\":%b}",
        workload, nodes, mode, clients, workflowsPerSecond, stepsPerSecond, p50Ms, p90Ms, p99Ms, cpuPercent, rssMb,
        completed, errors, perNode, jsonNumber(bytesPerCommand), jsonNumber(raftBytesPerCommand),
        jsonNumber(idle.loBytesPerSecond()), jsonNumber(idle.raftBytesPerSecond()), idle.executionFollowerLinks(),
        Traffic.privateLoopback());
  }

  private static String join(List<Double> values, String separator, String format) {
    return values.stream().map(v -> String.format(Locale.ROOT, format, v)).collect(Collectors.joining(separator));
  }
}
