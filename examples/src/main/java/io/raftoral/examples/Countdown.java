package io.raftoral.examples;

import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;

/**
 * A slow workflow for watching failover and termination from the CLI: n compute checkpoints,
 * each sleeping one second on the owner and recording its step number; the result is n.
 * {@code raftoral start countdown --version 1 --input 10 --wait}.
 */
public final class Countdown {
  private Countdown() {}

  public static final WorkflowDefinition<Integer, Integer> DEFINITION =
      WorkflowDefinition.of("countdown", 1, Integer.class, Integer.class, Countdown::run);

  static Integer run(WorkflowContext ctx, Integer n) {
    if (n == null || n < 0) {
      throw new IllegalArgumentException("countdown needs a number >= 0, got " + n);
    }
    for (int i = 1; i <= n; i++) {
      int step = i;
      // A checkpoint per step: a new owner resumes after the last committed one.
      ctx.checkpointCompute("step-" + step, Integer.class, () -> {
        Thread.sleep(1000);
        return step;
      });
    }
    return n;
  }
}
