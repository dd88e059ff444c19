package io.raftoral.conformance.interp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.graal.HostModule;
import java.util.List;
import java.util.Map;

/**
 * The js entry point's side-effect log: the host module {@code "conformance"} that
 * conformance/js/conformance.mjs imports, {@code log(wf, ev, key, seq, attempt[, value])} and
 * {@code node()}. Safe on every node and every replay (it only records what happened), so not
 * limited to compute functions.
 */
public final class EffectLogModule implements HostModule {
  private static final ObjectMapper JSON = new ObjectMapper();

  private EffectLog log; // opened on first use: the java entry point's nodes never load it

  @Override
  public String name() {
    return "conformance";
  }

  @Override
  public boolean computeOnly() {
    return false;
  }

  @Override
  public Map<String, Function> functions() {
    return Map.of("log", this::write, "node", args -> log().node());
  }

  private synchronized EffectLog log() {
    if (log == null) {
      log = EffectLog.fromEnvironment();
    }
    return log;
  }

  private Object write(List<Object> args) {
    if (args.size() < 5) {
      throw new IllegalArgumentException("log(wf, ev, key, seq, attempt[, value]) needs 5 or 6 arguments, got " + args.size());
    }
    JsonNode value = args.size() > 5 ? JSON.valueToTree(args.get(5)) : null;
    log().write(String.valueOf(args.get(0)), String.valueOf(args.get(1)), String.valueOf(args.get(2)),
        ((Number) args.get(3)).longValue(), ((Number) args.get(4)).intValue(), value);
    return null;
  }
}
