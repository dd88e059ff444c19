package io.raftoral.graal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.common.RaftoralException;
import io.raftoral.workflow.WorkflowContext;
import java.util.List;
import java.util.Map;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.HostAccess;
import org.graalvm.polyglot.Value;

/** A context with a Python module evaluated, and what the built-in module's installer returned. */
final class PyContext extends PooledContext {
  final Host host;
  final Value describe;
  final Value start;
  final Value errorName;
  private final Value snapshotGlobals;

  PyContext(Context context, Host host, Value installed) {
    super(context);
    this.host = host;
    this.describe = installed.getArrayElement(0);
    this.start = installed.getArrayElement(1);
    this.errorName = installed.getArrayElement(2);
    this.snapshotGlobals = installed.getArrayElement(3);
  }

  /** Called once the workflow module has loaded: what later runs may not change. */
  void loaded() {
    globalsChanged = snapshotGlobals.execute();
  }

  @Override
  byte[] runOnce(GraalWorkflows workflows, WorkflowContext ctx, String name, byte[] input) throws Throwable {
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
    private static final ObjectMapper JSON = new ObjectMapper();

    private final GraalWorkflows workflows;
    /** The run using this context now, or null. */
    volatile PyRun run;
    private String error;

    Host(GraalWorkflows workflows) {
      this.workflows = workflows;
    }

    @HostAccess.Export
    public boolean mayReadClock() {
      PyRun r = run;
      return r == null || r.computing();
    }

    /** A host module's {@code {"computeOnly", "functions": [names]}} as JSON, or null when there is no such module. */
    @HostAccess.Export
    public String hostModule(String module) throws Exception {
      HostModule m = workflows.hostModule(module);
      return m == null ? null : JSON.writeValueAsString(Map.of("computeOnly", m.computeOnly(),
          "functions", m.functions().keySet().stream().sorted().toList()));
    }

    /** Calls a host function on this thread: its JSON result, or null and the error for {@link #takeError()}. */
    @HostAccess.Export
    public String callHostFunction(String module, String function, String argsJson) throws Exception {
      HostModule m = workflows.hostModule(module);
      HostModule.Function fn = m == null ? null : m.functions().get(function);
      PyRun r = run;
      if (fn == null || r == null) {
        error = "INVALID_ARGUMENT\t" + (fn == null ? "host module " + module + " has no function " + function
            : "host functions are only available while a workflow runs, not when its module loads");
        return null;
      }
      if (m.computeOnly() && !r.computing()) { // the built-in module refuses it first; this is the guarantee
        error = "INVALID_ARGUMENT\t" + module + "." + function + "() may only be called inside a ctx.checkpoint_compute function";
        return null;
      }
      List<Object> args = JSON.readValue(argsJson, JSON.getTypeFactory().constructCollectionType(List.class, Object.class));
      try {
        return JSON.writeValueAsString(fn.call(args));
      } catch (RaftoralException e) {
        error = e.code().name() + "\t" + e.getMessage();
      } catch (Exception e) {
        error = "INVALID_ARGUMENT\thost function failed: " + e.getClass().getSimpleName() + ": " + e.getMessage();
      }
      return null;
    }

    @HostAccess.Export
    public String takeError() {
      String e = error;
      error = null;
      return e == null ? "INTERNAL\tno error" : e;
    }
  }
}
