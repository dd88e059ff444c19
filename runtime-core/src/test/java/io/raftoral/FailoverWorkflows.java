package io.raftoral;

import io.raftoral.workflow.WorkflowDefinition;

/** The workflow the failover tests crash in the middle of: n slow compute steps. */
final class FailoverWorkflows {
  private FailoverWorkflows() {}

  /** Step i sleeps {@code stepMillis}, records its side effect and returns i; the result is the sum. */
  static WorkflowDefinition<Integer, Integer> slowSteps(long node, StepLog log, long stepMillis) {
    return WorkflowDefinition.of("slow_steps", 1, Integer.class, Integer.class, (ctx, n) -> {
      int sum = 0;
      for (int i = 0; i < n; i++) {
        int step = i;
        sum += ctx.checkpointCompute("step", Integer.class, () -> {
          Thread.sleep(stepMillis);
          log.record(node, step);
          return step;
        });
      }
      return sum;
    });
  }
}
