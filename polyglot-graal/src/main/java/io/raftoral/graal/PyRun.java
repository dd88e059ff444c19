package io.raftoral.graal;

import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.workflow.ForeignException;
import io.raftoral.workflow.WorkflowContext;
import java.nio.charset.StandardCharsets;
import org.graalvm.polyglot.HostAccess;
import org.graalvm.polyglot.PolyglotException;
import org.graalvm.polyglot.Value;

/**
 * One run of a Python workflow on its pooled context. Python's calls are plain blocking calls
 * (the API of the {@code raftoral} package): the run's virtual thread runs the function, and each
 * ctx call is a {@link WorkflowContext} call on that same thread; a compute function is called
 * back from inside {@link WorkflowContext#checkpointComputeBytes}.
 *
 * <p>A call that fails returns null and leaves its error for {@link #takeError()}, which the
 * built-in module raises as the matching Python exception (a compute function's own exception as
 * the same object). The engine's stop signals are remembered and rethrown when the run ends,
 * whatever Python did with them. The watchdog stops Python code that runs longer than the turn
 * limit without a blocking ctx call, and a terminated workflow's code that does not unwind within
 * the grace period.
 *
 * <p>Public only for the polyglot host access of its {@link HostAccess.Export} methods; not an API.
 */
public final class PyRun implements GraalWorkflows.Watched {
  private final GraalWorkflows workflows;
  private final PyContext pooled;
  private final WorkflowContext ctx;
  private Object error;
  private Throwable fatal;
  private Errors.WorkflowTerminatedException terminated;
  private volatile long terminatedAtNanos;
  private int computing;
  /** The turn limit's clock: the run's thread's CPU time. */
  private RunClock clock;
  /** Since when (on {@link #clock}) Python runs without waiting in a blocking ctx call (0: it waits); read by the watchdog. */
  private volatile long runningSinceNanos;
  private volatile String stoppedBecause;
  private volatile String stoppedType;

  PyRun(GraalWorkflows workflows, PyContext pooled, WorkflowContext ctx) {
    this.workflows = workflows;
    this.pooled = pooled;
    this.ctx = ctx;
  }

  byte[] run(String name, byte[] input) throws Throwable {
    pooled.host.run = this;
    clock = new RunClock(Thread.currentThread());
    workflows.watch(this);
    runningSinceNanos = clock.now();
    try {
      String result;
      try {
        result = pooled.start.execute(name, new String(input, StandardCharsets.UTF_8), this).asString();
      } catch (PolyglotException e) {
        throw outcomeOf(e);
      }
      if (fatal != null) {
        throw fatal;
      }
      if (terminated != null) {
        throw terminated;
      }
      return result.getBytes(StandardCharsets.UTF_8);
    } finally {
      runningSinceNanos = 0;
      workflows.unwatch(this);
      pooled.host.run = null;
    }
  }

  /** What ends the run when Python raised or was stopped. */
  private Throwable outcomeOf(PolyglotException e) {
    if (fatal instanceof StoppedInCompute) {
      return stopped();
    }
    if (fatal != null) {
      return fatal; // the engine's signal, whatever Python made of it
    }
    if (terminated != null) {
      return terminated;
    }
    if (stoppedBecause != null) {
      return stopped();
    }
    if (e.isHostException()) {
      return e.asHostException();
    }
    if (e.isGuestException() && !e.isInternalError() && !e.isCancelled() && !e.isInterrupted()) {
      String[] typeAndMessage = pooled.errorName(e.getGuestObject());
      return new ForeignException(typeAndMessage[0], typeAndMessage[1]);
    }
    pooled.broken = true;
    // A refusal of the sandbox raised inside the language (threads, say): a failure of the
    // workflow's code, named as such, not an error of the engine.
    return new ForeignException(e.isInternalError() ? "SandboxError" : "Error", String.valueOf(e.getMessage()));
  }

  /** The error of a run the watchdog or the memory guard stopped. */
  private Throwable stopped() {
    pooled.broken = true;
    return stoppedType == null ? new Errors.NodeClosedException(stoppedBecause) : new ForeignException(stoppedType, stoppedBecause);
  }

  /**
   * Thrown out of a compute function that {@link #stop} cancelled: the engine's "Context execution
   * was cancelled" is our stop, and the run ends with the stop's error (not recorded as the step's).
   */
  private static final class StoppedInCompute extends RuntimeException {
    StoppedInCompute() {
      super("stopped", null, false, false);
    }
  }

  // ---- what the built-in module calls ----

  @HostAccess.Export
  public String workflowId() {
    return ctx.workflowId();
  }

  @HostAccess.Export
  public boolean isOwner() {
    return ctx.isOwner();
  }

  @HostAccess.Export
  public boolean isTerminated() {
    return terminated != null || ctx.isTerminated();
  }

  @HostAccess.Export
  public String checkpoint(String key, String json) {
    return blocking(() -> ctx.checkpointBytes(key, json.getBytes(StandardCharsets.UTF_8)));
  }

  @HostAccess.Export
  public String compute(String key, Value fn) {
    return blocking(() -> ctx.checkpointComputeBytes(key, () -> runCompute(fn)));
  }

  /** The error of the last call that returned null: "CODE\tmessage", or a compute function's own exception. */
  @HostAccess.Export
  public Object takeError() {
    Object e = error;
    error = null;
    return e;
  }

  boolean computing() {
    return computing > 0;
  }

  @FunctionalInterface
  private interface Call {
    byte[] make() throws Exception;
  }

  private String blocking(Call call) {
    if (fatal != null) {
      throw sneaky(fatal);
    }
    runningSinceNanos = 0;
    try {
      return new String(call.make(), StandardCharsets.UTF_8);
    } catch (ComputeFailure own) {
      error = own.error;
      return null;
    } catch (Errors.WorkflowTerminatedException t) {
      if (terminated == null) {
        terminated = t;
        terminatedAtNanos = System.nanoTime();
      }
      error = t.code().name() + "\t" + t.getMessage();
      return null;
    } catch (RaftoralException api) {
      error = api.code().name() + "\t" + api.getMessage();
      return null;
    } catch (ForeignException replayed) {
      error = "WORKFLOW_FAILED\t" + replayed.errorType() + ": " + replayed.getMessage();
      return null;
    } catch (io.raftoral.workflow.ReplayedSideEffectFailure replayed) {
      error = "WORKFLOW_FAILED\t" + replayed.getMessage();
      return null;
    } catch (Throwable signal) {
      fatal = signal; // the engine's stop signal (or a defect): not for Python to catch
      throw sneaky(signal);
    } finally {
      runningSinceNanos = clock.now();
    }
  }

  /** Inside checkpointComputeBytes, on this same thread: calls the compute function. */
  private byte[] runCompute(Value fn) {
    computing++;
    runningSinceNanos = clock.now();
    try {
      return fn.execute().asString().getBytes(StandardCharsets.UTF_8);
    } catch (PolyglotException e) {
      if (stoppedBecause != null) {
        throw new StoppedInCompute();
      }
      if (e.isHostException()) {
        throw sneaky(e.asHostException());
      }
      if (e.isGuestException() && !e.isInternalError() && !e.isCancelled() && !e.isInterrupted() && stoppedBecause == null) {
        throw new ComputeFailure(e.getGuestObject(), pooled.errorName(e.getGuestObject()));
      }
      throw e;
    } finally {
      runningSinceNanos = 0;
      computing--;
    }
  }

  /** A compute function's own exception: recorded as the step's failure, raised in Python as the same object. */
  static final class ComputeFailure extends ForeignException {
    final transient Value error;

    ComputeFailure(Value error, String[] typeAndMessage) {
      super(typeAndMessage[0], typeAndMessage[1]);
      this.error = error;
    }
  }

  @SuppressWarnings("unchecked")
  private static <T extends Throwable> RuntimeException sneaky(Throwable t) throws T {
    throw (T) t;
  }

  // ---- the watchdog ----

  @Override
  public void check(long nowNanos, long limitNanos) {
    long since = runningSinceNanos;
    long terminatedAt = terminatedAtNanos;
    if (stoppedBecause == null && since != 0 && clock.now() - since > limitNanos) {
      stop("TimeLimitError", "the workflow's Python code ran longer than " + workflows.options().turnLimit().toMillis()
          + " ms without a ctx call (the node's turn limit); the run was stopped");
    } else if (stoppedBecause == null && terminatedAt != 0
        && nowNanos - terminatedAt > workflows.options().terminationGrace().toNanos()) {
      stop("TimeLimitError", "the terminated workflow's code did not end within the termination grace period; the run was stopped");
    }
  }

  @Override
  public void memoryExceeded(String why) {
    if (runningSinceNanos != 0) {
      stop("MemoryLimitError", why);
    }
  }

  @Override
  public synchronized void stop(String type, String why) {
    if (stoppedBecause != null) {
      return;
    }
    stoppedType = type;
    stoppedBecause = why;
    pooled.broken = true;
    Thread.ofVirtual().name("raftoral-py-cancel").start(() -> pooled.context.close(true));
  }
}
