package io.raftoral.conformance.driver;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftoral.api.WorkflowJson;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.Errors;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.common.RaftoralException;
import io.raftoral.conformance.Canonical;
import io.raftoral.conformance.Strings;
import java.time.Duration;
import java.util.function.Supplier;

/** The Java client API ({@link RaftoralClient}) as a {@link Surface}; its exceptions mapped by {@link Canonical}. */
final class JavaSurface implements Surface {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  private final RaftoralClient client;

  JavaSurface(RaftoralClient client) {
    this.client = client;
  }

  @Override
  public Reply start(String type, String typeHex, int version, byte[] input, String workflowId, String workflowIdHex) {
    String t = typeHex != null ? Strings.fromHexEscaped(typeHex) : type;
    String id = workflowIdHex != null ? Strings.fromHexEscaped(workflowIdHex) : workflowId;
    return call(() -> F.objectNode().put("workflow_id", client.start(t, version, input, id).workflowId()));
  }

  @Override
  public Reply await(String workflowId, long timeoutMillis) {
    return call(() -> {
      byte[] result = client.await(workflowId, Duration.ofMillis(timeoutMillis)).resultOrThrow();
      return F.objectNode().set("result", JavaCluster.parse(result));
    });
  }

  @Override
  public Reply describe(String workflowId) {
    return call(() -> F.objectNode().set("info", WorkflowJson.info(client.describe(workflowId))));
  }

  @Override
  public Reply list(ObjectNode query) {
    return call(() -> {
      ObjectNode page = WorkflowJson.page(client.list(WorkflowJson.query(query.toString())));
      ObjectNode out = F.objectNode();
      out.set("workflows", page.get("workflows"));
      out.set("next_page_token", page.get("nextPageToken"));
      return out;
    });
  }

  @Override
  public Reply terminate(String workflowId, String reason) {
    return call(() -> F.objectNode().set("info", WorkflowJson.info(client.terminate(workflowId, reason))));
  }

  @Override
  public Reply history(String workflowId, String key, int pageSize) {
    return call(() -> {
      var entries = F.arrayNode();
      HistoryQuery q = new HistoryQuery(key, pageSize == 0 ? HistoryQuery.DEFAULT_LIMIT : pageSize, null);
      while (true) {
        HistoryPage page = client.history(workflowId, q);
        page.entries().forEach(e -> entries.add(WorkflowJson.historyEntry(e)));
        if (page.nextPageToken() == null) {
          return F.objectNode().set("entries", entries);
        }
        q = q.after(page.nextPageToken());
      }
    });
  }

  private static Reply call(Supplier<com.fasterxml.jackson.databind.JsonNode> call) {
    try {
      return Reply.ok(call.get());
    } catch (Errors.WorkflowFailedException e) {
      return Reply.error("WORKFLOW_FAILED", e.errorMessage(), e.errorType());
    } catch (Errors.WorkflowTerminatedException e) {
      return Reply.error("WORKFLOW_TERMINATED", e.reason(), null);
    } catch (RaftoralException e) {
      return Reply.error(Canonical.code(e), e.getMessage(), null);
    }
  }
}
