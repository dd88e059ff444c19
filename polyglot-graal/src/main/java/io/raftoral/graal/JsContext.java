package io.raftoral.graal;

import io.raftoral.workflow.WorkflowContext;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Value;

/** A context with a JavaScript module evaluated: its host object and the module's exports. */
final class JsContext extends PooledContext {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(JsContext.class);

  final ModuleHost host;
  final Value namespace;
  /** Whether the global scope or a built-in changed since the module loaded (raftoral.mjs, snapshotGlobals). */
  private final Value globalsChanged;

  JsContext(Context context, ModuleHost host, Value namespace) {
    super(context);
    this.host = host;
    this.namespace = namespace;
    this.globalsChanged = host.snapshotGlobals.execute();
  }

  @Override
  byte[] run(GraalWorkflows workflows, WorkflowContext ctx, String exportName, byte[] input) throws Throwable {
    try {
      return new JsRun(workflows, this, ctx).run(exportName, input);
    } finally {
      // A run that replaced a built-in (or left a global behind) must not change later runs, which
      // the other nodes run on other contexts: this context goes.
      if (!broken) {
        try {
          Value changed = globalsChanged.execute();
          if (!changed.isNull()) {
            broken = true;
            LOG.info("workflow {}: its run changed {}; its JavaScript context is not reused", ctx.workflowId(), changed.asString());
          }
        } catch (RuntimeException e) {
          broken = true;
        }
      }
    }
  }

  @Override
  String describe() {
    return host.describeExports.execute(namespace).asString();
  }
}
