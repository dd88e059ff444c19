package io.raftoral.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowType;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowFunction;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

/** A workflow type whose function is a C callback ({@code raftoral_workflow_fn}). */
final class ForeignWorkflow implements WorkflowFunction<byte[], byte[]> {
  // void fn(void *env, raftoral_ctx_t *ctx, const uint8_t *input, size_t input_len, raftoral_output_t *output)
  private static final MethodHandle CALL_WORKFLOW = Native.LINKER.downcallHandle(
      FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
  // void finalizer(void *env)
  private static final MethodHandle CALL_FINALIZER = Native.LINKER.downcallHandle(FunctionDescriptor.ofVoid(ADDRESS));

  // Native frames pin a virtual thread to its carrier, and a foreign function blocked in a
  // checkpoint would hold one of the few carriers: foreign runs get platform threads.
  private static final ExecutorService THREADS =
      Executors.newCachedThreadPool(Thread.ofPlatform().daemon().name("raftoral-foreign-", 0).factory());

  private final WorkflowDefinition<byte[], byte[]> definition;
  private final MemorySegment fn;
  private final MemorySegment env;
  private final MemorySegment finalizer;
  private final AtomicBoolean finalized = new AtomicBoolean();

  // Which registration's callback the current thread is running, so that a node closed from
  // inside one of its own callbacks does not wait for that callback (it cannot return first).
  private static final ThreadLocal<ForeignWorkflow> CALLING = new ThreadLocal<>();

  // Callbacks in flight: env belongs to them until the last one returns (raftoral.h, node_close).
  private final Object calls = new Object();
  private int running; // guarded by calls
  private boolean closed; // guarded by calls: no new callback starts
  private boolean finalizeOnLastReturn; // guarded by calls

  ForeignWorkflow(WorkflowType type, ExecutionMode mode, long keepLastPerKey, MemorySegment fn, MemorySegment env,
      MemorySegment finalizer) {
    this.definition = WorkflowDefinition.ofBytes(type.name(), type.version(), this).withMode(mode).withKeepLastPerKey(keepLastPerKey);
    this.fn = fn;
    this.env = env;
    this.finalizer = finalizer;
  }

  WorkflowDefinition<byte[], byte[]> definition() {
    return definition;
  }

  @Override
  public byte[] run(WorkflowContext ctx, byte[] input) {
    synchronized (calls) {
      if (closed) {
        // Only after the node has stopped: nothing this run did could be committed any more.
        throw new Errors.NodeClosedException("the node is closed: workflow " + ctx.workflowId() + " does not run here");
      }
      running++;
    }
    ForeignRun run = new ForeignRun(ctx, this::isClosed);
    Future<?> call;
    try {
      call = THREADS.submit(() -> invoke(run, input));
    } catch (RuntimeException e) {
      returned();
      throw e;
    }
    boolean interrupted = false;
    while (true) {
      try {
        call.get();
        break;
      } catch (InterruptedException e) {
        // The node is stopping; the run sees that at its next checkpoint. C must not be left
        // holding a context whose run has gone, so wait for the callback to return.
        interrupted = true;
      } catch (ExecutionException e) {
        run.control(e.getCause());
        break;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    return run.outcome();
  }

  private void invoke(ForeignRun run, byte[] input) {
    long ctx = Handles.add(Handles.Kind.CTX, run);
    long output = Handles.add(Handles.Kind.OUTPUT, run.output());
    CALLING.set(this);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment in = arena.allocate(Math.max(1, input.length));
      MemorySegment.copy(input, 0, in, JAVA_BYTE, 0, input.length);
      CALL_WORKFLOW.invokeExact(fn, env, MemorySegment.ofAddress(ctx), in, (long) input.length,
          MemorySegment.ofAddress(output));
    } catch (Throwable t) {
      run.control(t);
    } finally {
      CALLING.remove();
      Handles.remove(ctx);
      Handles.remove(output);
      returned();
    }
  }

  /** A callback returned; the last one out after a close that could not wait for it finalizes env. */
  private void returned() {
    boolean finalizeNow;
    synchronized (calls) {
      running--;
      finalizeNow = running == 0 && finalizeOnLastReturn;
      calls.notifyAll();
    }
    if (finalizeNow) {
      finalizeEnv();
    }
  }

  /**
   * Refuses new callbacks, waits until those in flight have returned or {@code deadlineNanos}
   * passes, and finalizes env once none is left; otherwise the last one to return finalizes it.
   * A callback running on this very thread (the node is closed from inside it) is not waited for.
   *
   * @return how many callbacks on other threads were still running at the deadline
   */
  int closeAndFinalize(long deadlineNanos) {
    int own = CALLING.get() == this ? 1 : 0;
    boolean finalizeNow;
    int stillRunning;
    synchronized (calls) {
      closed = true;
      boolean interrupted = false;
      while (running > own) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          break;
        }
        try {
          calls.wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          interrupted = true; // the caller of close is owed its wait; keep the flag for it
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      finalizeNow = running == 0;
      finalizeOnLastReturn = !finalizeNow;
      stillRunning = running - own;
    }
    if (finalizeNow) {
      finalizeEnv();
    }
    return Math.max(0, stillRunning);
  }

  private boolean isClosed() {
    synchronized (calls) {
      return closed;
    }
  }

  WorkflowType type() {
    return definition.type();
  }

  /** Runs the C finalizer of {@code env} once. */
  void finalizeEnv() {
    if (finalizer.equals(MemorySegment.NULL) || !finalized.compareAndSet(false, true)) {
      return;
    }
    try {
      CALL_FINALIZER.invokeExact(finalizer, env);
    } catch (Throwable t) {
      // A downcall does not throw; nothing to undo if it somehow did.
    }
  }
}
