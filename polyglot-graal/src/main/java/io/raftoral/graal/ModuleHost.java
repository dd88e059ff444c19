package io.raftoral.graal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.common.Errors;
import java.util.List;
import org.graalvm.polyglot.HostAccess;
import org.graalvm.polyglot.Value;

/**
 * The one host object of a context, which the built-in module {@code "raftoral"} takes from the
 * global scope (raftoral.mjs): what JavaScript may ask of the node outside a run's {@code ctx}.
 * Public only because the polyglot host access needs it; not an API.
 */
public final class ModuleHost {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final GraalWorkflows workflows;
  Value describeExports;
  Value startRun;
  Value runCompute;
  Value apiError;
  Value errorName;
  Value namedError;
  Value snapshotGlobals;
  /** The run using this context now, or null; set and read only by the thread in the context. */
  JsRun run;

  ModuleHost(GraalWorkflows workflows) {
    this.workflows = workflows;
  }

  @HostAccess.Export
  public void install(Value describeExports, Value startRun, Value runCompute, Value apiError, Value errorName,
      Value namedError, Value snapshotGlobals) {
    if (this.describeExports != null) {
      throw new IllegalStateException("the built-in module is installed already");
    }
    this.describeExports = describeExports;
    this.startRun = startRun;
    this.runCompute = runCompute;
    this.apiError = apiError;
    this.errorName = errorName;
    this.namedError = namedError;
    this.snapshotGlobals = snapshotGlobals;
  }

  /** A host module's {@code {"computeOnly", "functions": [names]}} as JSON, or null when there is no such module. */
  @HostAccess.Export
  public String hostModule(String module) throws Exception {
    HostModule m = workflows.hostModule(module);
    return m == null ? null : JSON.writeValueAsString(java.util.Map.of("computeOnly", m.computeOnly(),
        "functions", m.functions().keySet().stream().sorted().toList()));
  }

  @HostAccess.Export
  public void callHostFunction(String module, String function, String argsJson, boolean inCompute, Value resolve, Value reject)
      throws Exception {
    JsRun current = requireRun("host module " + module);
    HostModule m = workflows.hostModule(module);
    HostModule.Function fn = m == null ? null : m.functions().get(function);
    if (fn == null) {
      reject.executeVoid(apiError.execute("INVALID_ARGUMENT", "host module " + module + " has no function " + function));
      return;
    }
    if (m.computeOnly() && !inCompute) { // the built-in module refuses it first with a DeterminismError
      reject.executeVoid(apiError.execute("INVALID_ARGUMENT", module + "." + function + "() may only be called inside a "
          + "ctx.checkpointCompute function"));
      return;
    }
    List<Object> args = JSON.readValue(argsJson, JSON.getTypeFactory().constructCollectionType(List.class, Object.class));
    current.callHost(() -> JSON.writeValueAsString(fn.call(args)), resolve, reject);
  }

  /** Whether a run uses this context now (not: its module is loading). */
  @HostAccess.Export
  public boolean inRun() {
    return run != null;
  }

  @HostAccess.Export
  public long setTimeout(Value fn, double millis) {
    return requireRun("setTimeout").setTimeout(fn, millis);
  }

  @HostAccess.Export
  public void clearTimeout(long id) {
    if (run != null) {
      run.clearTimeout(id);
    }
  }

  private JsRun requireRun(String what) {
    if (run == null) {
      throw new Errors.InvalidArgumentException(what + " is only available while a workflow runs, not when its module loads");
    }
    return run;
  }
}
