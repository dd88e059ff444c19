package io.raftoral.conformance.interp;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftoral.common.WorkflowType;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowProvider;
import io.raftoral.workflow.WorkflowRegistry;

/**
 * The Java entry point's interpreter, registered in {@code raftoral node} through the
 * {@link WorkflowProvider} SPI: {@code conformance} v1 and v2 ({@code HOT_STANDBY}) and
 * {@code conformance_owner_only} v1 ({@code OWNER_ONLY}) and {@code conformance_keep_last} v1
 * ({@code HOT_STANDBY}, keeping the last 2 values of each key once ended), each running the
 * program in its input (conformance/README.md). Off when the node runs the js entry point's
 * interpreter instead ({@code -Dconformance.javaInterpreter=false}), which registers the same types.
 */
public final class ConformanceWorkflows implements WorkflowProvider {
  @Override
  public void register(WorkflowRegistry registry) {
    if (!Boolean.parseBoolean(System.getProperty("conformance.javaInterpreter", "true"))) {
      return;
    }
    EffectLog log = EffectLog.fromEnvironment();
    registry.register(definition("conformance", 1, ExecutionMode.HOT_STANDBY, log));
    registry.register(definition("conformance", 2, ExecutionMode.HOT_STANDBY, log));
    registry.register(definition("conformance_owner_only", 1, ExecutionMode.OWNER_ONLY, log));
    registry.register(definition("conformance_keep_last", 1, ExecutionMode.HOT_STANDBY, log).withKeepLastPerKey(2));
  }

  private static WorkflowDefinition<JsonNode, JsonNode> definition(String type, int version, ExecutionMode mode, EffectLog log) {
    return new WorkflowDefinition<>(new WorkflowType(type, version), JsonNode.class, JsonNode.class,
        (ctx, input) -> new Interpreter(ctx, version, log).run(input), mode);
  }
}
