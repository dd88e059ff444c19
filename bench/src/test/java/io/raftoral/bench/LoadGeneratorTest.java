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

  /**
   * bigstate: each workflow (both execution modes) gets back every value it wrote, pauses at every
   * heap measurement, and its history answers all three timed queries.
   */
  @Test
  void bigStateMeasuresEveryPauseAndTheHistoryOfBothExecutionModes() throws Exception {
    LoadGenerator generator = new LoadGenerator();
    generator.workload = "bigstate";
    generator.checkpoints = 2_500;
    generator.heapEvery = 1_000;
    generator.keys = java.util.List.of(3);
    generator.valueBytes = 200;
    java.util.List<BigStateBench.Row> rows = generator.bigState("embedded", 1);
    assertThat(rows).extracting(BigStateBench.Row::execution)
        .containsExactly(io.raftoral.workflow.ExecutionMode.HOT_STANDBY, io.raftoral.workflow.ExecutionMode.OWNER_ONLY);
    assertThat(rows).allSatisfy(r -> {
      assertThat(r.intact()).isEqualTo(2_500);
      assertThat(r.checkpointsPerSecond()).isPositive();
      assertThat(r.storeBytes()[0]).isPositive();
      assertThat(r.markdown()).startsWith("| bigstate | embedded | 1 | ");
    });
  }

  /** The i-th value is the same bytes on every node (each runs the function), of the asked size. */
  @Test
  void bigStateValuesAreDeterministicAndOfTheAskedSize() {
    assertThat(BigState.value(7, 1024)).hasSize(1024).isEqualTo(BigState.value(7, 1024)).isNotEqualTo(BigState.value(8, 1024));
  }
}
