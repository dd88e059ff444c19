package io.raftoral.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
  @Timeout(90)
  void idleTrafficAndBytesPerCheckpointAreMeasuredOverLoopback() throws Exception {
    LoadGenerator generator = new LoadGenerator();
    generator.warmup = 1;
    generator.seconds = 2;
    generator.idleSeconds = 1;
    Report row = generator.closedLoop("processes", 1, 2);
    assertThat(row.errors()).isZero();
    // The client's starts and awaits cross loopback in any network namespace.
    assertThat(row.bytesPerCommand()).isPositive();
    assertThat(row.idle().loBytesPerSecond()).isNotNaN();
    assertThat(row.idle().executionFollowerLinks()).isZero(); // one group of one node
    assertThat(row.json()).contains("\"lo_bytes_per_checkpoint\":").doesNotContain("\"lo_bytes_per_checkpoint\":null");
  }

  @Test
  @Timeout(90)
  void aNodeThatRefusesAnOptionFailsTheRunWithItsMessage() {
    LoadGenerator generator = new LoadGenerator();
    generator.nodeArgs = "--no-such-option 1";
    assertThatThrownBy(() -> generator.closedLoop("processes", 1, 1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("refused its command line")
        .hasMessageContaining("--no-such-option");
  }

  @Test
  void groupSizesBecomeTheNodeOptions() {
    LoadGenerator generator = new LoadGenerator();
    generator.groupSizes = List.of(3, 15, 15);
    generator.nodeArgs = "--max-voters 5";
    assertThat(generator.nodeArguments()).containsExactly("--min-group-size", "3", "--target-group-size", "15",
        "--max-group-size", "15", "--max-voters", "5");
    generator.groupSizes = List.of(5);
    generator.nodeArgs = "";
    assertThat(generator.nodeArguments()).containsExactly("--target-group-size", "5");
    generator.groupSizes = List.of(3, 5);
    assertThatThrownBy(generator::nodeArguments).hasMessageContaining("expected TARGET or MIN,TARGET,MAX");
  }

  @Test
  void benchWorkflowsAreFoundThroughServiceLoader() {
    List<String> providers = java.util.ServiceLoader.load(io.raftoral.workflow.WorkflowProvider.class).stream()
        .map(p -> p.type().getName()).toList();
    assertThat(providers).contains(BenchWorkflows.class.getName());
  }
}
