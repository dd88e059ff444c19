package io.raftoral.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Keeps the harness working: a short closed loop completes correct seq10 workflows. Not a speed test. */
class LoadGeneratorTest {
  @Test
  void closedLoopCompletesSeq10WorkflowsWithoutErrors() throws Exception {
    LoadGenerator generator = new LoadGenerator();
    generator.warmup = 1;
    generator.seconds = 2;
    Report row = generator.closedLoop("embedded", 1, 2);
    assertThat(row.errors()).isZero();
    assertThat(row.completed()).isPositive();
    assertThat(row.p50Ms()).isPositive();
    assertThat(row.markdown()).startsWith("| seq10 | 1 | embedded | 2 |");
    assertThat(row.json()).contains("\"mode\":\"embedded\"");
  }
}
