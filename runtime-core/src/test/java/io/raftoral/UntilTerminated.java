package io.raftoral;

import io.raftoral.workflow.WorkflowDefinition;
import java.util.concurrent.CountDownLatch;

/** A workflow type for tests that need a running workflow: one checkpoint, then it waits until it is terminated. */
final class UntilTerminated {
  private UntilTerminated() {}

  /** Counts {@code entered} down once a run is past its checkpoint ("entered"); returns its input if it ever ends. */
  static WorkflowDefinition<String, String> type(String name, int version, CountDownLatch entered) {
    return WorkflowDefinition.of(name, version, String.class, String.class, (ctx, in) -> {
      ctx.checkpoint("entered", in);
      entered.countDown();
      while (!ctx.isTerminated()) {
        Thread.sleep(10);
      }
      return in;
    });
  }
}
