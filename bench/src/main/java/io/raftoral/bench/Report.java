package io.raftoral.bench;

import java.util.Locale;

/** One row of the BENCHMARK.md report table. */
record Report(String workload, int nodes, String mode, int clients, double workflowsPerSecond, double stepsPerSecond,
    double p50Ms, double p90Ms, double p99Ms, double cpuPercent, double rssMb, long completed, long errors) {

  static final String HEADER = "| workload | nodes | mode | C | wf/s | steps/s | p50 ms | p90 ms | p99 ms | CPU % | RSS MB | errors |\n"
      + "|---|---|---|---|---|---|---|---|---|---|---|---|";

  String markdown() {
    return String.format(Locale.ROOT, "| %s | %d | %s | %d | %.0f | %.0f | %.1f | %.1f | %.1f | %.0f | %.0f | %d |",
        workload, nodes, mode, clients, workflowsPerSecond, stepsPerSecond, p50Ms, p90Ms, p99Ms, cpuPercent, rssMb, errors);
  }

  String json() {
    return String.format(Locale.ROOT,
        "{\"workload\":\"%s\",\"nodes\":%d,\"mode\":\"%s\",\"clients\":%d,\"wf_per_s\":%.1f,\"steps_per_s\":%.1f,"
            + "\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"cpu_percent\":%.1f,\"rss_mb\":%.1f,\"completed\":%d,\"errors\":%d}",
        workload, nodes, mode, clients, workflowsPerSecond, stepsPerSecond, p50Ms, p90Ms, p99Ms, cpuPercent, rssMb, completed, errors);
  }
}
