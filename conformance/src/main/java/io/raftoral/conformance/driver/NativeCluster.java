package io.raftoral.conformance.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * An entry point whose nodes are embedded through the C ABI (C, Python, Go): three processes of
 * the entry point's interpreter, each hosting one node (bootstrapped together from a member
 * list) and answering the driver's control protocol on stdin/stdout (conformance/README.md,
 * "The control protocol"). The driver is their client through that protocol, so every call goes
 * through the entry point's own API; the embedded nodes also serve the gRPC API, which the
 * driver uses only for cluster health and replica digests.
 */
final class NativeCluster extends Cluster {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The command that runs one node process, given its configuration JSON. */
  private final Function<String, List<String>> command;
  private final Map<String, String> env;
  private final Map<NodeProcess, Channel> channels = new ConcurrentHashMap<>();

  NativeCluster(Path dir, ClusterSettings settings, Function<String, List<String>> command, Map<String, String> env) {
    super(dir, settings);
    this.command = command;
    this.env = env;
  }

  @Override
  void start() throws Exception {
    int[] ports = Ports.free(6);
    ObjectNode members = JSON.createObjectNode();
    for (int i = 0; i < 3; i++) {
      members.put(String.valueOf(i + 1), "127.0.0.1:" + ports[2 * i]);
    }
    for (int i = 0; i < 3; i++) {
      String label = "n" + (i + 1);
      Path data = dir.resolve(label);
      ObjectNode config = JSON.createObjectNode();
      config.put("node_id", i + 1);
      config.set("members", members);
      config.put("api_address", "127.0.0.1:" + ports[2 * i + 1]);
      config.put("data_dir", data.toString());
      config.put("node_failure_timeout_ms", ClusterSettings.NODE_FAILURE_TIMEOUT_MILLIS);
      config.put("retention_ms", settings.retentionMillis());
      Channel channel = new Channel();
      Map<String, String> processEnv = new java.util.HashMap<>(env);
      processEnv.put("CONFORMANCE_LOG", effectLog.toString());
      processEnv.put("CONFORMANCE_NODE", label);
      NodeProcess n = new NodeProcess(label, data, command.apply(config.toString()), processEnv, dir.resolve("logs"),
          channel::onLine);
      channel.node = n;
      channels.put(n, channel);
      nodes.add(n);
    }
    // A bootstrap returns once a majority of the members is up: start them together.
    for (NodeProcess n : nodes) {
      channels.get(n).reset();
      n.start();
    }
    for (NodeProcess n : nodes) {
      channels.get(n).awaitReady();
    }
    awaitHealthy(START_TIMEOUT);
  }

  @Override
  void restart(NodeProcess node) throws Exception {
    Channel c = channels.get(node);
    c.reset();
    node.start();
    c.awaitReady();
  }

  @Override
  Surface surface(NodeProcess node) {
    return new NativeSurface(channels.get(node));
  }

  @Override
  public void close() {
    stopAll(nodes, "{\"rid\":0,\"op\":\"quit\"}");
  }

  /** The control protocol's client side for one process: requests by id, replies matched by id. */
  static final class Channel {
    NodeProcess node;
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private volatile LinkedBlockingQueue<JsonNode> events = new LinkedBlockingQueue<>();

    void reset() {
      events = new LinkedBlockingQueue<>();
    }

    void onLine(String line) {
      if (line == null) {
        ObjectNode gone = JSON.createObjectNode().put("event", "exited");
        events.add(gone);
        pending.values().forEach(f -> f.completeExceptionally(new ScenarioFailure(node + " exited")));
        pending.clear();
        return;
      }
      JsonNode msg;
      try {
        msg = JSON.readTree(line);
      } catch (IOException e) {
        return; // not protocol: a library printed to stdout; the interpreters keep stdout for the protocol
      }
      if (msg.has("event")) {
        events.add(msg);
      } else if (msg.has("rid")) {
        CompletableFuture<JsonNode> f = pending.remove(msg.get("rid").asLong());
        if (f != null) {
          f.complete(msg);
        }
      }
    }

    void awaitReady() throws InterruptedException {
      JsonNode e = events.poll(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      if (e == null || !"ready".equals(e.path("event").asText())) {
        throw new ScenarioFailure(node.label + " did not get ready (" + e + ", exit " + node.exitCode() + "): "
            + node.tail(4));
      }
      node.nodeId = e.get("node_id").asLong();
      node.apiAddress = e.get("api_address").asText();
    }

    JsonNode call(ObjectNode request, long timeoutMillis) {
      long rid = ids.incrementAndGet();
      request.put("rid", rid);
      CompletableFuture<JsonNode> f = new CompletableFuture<>();
      pending.put(rid, f);
      try {
        node.send(request.toString());
        return f.get(timeoutMillis, TimeUnit.MILLISECONDS);
      } catch (IOException e) {
        throw new ScenarioFailure(node + ": cannot send: " + e.getMessage());
      } catch (TimeoutException e) {
        throw new ScenarioFailure(node + " did not answer " + request.path("op").asText() + " within " + timeoutMillis + " ms");
      } catch (ExecutionException e) {
        throw new ScenarioFailure(node + ": " + e.getCause().getMessage() + "; stderr: " + node.tail(4));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ScenarioFailure("interrupted");
      } finally {
        pending.remove(rid);
      }
    }
  }
}
