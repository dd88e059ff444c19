package io.raftoral.graal;

import io.raftoral.common.WorkflowType;
import io.raftoral.workflow.WorkflowContext;
import java.util.ArrayDeque;

/**
 * The idle contexts of one workflow type, each with the type's module evaluated. A run takes one
 * (or a new one) for as long as it runs and gives it back; no two threads use a context at once.
 * Module-level state therefore lives on from run to run of a context: keep workflow modules free
 * of mutable module-level state (README.md).
 */
final class ContextPool {
  private final GraalWorkflows workflows;
  private final WorkflowModule module;
  private final WorkflowType type;
  private final String exportName;
  private final ArrayDeque<PooledContext> idle = new ArrayDeque<>();
  private boolean closed;

  ContextPool(GraalWorkflows workflows, WorkflowModule module, WorkflowType type, String exportName) {
    this.workflows = workflows;
    this.module = module;
    this.type = type;
    this.exportName = exportName;
  }

  WorkflowType type() {
    return type;
  }

  /** The workflow function of a definition: one run on a pooled context. */
  byte[] run(WorkflowContext ctx, byte[] input) throws Exception {
    PooledContext pooled = take();
    try {
      return pooled.run(workflows, ctx, exportName, input);
    } catch (Exception | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    } finally {
      give(pooled);
    }
  }

  /** Keeps a context evaluated while loading, for the first run. */
  void offer(PooledContext pooled) {
    give(pooled);
  }

  private PooledContext take() {
    synchronized (this) {
      PooledContext p = idle.pollFirst();
      if (p != null) {
        return p;
      }
    }
    return workflows.newContext(module);
  }

  private void give(PooledContext pooled) {
    synchronized (this) {
      if (!closed && !pooled.broken && idle.size() < workflows.options().maxIdleContexts()) {
        idle.addFirst(pooled); // the most recently used first: its code is the warmest
        return;
      }
    }
    GraalWorkflows.closeQuietly(pooled);
  }

  int idleCount() {
    synchronized (this) {
      return idle.size();
    }
  }

  void close() {
    synchronized (this) {
      closed = true;
      idle.forEach(GraalWorkflows::closeQuietly);
      idle.clear();
    }
  }
}
