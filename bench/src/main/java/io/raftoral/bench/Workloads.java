package io.raftoral.bench;

import io.raftoral.workflow.WorkflowDefinition;

/** The BENCHMARK.md workflows. */
final class Workloads {
  private Workloads() {}

  /** Commands a seq10 workflow commits to its execution group: its start, 10 checkpoints, its end. */
  static final int SEQ10_COMMANDS = 12;

  /** seq10: input n; 10 sequential compute steps, step i returns previous + i; the result is n + 55. */
  static final WorkflowDefinition<Integer, Integer> SEQ10 = WorkflowDefinition.of("seq10", 1, Integer.class, Integer.class,
      (ctx, n) -> {
        int value = n;
        for (int i = 1; i <= 10; i++) {
          int previous = value;
          int step = i;
          value = ctx.checkpointCompute("step", Integer.class, () -> previous + step);
        }
        return value;
      });
}
