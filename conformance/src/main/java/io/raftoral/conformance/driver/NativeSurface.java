package io.raftoral.conformance.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;

/** A node process's control protocol as a {@link Surface}; the process maps its errors itself. */
final class NativeSurface implements Surface {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  /** A call other than await may wait for a leader election and a forward. */
  private static final long CALL_MILLIS = 90_000;
  private final NativeCluster.Channel channel;

  NativeSurface(NativeCluster.Channel channel) {
    this.channel = channel;
  }

  @Override
  public Reply start(String type, String typeHex, int version, byte[] input, String workflowId, String workflowIdHex) {
    ObjectNode r = F.objectNode().put("op", "start").put("type", type).put("version", version)
        .put("input", new String(input, StandardCharsets.UTF_8));
    if (typeHex != null) {
      r.put("type_hex", typeHex);
    }
    if (workflowId != null) {
      r.put("workflow_id", workflowId);
    }
    if (workflowIdHex != null) {
      r.put("workflow_id_hex", workflowIdHex);
    }
    return call(r, CALL_MILLIS);
  }

  @Override
  public Reply await(String workflowId, long timeoutMillis) {
    return call(F.objectNode().put("op", "await").put("workflow_id", workflowId).put("timeout_ms", timeoutMillis),
        timeoutMillis + CALL_MILLIS);
  }

  @Override
  public Reply describe(String workflowId) {
    return call(F.objectNode().put("op", "describe").put("workflow_id", workflowId), CALL_MILLIS);
  }

  @Override
  public Reply list(ObjectNode query) {
    ObjectNode r = F.objectNode().put("op", "list");
    r.set("query", query);
    return call(r, CALL_MILLIS);
  }

  @Override
  public Reply terminate(String workflowId, String reason) {
    return call(F.objectNode().put("op", "terminate").put("workflow_id", workflowId).put("reason", reason), CALL_MILLIS);
  }

  @Override
  public Reply history(String workflowId, String key, int pageSize) {
    ObjectNode r = F.objectNode().put("op", "history").put("workflow_id", workflowId);
    if (key != null) {
      r.put("key", key);
    }
    if (pageSize != 0) {
      r.put("page_size", pageSize);
    }
    return call(r, CALL_MILLIS);
  }

  private Reply call(ObjectNode request, long timeoutMillis) {
    JsonNode reply = channel.call(request, timeoutMillis);
    if (reply.has("error")) {
      JsonNode e = reply.get("error");
      return Reply.error(e.path("code").asText("INTERNAL"), e.path("message").asText(""),
          e.hasNonNull("detail") ? e.get("detail").asText() : null);
    }
    if (!reply.has("ok")) {
      throw new ScenarioFailure("a reply without ok or error: " + reply);
    }
    return Reply.ok(reply.get("ok"));
  }
}
