package io.raftoral.bench;

import io.raftoral.workflow.WorkflowProvider;
import io.raftoral.workflow.WorkflowRegistry;

/**
 * The bench workflows as a {@link WorkflowProvider}, so that {@code raftoral node} processes
 * started with the bench module's classpath (the {@code processes} mode) run the same
 * definitions as the embedded nodes: {@code seq10} v1 (which {@code fanin} starts 1,000 of), and
 * {@code bigstate}, {@code bigstate_owner_only} and {@code bigstate_random} v1 ({@link BigState}), and the soak's {@code soak_steps} v1.
 */
public final class BenchWorkflows implements WorkflowProvider {
  @Override
  public void register(WorkflowRegistry registry) {
    registry.register(Workloads.SEQ10);
    registry.register(BigState.HOT_STANDBY);
    registry.register(BigState.OWNER_ONLY);
    registry.register(BigState.RANDOM);
    registry.register(SoakSteps.DEFINITION);
  }
}
