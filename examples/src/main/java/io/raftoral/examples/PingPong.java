package io.raftoral.examples;

import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;

/** The original Raftoral's first example: "ping" becomes "pong" after two compute checkpoints. */
public final class PingPong {
  private PingPong() {}

  public static final WorkflowDefinition<String, String> DEFINITION =
      WorkflowDefinition.of("ping_pong", 1, String.class, String.class, PingPong::run);

  static String run(WorkflowContext ctx, String input) {
    String received = ctx.checkpointCompute("received", String.class, () -> input);
    return ctx.checkpointCompute("reply", String.class, () -> "ping".equals(received) ? "pong" : "unknown: " + received);
  }
}
