package io.raftoral.graal;

import io.raftoral.workflow.WorkflowContext;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Value;

/** A context with a JavaScript module evaluated: its host object and the module's exports. */
final class JsContext extends PooledContext {
  final ModuleHost host;
  final Value namespace;

  JsContext(Context context, ModuleHost host, Value namespace) {
    super(context);
    this.host = host;
    this.namespace = namespace;
    this.globalsChanged = host.snapshotGlobals.execute();
  }

  @Override
  byte[] runOnce(GraalWorkflows workflows, WorkflowContext ctx, String exportName, byte[] input) throws Throwable {
    return new JsRun(workflows, this, ctx).run(exportName, input);
  }

  @Override
  String describe() {
    return host.describeExports.execute(namespace).asString();
  }
}
