package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.raftoral.client.RaftoralClient;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A `raftoral node` process with OTEL_EXPORTER_OTLP_ENDPOINT set exports its spans over OTLP
 * (HTTP, protobuf) to that endpoint: here a small collector in the test that keeps what it is sent.
 * The spans of a workflow it ran arrive, with the service name and the workflow's attributes.
 */
class OtlpExportProcessesTest {
  @Test
  void aNodeWithAnOtlpEndpointExportsTheSpansOfTheWorkflowsItRuns() throws Exception {
    List<byte[]> received = new CopyOnWriteArrayList<>();
    List<String> paths = new CopyOnWriteArrayList<>();
    HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    collector.createContext("/", exchange -> {
      try (exchange) {
        paths.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath());
        received.add(exchange.getRequestBody().readAllBytes());
        exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
        exchange.sendResponseHeaders(200, -1); // an empty ExportTraceServiceResponse
      }
    });
    collector.start();
    try (NodeProcesses nodes = new NodeProcesses("OtlpExportProcessesTest")) {
      nodes.environment(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + collector.getAddress().getPort(),
          "OTEL_SERVICE_NAME", "raftoral-under-test", "OTEL_BSP_SCHEDULE_DELAY", "200"));
      nodes.bootstrap();
      try (RaftoralClient client = RaftoralClient.connect(nodes.apiAddress(1))) {
        client.start("ping_pong", 1, NodeProcesses.json("ping"), "traced-ping");
        assertThat(client.await("traced-ping", Duration.ofSeconds(60)).info().status().name()).isEqualTo("COMPLETED");
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!contains(received, "workflow ping_pong") && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertThat(paths).contains("POST /v1/traces");
      assertThat(contains(received, "workflow ping_pong")).as("the run's span was exported").isTrue();
      assertThat(contains(received, "traced-ping")).as("with the workflow's id").isTrue();
      assertThat(contains(received, "raftoral.workflow.type")).isTrue();
      assertThat(contains(received, "raftoral-under-test")).as("under the configured service name").isTrue();
    } finally {
      collector.stop(0);
    }
  }

  /** Whether any exported request holds {@code text} (protobuf keeps strings as UTF-8 bytes). */
  private static boolean contains(List<byte[]> bodies, String text) {
    byte[] needle = text.getBytes(StandardCharsets.UTF_8);
    for (byte[] body : bodies) {
      outer:
      for (int i = 0; i + needle.length <= body.length; i++) {
        for (int j = 0; j < needle.length; j++) {
          if (body[i + j] != needle[j]) {
            continue outer;
          }
        }
        return true;
      }
    }
    return false;
  }
}
