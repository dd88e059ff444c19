package io.raftoral.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.raftoral.client.HostPort;
import io.raftoral.runtime.NodeMetrics;
import io.raftoral.runtime.NodeRuntime;
import io.raftoral.security.HttpAccess;
import io.raftoral.security.NodeSecurity;
import io.raftoral.security.PemKeyMaterial;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's HTTP port ({@code httpAddress}, docs/OPERATIONS.md): the web console at {@code
 * /console/} (static files of this jar) with its JSON API under {@code /api/v1/} ({@link
 * ConsoleApi}), Prometheus metrics at {@code /metrics}, and health at {@code /health/live} (the
 * process answers) and {@code /health/ready} (the node serves: 503 while it is closed, removed or
 * in a fault, with the reason). The JDK's server, one virtual thread per exchange; GET and HEAD,
 * and POST for a terminate.
 *
 * <p>With the node's security (docs/SECURITY.md): HTTPS with {@code tlsCert}/{@code tlsKey} when
 * set ({@link PemKeyMaterial}), and a bearer token on every request but health and the console's
 * static files when the node has {@code authTokens} or {@code tlsCa} ({@link HttpAccess}).
 */
public final class HttpEndpoint implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HttpEndpoint.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  // Prometheus's two exposition formats: its text format, and OpenMetrics when the scraper asks for it.
  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
  private static final String OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

  private final HttpServer server;
  private final ExecutorService executor;
  private final String host;
  private final Supplier<NodeRuntime> runtime;
  private final PrometheusMeterRegistry metrics;
  private final ActivityHistory activity;
  private final ConsoleApi api;
  private final Optional<HttpAccess> access;

  private HttpEndpoint(HttpServer server, ExecutorService executor, String host, Supplier<NodeRuntime> runtime,
      PrometheusMeterRegistry metrics, NodeMetrics meters, Optional<HttpAccess> access) {
    this.server = server;
    this.access = access;
    this.executor = executor;
    this.host = host;
    this.runtime = runtime;
    this.metrics = metrics;
    this.activity = new ActivityHistory(meters);
    this.api = new ConsoleApi(runtime, activity);
  }

  /**
   * Binds {@code hostPort} (port 0 picks a free one) and serves the node whose current runtime
   * {@code runtime} returns (it changes when the node restarts or rejoins).
   *
   * @throws IOException when the address cannot be bound, naming it and the system's reason
   */
  public static HttpEndpoint start(String hostPort, Supplier<NodeRuntime> runtime, PrometheusMeterRegistry metrics,
      NodeMetrics meters) throws IOException {
    return start(hostPort, NodeSecurity.none(), runtime, metrics, meters);
  }

  /** As {@link #start(String, Supplier, PrometheusMeterRegistry, NodeMetrics)}, served with {@code security}. */
  public static HttpEndpoint start(String hostPort, NodeSecurity security, Supplier<NodeRuntime> runtime,
      PrometheusMeterRegistry metrics, NodeMetrics meters) throws IOException {
    HostPort hp = HostPort.parse(hostPort, true);
    InetSocketAddress bind = new InetSocketAddress(hp.host(), hp.port());
    if (bind.isUnresolved()) {
      throw new IOException("cannot bind the http address " + hp + ": unknown host " + hp.host());
    }
    // Read before binding: a bad file fails the start naming its option.
    PemKeyMaterial tls = security.tlsCert() == null ? null : PemKeyMaterial.load(security.tlsCert(), security.tlsKey());
    HttpServer server;
    try {
      if (tls != null) {
        HttpsServer https = HttpsServer.create(bind, 64);
        https.setHttpsConfigurator(new HttpsConfigurator(tls.serverContext()));
        server = https;
      } else {
        server = HttpServer.create(bind, 64);
      }
    } catch (BindException e) {
      throw new IOException("cannot bind the http address " + hp + ": it is in use (another process listens on it)"
          + " or not this machine's (" + e.getMessage() + ")", e);
    }
    ExecutorService executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("raftoral-http-", 0).factory());
    server.setExecutor(executor);
    Optional<HttpAccess> access = HttpAccess.of(security, () -> runtime.get().nodeId());
    HttpEndpoint endpoint = new HttpEndpoint(server, executor, hp.host(), runtime, metrics, meters, access);
    server.createContext("/", endpoint.guarded(endpoint::route));
    server.start();
    long nodeId = runtime.get().nodeId();
    LOG.info("node {}: serving the console, metrics and health on {}://{}/{}", nodeId, tls != null ? "https" : "http",
        endpoint.address(), access.isPresent() ? " (bearer tokens required but for health and the console's files)" : "");
    security.warnIfExposed("http port", "read every workflow and terminate them",
        new InetSocketAddress(hp.host(), server.getAddress().getPort()), nodeId);
    return endpoint;
  }

  /** The bound host:port (the chosen port when it was 0). */
  public String address() {
    return new HostPort(host, server.getAddress().getPort()).toString();
  }

  private void route(HttpExchange exchange) throws IOException {
    String method = exchange.getRequestMethod();
    // Raw: the API decodes each segment itself (a workflow id may hold an encoded '/').
    String path = exchange.getRequestURI().getRawPath();
    if (access.isPresent()) {
      HttpAccess.Verdict verdict = access.get().check(method, path,
          exchange.getRequestHeaders().getFirst("Authorization"), exchange.getRemoteAddress());
      if (!verdict.allowed()) {
        if (verdict.status() == 401) {
          exchange.getResponseHeaders().set("WWW-Authenticate", HttpAccess.CHALLENGE);
        }
        discardBody(exchange);
        // The console API's error format: {"error", "code"}.
        json(exchange, verdict.status(), JSON.createObjectNode().put("error", verdict.reason()).put("code", verdict.code()));
        return;
      }
    }
    if (!ConsoleApi.allows(method, path)) {
      exchange.getResponseHeaders().set("Allow", ConsoleApi.isTerminate(path) ? "POST" : "GET, HEAD");
      error(exchange, 405, method + " is not allowed on " + path);
      return;
    }
    if (path.startsWith(ConsoleApi.PREFIX)) {
      api.handle(exchange, path);
      return;
    }
    if (path.equals("/") || path.equals("/console")) {
      exchange.getResponseHeaders().set("Location", "/console/");
      send(exchange, 302, "text/plain; charset=utf-8", "see /console/".getBytes(StandardCharsets.UTF_8));
      return;
    }
    if (path.startsWith(ConsoleAssets.PREFIX)) {
      ConsoleAssets.Asset asset = ConsoleAssets.get(path);
      if (asset != null) {
        send(exchange, 200, asset.contentType(), asset.bytes());
        return;
      }
    }
    switch (path) {
      case "/metrics" -> {
        String accept = exchange.getRequestHeaders().getFirst("Accept");
        String contentType = accept != null && accept.contains("application/openmetrics-text") ? OPENMETRICS : PROMETHEUS_TEXT;
        send(exchange, 200, contentType, metrics.scrape(contentType).getBytes(StandardCharsets.UTF_8));
      }
      case "/health/live" -> json(exchange, 200, JSON.createObjectNode().put("status", "UP"));
      case "/health/ready" -> {
        NodeRuntime r = runtime.get();
        String why = r.removedMessage() != null ? r.removedMessage() : r.notServing();
        ObjectNode body = JSON.createObjectNode().put("status", why == null ? "UP" : "DOWN").put("node", r.nodeId());
        if (why != null) {
          body.put("reason", why);
        }
        json(exchange, why == null ? 200 : 503, body);
      }
      default -> error(exchange, 404, "no such page: " + path
          + " (this node serves /console/, /api/v1/, /metrics, /health/live and /health/ready)");
    }
  }

  /** A handler whose failure answers 500 and is logged, never leaves the exchange open. */
  private HttpHandler guarded(HttpHandler handler) {
    return exchange -> {
      try (exchange) {
        handler.handle(exchange);
      } catch (IOException e) {
        LOG.debug("http {} {}: {}", exchange.getRequestMethod(), exchange.getRequestURI(), e.toString());
      } catch (RuntimeException e) {
        LOG.warn("http {} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
        try {
          error(exchange, 500, "internal error: " + e);
        } catch (IOException | RuntimeException ignored) {
          // headers were sent already: the client sees a cut response
        }
      }
    };
  }

  /**
   * Reads and drops the body of a request refused before it was read, so that the connection is
   * left at the next request's start (a client reusing it for its next request otherwise waited
   * for an answer that never came: SecureHttpTest's operator terminate after a refused one, once
   * in CI); a body too large to read is answered on a connection that then closes.
   */
  private static void discardBody(HttpExchange exchange) throws IOException {
    try (java.io.InputStream body = exchange.getRequestBody()) {
      body.readNBytes(64 << 10);
      if (body.read() != -1) {
        exchange.getResponseHeaders().set("Connection", "close");
      }
    }
  }

  private static void error(HttpExchange exchange, int status, String message) throws IOException {
    json(exchange, status, JSON.createObjectNode().put("error", message));
  }

  static void json(HttpExchange exchange, int status, com.fasterxml.jackson.databind.JsonNode body) throws IOException {
    send(exchange, status, "application/json", JSON.writeValueAsBytes(body));
  }

  private static void send(HttpExchange exchange, int status, String contentType, byte[] body) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", contentType);
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : body.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  @Override
  public void close() {
    activity.close();
    server.stop(0);
    executor.shutdownNow();
  }
}
