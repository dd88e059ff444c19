package io.raftoral.graal;

import io.raftoral.workflow.WorkflowContext;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Value;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A context that has evaluated one workflow module (JavaScript or Python), ready to run its workflows. */
abstract class PooledContext {
  private static final Logger LOG = LoggerFactory.getLogger(PooledContext.class);

  final Context context;
  /** Says what the runs changed of the global scope since the module loaded (null: nothing); set once loaded. */
  Value globalsChanged;
  /** Its code was cancelled or stopped mid-way: close it instead of reusing it. */
  volatile boolean broken;

  PooledContext(Context context) {
    this.context = context;
  }

  /** Runs workflow {@code name} of the module to its end on the calling thread; returns its result as JSON. */
  final byte[] run(GraalWorkflows workflows, WorkflowContext ctx, String name, byte[] input) throws Throwable {
    try {
      return runOnce(workflows, ctx, name, input);
    } finally {
      // A run that changed the global scope or a built-in (a monkeypatched module) must not change
      // later runs, which the other nodes run on other contexts: this context goes.
      if (!broken) {
        try {
          Value changed = globalsChanged.execute();
          if (!changed.isNull()) {
            broken = true;
            LOG.info("workflow {}: its run changed {}; its context is not reused", ctx.workflowId(), changed.asString());
          }
        } catch (RuntimeException e) {
          broken = true;
        }
      }
    }
  }

  abstract byte[] runOnce(GraalWorkflows workflows, WorkflowContext ctx, String name, byte[] input) throws Throwable;

  /** The module's workflows as JSON: [{exportName, name, version, mode, keepLastPerKey}]. */
  abstract String describe();
}
