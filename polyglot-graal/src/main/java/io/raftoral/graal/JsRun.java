package io.raftoral.graal;

import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.workflow.ForeignException;
import io.raftoral.workflow.RunControl;
import io.raftoral.workflow.WorkflowContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.graalvm.polyglot.HostAccess;
import org.graalvm.polyglot.PolyglotException;
import org.graalvm.polyglot.Value;
import org.graalvm.polyglot.proxy.ProxyExecutable;

/**
 * One run of a JavaScript workflow on its pooled context: the JS event loop, driven by the run's
 * own (virtual) thread, and a caller thread that makes the run's ctx calls.
 *
 * <p>Only the loop thread enters the context. JavaScript's ctx calls return promises: each call is
 * queued, in the order JavaScript made it, for the caller thread, which makes the blocking {@link
 * WorkflowContext} call and posts its outcome back to the loop, where the promise settles. Call
 * order is therefore JavaScript's order on every node, whatever the timing: the same checkpoint
 * positions everywhere. A compute function runs on the loop (it is JavaScript) while the caller
 * thread waits inside {@link WorkflowContext#checkpointComputeBytes} for it to settle.
 *
 * <p>The loop ends when the workflow function's promise settles and every call it made has been
 * answered; when nothing could ever settle it (a promise no event will resolve) it fails the
 * workflow rather than hang. A turn (one event's JavaScript) longer than the turn limit cancels the
 * context and fails the workflow; termination lets the code unwind for a grace period; the
 * engine's own stop signals end the run at once.
 *
 * <p>Public only for the polyglot host access of its {@link HostAccess.Export} methods (what the
 * built-in module calls); not an API.
 */
public final class JsRun implements GraalWorkflows.Watched {
  /** How often an idle loop asks the engine whether the run is still wanted. */
  private static final long IDLE_POLL_MILLIS = 100;

  private final GraalWorkflows workflows;
  private final JsContext pooled;
  private final WorkflowContext ctx;
  private final LinkedBlockingQueue<Runnable> events = new LinkedBlockingQueue<>();
  private final LinkedBlockingQueue<Call> calls = new LinkedBlockingQueue<>();
  /** Calls made and not answered yet (queued or being made). */
  private final AtomicInteger unanswered = new AtomicInteger();
  private final AtomicInteger hostCallsRunning = new AtomicInteger();
  private final Map<Long, ScheduledFuture<?>> timers = new HashMap<>();
  private final List<CompletableFuture<String>> computes = new ArrayList<>();
  private long nextTimer = 1;
  private boolean settled;
  private String resultJson;
  private Value failure;
  /** What ends the run at once: the engine's stop signal, a turn over the limit, a JavaScript fault of ours. */
  private Throwable fatal;
  private Errors.WorkflowTerminatedException terminated;
  private long terminatedAtNanos;
  private boolean stuckOnce;
  private Thread caller;
  /** When the current turn started (0: none runs); read by the watchdog. */
  private volatile long turnStartedNanos;
  /** The turn limit's clock: the CPU time of the thread that runs the turns. */
  private RunClock clock;
  /** Why the watchdog or the memory guard stopped the run's code ({type, message}), or null. */
  private volatile String[] stopped;

  JsRun(GraalWorkflows workflows, JsContext pooled, WorkflowContext ctx) {
    this.workflows = workflows;
    this.pooled = pooled;
    this.ctx = ctx;
  }

  /** Runs the workflow function {@code exportName} of the context's module to its end; returns its result as JSON. */
  byte[] run(String exportName, byte[] input) throws Throwable {
    ModuleHost host = pooled.host;
    host.run = this;
    clock = new RunClock(Thread.currentThread());
    caller = Thread.ofVirtual().name("raftoral-js-calls-" + ctx.workflowId()).start(this::makeCalls);
    workflows.watch(this);
    try {
      String inputJson = new String(input, StandardCharsets.UTF_8);
      turn(() -> host.startRun.executeVoid(pooled.namespace, exportName, inputJson, this));
      while (fatal == null && !(settled && unanswered.get() == 0)) {
        Runnable event = events.poll(IDLE_POLL_MILLIS, TimeUnit.MILLISECONDS);
        if (event != null) {
          stuckOnce = false;
          turn(event);
        } else {
          idle();
        }
        if (terminated != null && fatal == null
            && System.nanoTime() - terminatedAtNanos > workflows.options().terminationGrace().toNanos()) {
          fatal = terminated; // the code did not unwind within the grace period
        }
        String[] why = stopped;
        if (why != null && fatal == null) { // stopped while no turn ran (waiting for a timer, say)
          fatal = stoppedError(why);
        }
      }
      if (fatal != null) {
        throw fatal;
      }
      if (terminated != null) {
        throw terminated; // whatever the code returned after it was terminated
      }
      if (failure != null) {
        throw foreign(failure);
      }
      return resultJson.getBytes(StandardCharsets.UTF_8);
    } finally {
      workflows.unwatch(this);
      host.run = null;
      timers.values().forEach(t -> t.cancel(false));
      timers.clear();
      computes.forEach(c -> c.cancel(false)); // a caller thread waiting for a compute function gives up
      caller.interrupt();
      if (fatal != null && !(fatal instanceof RaftoralException)) {
        pooled.broken = true; // its JavaScript stopped mid-way (or was cancelled): do not reuse it
      }
    }
  }

  /** Runs one event's JavaScript; its faults end the run. */
  private void turn(Runnable event) {
    turnStartedNanos = clock.now();
    try {
      event.run();
    } catch (PolyglotException e) {
      String[] why = stopped;
      if (why != null) {
        fatal = stoppedError(why);
      } else if (e.isCancelled() || e.isInterrupted()) {
        fatal = new ForeignException("CancelledError", "the workflow's JavaScript was cancelled (the node is closing its workflows)");
      } else if (e.isHostException() && e.asHostException() instanceof Error signal) {
        fatal = signal;
      } else if (e.isHostException() && e.asHostException() instanceof RaftoralException api) {
        fatal = api;
      } else if (e.isGuestException() && !e.isInternalError()) {
        // Thrown from a timer's callback, as Node.js would crash on it: the workflow fails with it.
        String[] typeAndMessage = guestError(e);
        fatal = new ForeignException(typeAndMessage[0], typeAndMessage[1]);
      } else {
        fatal = e;
      }
    } catch (RuntimeException | Error e) {
      fatal = e;
    } finally {
      turnStartedNanos = 0;
    }
  }

  /** Nothing happened for a while: is the run still wanted, and can anything still settle it? */
  private void idle() {
    try {
      if (ctx instanceof RunControl control) {
        control.checkStillWanted();
      }
    } catch (Errors.WorkflowTerminatedException t) {
      terminatedNow(t);
    } catch (RuntimeException | Error notWanted) {
      fatal = notWanted;
      return;
    }
    if (!timers.isEmpty() || hostCallsRunning.get() > 0) {
      return; // something will happen
    }
    boolean computeWaiting = !computes.isEmpty();
    if (!computeWaiting && unanswered.get() > 0) {
      return; // the caller thread is making a call
    }
    // Nothing is running that could settle a promise: only a compute function (waited for by the
    // caller thread) or the workflow's own promise is pending. Look twice, for an event in flight.
    if (!stuckOnce) {
      stuckOnce = true;
      return;
    }
    stuckOnce = false;
    if (computeWaiting) {
      // The compute function awaits a promise nothing can settle (ctx calls made beside it wait
      // for it): it fails, as its own DeadlockError, and its position stays free.
      String message = "the checkpointCompute function awaits a promise that nothing can settle any more";
      Value error = pooled.host.namedError.execute("DeadlockError", message);
      for (CompletableFuture<String> c : List.copyOf(computes)) {
        computes.remove(c);
        c.completeExceptionally(new ComputeFailure(error, new String[] {"DeadlockError", message}));
      }
      return;
    }
    if (!settled) {
      fatal = new ForeignException("DeadlockError", "the workflow function awaits a promise that nothing can settle any more "
          + "(no ctx call, timer or host call is pending)");
    }
  }

  private void terminatedNow(Errors.WorkflowTerminatedException t) {
    if (terminated == null) {
      terminated = t;
      terminatedAtNanos = System.nanoTime();
    }
  }

  // ---- what the built-in module calls (on the loop thread, inside a turn) ----

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
  public void checkpoint(String key, String json, Value resolve, Value reject) {
    call(reject, () -> {
      byte[] committed = ctx.checkpointBytes(key, json.getBytes(StandardCharsets.UTF_8));
      String out = new String(committed, StandardCharsets.UTF_8);
      post(() -> resolve.executeVoid(out));
    });
  }

  @HostAccess.Export
  public void compute(String key, Value fn, Value resolve, Value reject) {
    call(reject, () -> {
      byte[] committed = ctx.checkpointComputeBytes(key, () -> runCompute(fn).getBytes(StandardCharsets.UTF_8));
      String out = new String(committed, StandardCharsets.UTF_8);
      post(() -> resolve.executeVoid(out));
    });
  }

  @HostAccess.Export
  public void finished(String json) {
    if (!settled) {
      settled = true;
      resultJson = json;
    }
  }

  @HostAccess.Export
  public void failed(Value error) {
    if (!settled) {
      settled = true;
      failure = error;
    }
  }

  long setTimeout(Value fn, double millis) {
    long id = nextTimer++;
    long delayNanos = Double.isFinite(millis) && millis > 0 ? (long) Math.min(millis * 1e6, 1e15) : 0;
    timers.put(id, workflows.timers().schedule(() -> post(() -> {
      if (timers.remove(id) != null) {
        fn.executeVoid();
      }
    }), delayNanos, TimeUnit.NANOSECONDS));
    return id;
  }

  void clearTimeout(long id) {
    ScheduledFuture<?> t = timers.remove(id);
    if (t != null) {
      t.cancel(false);
    }
  }

  /** A host module's function, run on a virtual thread of its own; its JSON result settles the promise. */
  void callHost(ThrowingCall<String> body, Value resolve, Value reject) {
    hostCallsRunning.incrementAndGet();
    Thread.ofVirtual().name("raftoral-js-host-" + ctx.workflowId()).start(() -> {
      try {
        String out = body.call();
        post(() -> resolve.executeVoid(out));
      } catch (Throwable t) {
        post(() -> reject(reject, t instanceof RaftoralException ? t
            : new Errors.InvalidArgumentException("host function failed: " + t.getClass().getSimpleName() + ": " + t.getMessage())));
      } finally {
        post(hostCallsRunning::decrementAndGet);
      }
    });
  }

  // ---- the caller thread ----

  private record Call(Value reject, ThrowingCall<Void> body) {}

  @FunctionalInterface
  interface ThrowingCall<T> {
    T call() throws Throwable;
  }

  @FunctionalInterface
  private interface CallBody {
    void run() throws Throwable;
  }

  private void call(Value reject, CallBody body) {
    unanswered.incrementAndGet();
    calls.add(new Call(reject, () -> {
      body.run();
      return null;
    }));
  }

  /** The caller thread: makes the queued calls in order, until the run ends. */
  private void makeCalls() {
    try {
      while (true) {
        Call c = calls.take();
        try {
          c.body.call();
        } catch (Throwable t) {
          post(() -> reject(c.reject, t));
        } finally {
          post(unanswered::decrementAndGet);
        }
      }
    } catch (InterruptedException runEnded) {
      // the run is over
    }
  }

  /** On the caller thread, inside checkpointComputeBytes: runs {@code fn} on the loop and waits for it to settle. */
  private String runCompute(Value fn) throws Exception {
    CompletableFuture<String> result = new CompletableFuture<>();
    post(() -> {
      computes.add(result);
      ProxyExecutable done = args -> {
        computes.remove(result);
        result.complete(args[0].asString());
        return null;
      };
      ProxyExecutable failedWith = args -> {
        computes.remove(result);
        ComputeFailure failure;
        try {
          failure = new ComputeFailure(args[0], errorName(args[0]));
        } catch (RuntimeException unprintable) { // the compute still settles, whatever was thrown
          failure = new ComputeFailure(args[0], new String[] {"Error", "(an error that cannot be printed)"});
        }
        result.completeExceptionally(failure);
        return null;
      };
      pooled.host.runCompute.executeVoid(fn, done, failedWith);
    });
    try {
      return result.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      throw e;
    } catch (java.util.concurrent.CancellationException runEnded) {
      throw new InterruptedException("the run ended while its compute function ran");
    }
  }

  /** A compute function's own error: recorded as the step's failure, and given back to the code as the same object. */
  static final class ComputeFailure extends ForeignException {
    final transient Value error;

    ComputeFailure(Value error, String[] typeAndMessage) {
      super(typeAndMessage[0], typeAndMessage[1]);
      this.error = error;
    }
  }

  // ---- posting to the loop, and errors ----

  private void post(Runnable event) {
    events.add(event);
  }

  /** Rejects a promise (on the loop) with what a call threw; the engine's stop signals end the run instead. */
  private void reject(Value reject, Throwable t) {
    if (t instanceof ComputeFailure f) {
      reject.executeVoid(f.error);
    } else if (t instanceof Errors.WorkflowTerminatedException term) {
      terminatedNow(term);
      reject.executeVoid(pooled.host.apiError.execute(term.code().name(), String.valueOf(term.getMessage())));
    } else if (t instanceof RaftoralException api) {
      reject.executeVoid(pooled.host.apiError.execute(api.code().name(), String.valueOf(api.getMessage())));
    } else if (t instanceof ForeignException replayed) {
      reject.executeVoid(pooled.host.apiError.execute("WORKFLOW_FAILED", replayed.errorType() + ": " + replayed.getMessage()));
    } else if (t instanceof io.raftoral.workflow.ReplayedSideEffectFailure replayed) {
      reject.executeVoid(pooled.host.apiError.execute("WORKFLOW_FAILED", String.valueOf(replayed.getMessage())));
    } else if (fatal == null) {
      fatal = t; // the engine's stop signal (an Error) or a defect: not for the workflow's code to catch
    }
  }

  private String[] errorName(Value error) {
    Value pair = pooled.host.errorName.execute(error);
    return new String[] {pair.getArrayElement(0).asString(), pair.getArrayElement(1).asString()};
  }

  private ForeignException foreign(Value error) {
    String[] typeAndMessage;
    try {
      typeAndMessage = errorName(error);
    } catch (RuntimeException unprintable) {
      typeAndMessage = new String[] {"Error", "(an error that cannot be printed)"};
    }
    return new ForeignException(typeAndMessage[0], typeAndMessage[1]);
  }

  /** [type, message] of a guest error thrown to Java (from a timer's callback, say). */
  private String[] guestError(PolyglotException e) {
    Value guest = e.getGuestObject();
    if (guest != null) {
      try {
        return errorName(guest);
      } catch (RuntimeException unprintable) {
        // fall through: what the exception says
      }
    }
    return new String[] {"Error", String.valueOf(e.getMessage())};
  }

  // ---- the watchdog (another thread) ----

  /** Called by the watchdog: cancels the context when the current turn runs over the limit. */
  @Override
  public void check(long nowNanos, long limitNanos) {
    long started = turnStartedNanos;
    if (started != 0 && clock.now() - started > limitNanos) {
      stop("TimeLimitError", "a turn of the workflow's JavaScript ran longer than " + workflows.options().turnLimit().toMillis()
          + " ms without awaiting (the node's turn limit); the run was stopped");
    }
  }

  @Override
  public void memoryExceeded(String why) {
    if (turnStartedNanos != 0) {
      stop("MemoryLimitError", why);
    }
  }

  /** What a stop ends the run with: the workflow fails with {@code type}; none (null) when the workflows close. */
  private static Throwable stoppedError(String[] why) {
    return why[0] == null ? new Errors.NodeClosedException(why[1]) : new ForeignException(why[0], why[1]);
  }

  @Override
  public synchronized void stop(String type, String message) {
    if (stopped == null) {
      stopped = new String[] {type, message};
      pooled.broken = true;
      post(() -> {}); // wakes the loop if it waits for an event
      // close(true) waits for the cancelled thread to leave the context: not on the watchdog's thread.
      Thread.ofVirtual().name("raftoral-js-cancel").start(() -> pooled.context.close(true));
    }
  }
}
