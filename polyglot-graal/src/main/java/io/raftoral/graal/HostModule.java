package io.raftoral.graal;

import java.util.List;
import java.util.Map;

/**
 * Java functions the node gives JavaScript workflows, which have no other way to reach the
 * outside world: a workflow imports them with {@code hostModule(name)} from {@code "raftoral"}
 * and calls them with JSON values; each call returns a Promise of the function's JSON result and
 * runs on a virtual thread of its own (so it may block, e.g. on HTTP).
 *
 * <p>Give them to {@link GraalOptions.Builder#hostModule}; {@code raftoral node --workflows}
 * loads every implementation listed in {@code META-INF/services/io.raftoral.graal.HostModule} on
 * its class path (they need a public no-argument constructor).
 *
 * <p>A function acts on the world: by default a workflow may call it only inside a {@code
 * ctx.checkpointCompute} function (which runs on the owner only and commits its result), and a
 * call elsewhere is refused with a {@code DeterminismError}. A module whose functions are safe to
 * call on every node and on every replay (they only log, say) returns false from {@link
 * #computeOnly()}.
 */
public interface HostModule {
  /** The name workflows import it by. */
  String name();

  /** The functions, by name. */
  Map<String, Function> functions();

  /** Whether its functions may be called only inside a checkpointCompute function. */
  default boolean computeOnly() {
    return true;
  }

  /** One function: JSON values in (Jackson's Map, List, String, Number, Boolean, null), one out. */
  @FunctionalInterface
  interface Function {
    Object call(List<Object> args) throws Exception;
  }
}
