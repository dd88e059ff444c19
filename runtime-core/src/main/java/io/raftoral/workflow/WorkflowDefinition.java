package io.raftoral.workflow;

import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowType;
import java.util.Objects;

/**
 * A workflow type bound to its code: the function, its input and result classes, its execution
 * mode and its history retention. Registered in-process on every node that may run it; never
 * replicated.
 *
 * <h2>History retention</h2>
 * {@code keepLastPerKey} is how many of each key's committed values the workflow's checkpoint
 * history keeps once the workflow has ended: {@code 0} (the default) keeps every value until the
 * workflow itself is pruned; {@code n > 0} keeps the last {@code n} of each key. It applies at the
 * workflow's end only, never while it runs: a run that is replayed (a new owner after a failover,
 * any restart) reads every value of every key from seq 0, so none may go before the end. The node
 * that ends the workflow (its owner) or terminates it carries its own registration's policy in
 * that replicated command, so every replica trims the same; register the same policy on every
 * node. Describe's checkpoint count still counts every value the workflow committed.
 */
public record WorkflowDefinition<I, O>(
    WorkflowType type, Class<I> inputType, Class<O> resultType, WorkflowFunction<I, O> function, ExecutionMode mode,
    long keepLastPerKey) {

  public WorkflowDefinition {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(inputType, "inputType");
    Objects.requireNonNull(resultType, "resultType");
    Objects.requireNonNull(mode, "mode");
    if (function == null) {
      throw new Errors.InvalidArgumentException("workflow function of " + type + " must not be null");
    }
    checkKeepLastPerKey(type, keepLastPerKey);
  }

  /** A definition that keeps its whole history until the workflow is pruned ({@code keepLastPerKey} 0). */
  public WorkflowDefinition(
      WorkflowType type, Class<I> inputType, Class<O> resultType, WorkflowFunction<I, O> function, ExecutionMode mode) {
    this(type, inputType, resultType, function, mode, 0);
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
    return new WorkflowDefinition<>(type, inputType, resultType, function, newMode, keepLastPerKey);
  }

  /**
   * This definition keeping only the last {@code n} committed values of each key once a workflow
   * of it has ended ({@code 0}: every value, until the workflow is pruned); see the class comment.
   *
   * @throws Errors.InvalidArgumentException when {@code n} is negative
   */
  public WorkflowDefinition<I, O> withKeepLastPerKey(long n) {
    return new WorkflowDefinition<>(type, inputType, resultType, function, mode, n);
  }

  private static void checkKeepLastPerKey(WorkflowType type, long n) {
    if (n < 0) {
      throw new Errors.InvalidArgumentException("keepLastPerKey of " + type + " must be >= 0 (0 keeps the whole history), got " + n);
    }
  }
}
