package io.raftoral.graal;

import io.raftoral.workflow.WorkflowContext;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedList;
import java.util.List;

/**
 * The idle contexts of a node's workflow modules, each with its module evaluated: a context runs
 * any workflow its module exports. A run takes one of its module (or a new one) for as long as it
 * runs and gives it back; no two threads use a context at once. Module-level state therefore
 * lives on from run to run of a context: keep workflow modules free of mutable module-level
 * state (README.md).
 *
 * <p>At most {@link GraalOptions#maxIdleContexts()} stay idle in all, across modules: the least
 * recently used goes first. A GraalPy context holds megabytes (a JavaScript one about 84 KB), so
 * a bound per type or per module would let a node with many types fill its heap with contexts
 * nothing runs on.
 */
final class ContextPool {
  private record Idle(WorkflowModule module, PooledContext context) {}

  private final GraalWorkflows workflows;
  /** The most recently used first. */
  private final LinkedList<Idle> idle = new LinkedList<>();
  private boolean closed;

  ContextPool(GraalWorkflows workflows) {
    this.workflows = workflows;
  }

  /** One run of workflow {@code exportName} of {@code module} on a pooled context. */
  byte[] run(WorkflowModule module, String exportName, WorkflowContext ctx, byte[] input) throws Exception {
    PooledContext pooled = take(module);
    try {
      return pooled.run(workflows, ctx, exportName, input);
    } catch (Exception | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    } finally {
      give(module, pooled);
    }
  }

  /** The most recently used idle context of {@code module}, or a new one. */
  PooledContext take(WorkflowModule module) {
    synchronized (this) {
      for (Iterator<Idle> it = idle.iterator(); it.hasNext(); ) {
        Idle i = it.next();
        if (i.module() == module) {
          it.remove();
          return i.context();
        }
      }
    }
    return workflows.newContext(module);
  }

  /** Takes a context back after a run (or the one evaluated while loading); closes what is not kept. */
  void give(WorkflowModule module, PooledContext pooled) {
    List<PooledContext> close = new ArrayList<>();
    synchronized (this) {
      if (closed || pooled.broken) {
        close.add(pooled);
      } else {
        idle.addFirst(new Idle(module, pooled)); // the most recently used first: its code is the warmest
        while (idle.size() > workflows.options().maxIdleContexts()) {
          close.add(idle.removeLast().context());
        }
      }
    }
    close.forEach(GraalWorkflows::closeQuietly);
  }

  /** Closes every idle context (the memory guard: they are the memory nothing needs); returns how many. */
  int dropIdle() {
    List<Idle> dropped;
    synchronized (this) {
      dropped = new ArrayList<>(idle);
      idle.clear();
    }
    dropped.forEach(i -> GraalWorkflows.closeQuietly(i.context()));
    return dropped.size();
  }

  int idleCount(WorkflowModule module) {
    synchronized (this) {
      return (int) idle.stream().filter(i -> i.module() == module).count();
    }
  }

  int idleCount() {
    synchronized (this) {
      return idle.size();
    }
  }

  void close() {
    synchronized (this) {
      closed = true;
    }
    dropIdle();
  }
}
