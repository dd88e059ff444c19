package io.raftoral.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The processes mode end to end: one real {@code raftoral node} process started with this
 * module's classpath (so it registers seq10 through {@link BenchWorkflows}), a short closed loop
 * through the gRPC client API, and the process stopped again. Outcome only, not a speed test.
 */
class ProcessesModeTest {
  @Test
  @Timeout(90)
  void closedLoopAgainstOneNodeProcessCompletesSeq10WorkflowsWithoutErrors() throws Exception {
    LoadGenerator generator = new LoadGenerator();
    generator.warmup = 1;
    generator.seconds = 2;
    Report row = generator.closedLoop("processes", 1, 2);
    assertThat(row.errors()).isZero();
    assertThat(row.completed()).isPositive();
    assertThat(row.markdown()).startsWith("| seq10 | 1 | processes | 2 |");
    assertThat(row.json()).contains("\"mode\":\"processes\"").contains("\"node_cpu_percent\":[");
    assertThat(row.nodeRssMb()).hasSize(1);
  }

  @Test
  void benchWorkflowsAreFoundThroughServiceLoader() {
    List<String> providers = java.util.ServiceLoader.load(io.raftoral.workflow.WorkflowProvider.class).stream()
        .map(p -> p.type().getName()).toList();
    assertThat(providers).contains(BenchWorkflows.class.getName());
  }
}
