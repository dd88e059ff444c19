package io.raftoral.graal;

import io.raftoral.workflow.WorkflowContext;
import org.graalvm.polyglot.Context;

/** A context that has evaluated one workflow module (JavaScript or Python), ready to run its workflows. */
abstract class PooledContext {
  final Context context;
  /** Its code was cancelled or stopped mid-way: close it instead of reusing it. */
  volatile boolean broken;

  PooledContext(Context context) {
    this.context = context;
  }

  /** Runs workflow {@code name} of the module to its end on the calling thread; returns its result as JSON. */
  abstract byte[] run(GraalWorkflows workflows, WorkflowContext ctx, String name, byte[] input) throws Throwable;

  /** The module's workflows as JSON: [{exportName, name, version, mode, keepLastPerKey}]. */
  abstract String describe();
}
