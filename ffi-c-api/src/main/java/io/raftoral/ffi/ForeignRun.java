package io.raftoral.ffi;

import io.raftoral.common.ErrorCode;
import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.workflow.WorkflowContext;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * One call of a C workflow function: the context it reaches through its ctx handle, the output
 * it fills, and what ended the run from the engine's side.
 *
 * <p>When a checkpoint ends the run (terminated, aborted) C gets a status code, but the engine
 * needs the original Java error to unwind the run correctly, whatever C then puts in its
 * output. That error is the run's "control": kept here, rethrown when the callback returns.
 */
final class ForeignRun {
  private final WorkflowContext ctx;
  private final BooleanSupplier nodeStopped;
  private final Output output = new Output();
  private Throwable control;

  ForeignRun(WorkflowContext ctx, BooleanSupplier nodeStopped) {
    this.ctx = ctx;
    this.nodeStopped = nodeStopped;
  }

  /**
   * Refuses a query (is_terminated, is_owner) once the node has stopped, so that a function that
   * polls instead of checkpointing learns it must return, and a close does not wait for it in vain.
   */
  void checkWanted() {
    if (nodeStopped.getAsBoolean()) {
      throw new AbiException(ErrorCode.ABORTED, "this run of workflow " + ctx.workflowId() + " is no longer wanted"
          + " (the node is stopping): return from the workflow function");
    }
  }

  WorkflowContext ctx() {
    return ctx;
  }

  Output output() {
    return output;
  }

  /** Runs a context operation, keeping the errors that end the run and translating them for C. */
  <T> T guard(Supplier<T> operation) {
    try {
      return operation.get();
    } catch (Errors.WorkflowTerminatedException e) {
      control(e);
      throw e;
    } catch (RaftoralException | io.raftoral.workflow.ForeignException e) {
      throw e; // bad input or a failed side effect: the workflow function decides what to do
    } catch (Throwable t) {
      control(t);
      throw new AbiException(ErrorCode.ABORTED, "this run of workflow " + ctx.workflowId() + " is no longer wanted"
          + " (it ended, moved to another owner, or the node is stopping): return from the workflow function");
    }
  }

  synchronized void control(Throwable t) {
    if (control == null) {
      control = t;
    }
  }

  /** The run's result: the control error if there is one, else what C put in the output. */
  byte[] outcome() {
    Throwable c;
    synchronized (this) {
      c = control;
    }
    if (c != null) {
      throw ForeignRun.<RuntimeException>sneakyThrow(c);
    }
    return output.valueOrThrow("the workflow function of " + ctx.workflowType());
  }

  @SuppressWarnings("unchecked")
  private static <E extends Throwable> E sneakyThrow(Throwable t) throws E {
    throw (E) t;
  }
}
