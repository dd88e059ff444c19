package io.raftoral.graal;

import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Value;

/** A context that has evaluated one workflow module, with its host object and the module's exports. */
final class PooledContext {
  final Context context;
  final ModuleHost host;
  final Value namespace;
  /** Its JavaScript was cancelled or stopped mid-turn: close it instead of reusing it. */
  volatile boolean broken;

  PooledContext(Context context, ModuleHost host, Value namespace) {
    this.context = context;
    this.host = host;
    this.namespace = namespace;
  }
}
