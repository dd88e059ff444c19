package io.raftoral.workflow;

import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowType;
import java.util.Objects;

/**
 * A workflow type bound to its code: the function, its input and result classes and its
 * execution mode. Registered in-process on every node that may run it; never replicated.
 */
public record WorkflowDefinition<I, O>(
    WorkflowType type, Class<I> inputType, Class<O> resultType, WorkflowFunction<I, O> function, ExecutionMode mode) {

  public WorkflowDefinition {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(inputType, "inputType");
    Objects.requireNonNull(resultType, "resultType");
    Objects.requireNonNull(mode, "mode");
    if (function == null) {
      throw new Errors.InvalidArgumentException("workflow function of " + type + " must not be null");
    }
  }

  /** A {@link ExecutionMode#HOT_STANDBY} definition. */
  public static <I, O> WorkflowDefinition<I, O> of(
      String type, int version, Class<I> inputType, Class<O> resultType, WorkflowFunction<I, O> function) {
    return new WorkflowDefinition<>(new WorkflowType(type, version), inputType, resultType, function, ExecutionMode.HOT_STANDBY);
  }

  /** A definition over raw bytes: the input and result are passed without a codec. */
  public static WorkflowDefinition<byte[], byte[]> ofBytes(String type, int version, WorkflowFunction<byte[], byte[]> function) {
    return of(type, version, byte[].class, byte[].class, function);
  }

  public WorkflowDefinition<I, O> withMode(ExecutionMode newMode) {
    return new WorkflowDefinition<>(type, inputType, resultType, function, newMode);
  }
}
