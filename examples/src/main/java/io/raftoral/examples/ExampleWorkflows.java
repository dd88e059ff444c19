package io.raftoral.examples;

import io.raftoral.workflow.WorkflowProvider;
import io.raftoral.workflow.WorkflowRegistry;

/**
 * The examples as a {@link WorkflowProvider}, so that {@code raftoral node} run with this module
 * on its classpath (the {@code ./raftoral} launcher does) can run them: ping_pong v1, order v1,
 * countdown v1.
 */
public final class ExampleWorkflows implements WorkflowProvider {
  @Override
  public void register(WorkflowRegistry registry) {
    registry.register(PingPong.DEFINITION);
    registry.register(OrderWorkflow.DEFINITION);
    registry.register(Countdown.DEFINITION);
    registry.register(Reminder.DEFINITION);
  }
}
