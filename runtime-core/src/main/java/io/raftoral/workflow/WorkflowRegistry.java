package io.raftoral.workflow;

import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowType;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The workflow types this node can run, keyed by (type, version). In-process and not
 * replicated: register the same types on every node of a cluster. Thread-safe.
 */
public final class WorkflowRegistry {
  private final ConcurrentHashMap<WorkflowType, WorkflowDefinition<?, ?>> definitions = new ConcurrentHashMap<>();

  /** Registers {@code definition}; throws {@link Errors.AlreadyRegisteredException} for a taken type. */
  public <I, O> WorkflowRegistry register(WorkflowDefinition<I, O> definition) {
    if (definitions.putIfAbsent(definition.type(), definition) != null) {
      throw new Errors.AlreadyRegisteredException(definition.type());
    }
    return this;
  }

  /** Registers a {@link ExecutionMode#HOT_STANDBY} workflow with JSON input and result. */
  public <I, O> WorkflowRegistry register(
      String type, int version, Class<I> inputType, Class<O> resultType, WorkflowFunction<I, O> function) {
    return register(WorkflowDefinition.of(type, version, inputType, resultType, function));
  }

  /** The definition of {@code type}, or null. */
  public WorkflowDefinition<?, ?> find(WorkflowType type) {
    return definitions.get(type);
  }

  public boolean contains(WorkflowType type) {
    return definitions.containsKey(type);
  }

  public List<WorkflowType> types() {
    return List.copyOf(definitions.keySet());
  }
}
