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

  /** fanin warms the cluster up first, then all 1,000 workflows of the burst complete with their results checked. */
  @Test
  void faninCompletesEveryWorkflowOfTheBurstAfterTheWarmUp() throws Exception {
    LoadGenerator generator = new LoadGenerator();
    generator.workload = "fanin";
    generator.warmup = 1;
    Report row = generator.fanin("embedded", 1);
    assertThat(row.errors()).isZero();
    assertThat(row.completed()).isEqualTo(1000);
    assertThat(row.markdown()).startsWith("| fanin | 1 | embedded | 1000 |");
  }

  /** bigstate's workflow gets back every value it wrote, and the rows count the three rounds. */
  @Test
  void bigStateRowsCountEveryWorkflowAndEveryCheckpoint() throws Exception {
    try (Target target = EmbeddedCluster.start(1)) {
      assertThat(target.bigState(300, 7)).isEqualTo(300);
    }
    java.util.List<Report> rows = new LoadGenerator().bigState("embedded", 1);
    assertThat(rows).extracting(Report::workload).containsExactly("bigstate/1key", "bigstate/1000keys");
    assertThat(rows).allSatisfy(r -> {
      assertThat(r.errors()).isZero();
      assertThat(r.completed()).isEqualTo(3);
      assertThat(r.stepsPerSecond()).isEqualTo(r.workflowsPerSecond() * 10_000, org.assertj.core.data.Offset.offset(1e-6));
    });
  }
}
