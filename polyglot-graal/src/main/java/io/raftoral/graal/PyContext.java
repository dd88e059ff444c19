package io.raftoral.graal;

import io.raftoral.workflow.WorkflowContext;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.HostAccess;
import org.graalvm.polyglot.Value;

/** A context with a Python module evaluated, and what the built-in module's installer returned. */
final class PyContext extends PooledContext {
  final Host host;
  final Value describe;
  final Value start;
  final Value errorName;

  PyContext(Context context, Host host, Value installed) {
    super(context);
    this.host = host;
    this.describe = installed.getArrayElement(0);
    this.start = installed.getArrayElement(1);
    this.errorName = installed.getArrayElement(2);
  }

  @Override
  byte[] run(GraalWorkflows workflows, WorkflowContext ctx, String name, byte[] input) throws Throwable {
    return new PyRun(workflows, this, ctx).run(name, input);
  }

  @Override
  String describe() {
    return describe.execute().asString();
  }

  String[] errorName(Value error) {
    Value pair = errorName.execute(error);
    return new String[] {pair.getArrayElement(0).asString(), pair.getArrayElement(1).asString()};
  }

  /** The host object of a Python context: what the built-in module asks outside a run's ctx. */
  public static final class Host {
    /** The run using this context now, or null. */
    volatile PyRun run;

    @HostAccess.Export
    public boolean mayReadClock() {
      PyRun r = run;
      return r == null || r.computing();
    }
  }
}
