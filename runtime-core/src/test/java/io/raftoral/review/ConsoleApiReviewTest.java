package io.raftoral.review;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.workflow.WorkflowDefinition;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The console's JSON API on unusual input (from the break-it review of issue 25; each failed on
 * 611884a): path segments, query values, far instants, methods, on one node.
 */
class ConsoleApiReviewTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = TestCluster.start(1, null, (node, b) -> b.httpAddress("127.0.0.1:0")
        .register(WorkflowDefinition.of("keys", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a,b", "first");
          return ctx.checkpoint("c", "second");
        })));
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  /**
   * A request URI the JDK's HTTP server cannot parse (a malformed percent-escape) never reaches
   * the node's handlers: the server answers 400 itself, as HTML (docs/OPERATIONS.md says so), and
   * the node goes on serving.
   */
  @Test
  void aMalformedPercentEscapeIsA400AndTheNodeGoesOn() throws Exception {
    RaftoralNode n = cluster.node(1);
    String r = rawSocket(n, "GET /api/v1/counts?x=%zz HTTP/1.1");
    assertThat(r).as(r).startsWith("HTTP/1.1 400");
    String after = rawSocket(n, "GET /api/v1/counts HTTP/1.1");
    assertThat(after).as(after).startsWith("HTTP/1.1 200");
    assertThat(body(after).has("RUNNING")).isTrue();
  }

  /** A far (but valid ISO-8601) instant in startedAfter must be a 400, not a 500 (toEpochMilli overflows). */
  @Test
  void aFarFutureStartedAfterIsA400NotA500() throws Exception {
    RaftoralNode n = cluster.node(1);
    String r = rawSocket(n, "GET /api/v1/workflows?startedAfter=%2B1000000000-01-01T00:00:00Z HTTP/1.1");
    assertThat(r).as(r).startsWith("HTTP/1.1 400");
    assertThat(body(r).path("code").asText()).isEqualTo("INVALID_ARGUMENT");
  }

  /** A literal '+' in a path segment is a '+', not a space (only form-encoded queries use '+' for space). */
  @Test
  void aPlusInAWorkflowIdInThePathIsAPlus() throws Exception {
    RaftoralNode n = cluster.node(1);
    n.start("keys", 1, "x", String.class, "a+b").result(WAIT);
    String r = rawSocket(n, "GET /api/v1/workflows/a+b HTTP/1.1");
    assertThat(r).as(r).startsWith("HTTP/1.1 200");
    assertThat(body(r).at("/info/workflowId").asText()).isEqualTo("a+b");
  }

  /** The history's key filter: a checkpoint key holding a ',' (even percent-encoded) cannot be asked for. */
  @Test
  void theHistoryOfACheckpointKeyWithACommaCanBeFiltered() throws Exception {
    RaftoralNode n = cluster.node(1);
    n.start("keys", 1, "x", String.class, "comma-key").result(WAIT);
    String r = rawSocket(n, "GET /api/v1/workflows/comma-key/history?key=a%2Cb HTTP/1.1");
    assertThat(r).as(r).startsWith("HTTP/1.1 200");
    JsonNode entries = body(r).get("entries");
    assertThat(entries).isNotEmpty();
    assertThat(entries.get(0).get("key").asText()).isEqualTo("a,b");
  }

  /** POST is allowed only for a terminate, yet POST /api/v1/workflows/terminate is answered as a GET of workflow "terminate". */
  @Test
  void aPostIsOnlyEverATerminate() throws Exception {
    RaftoralNode n = cluster.node(1);
    n.start("keys", 1, "x", String.class, "terminate").result(WAIT);
    String r = rawSocket(n, "POST /api/v1/workflows/terminate HTTP/1.1\r\nContent-Length: 0");
    assertThat(r).as(r).startsWith("HTTP/1.1 405");
  }

  /** A 405 must name the allowed methods (RFC 9110 15.5.6): GET on .../terminate answers 405 with no Allow header. */
  @Test
  void aGetOnTerminateIs405WithAnAllowHeader() throws Exception {
    RaftoralNode n = cluster.node(1);
    n.start("keys", 1, "x", String.class, "get-terminate").result(WAIT);
    String r = rawSocket(n, "GET /api/v1/workflows/get-terminate/terminate HTTP/1.1");
    assertThat(r).as(r).startsWith("HTTP/1.1 405");
    assertThat(r.toLowerCase()).as(r).contains("\r\nallow: post");
  }

  private static JsonNode body(String response) throws Exception {
    return JSON.readTree(response.substring(response.indexOf("\r\n\r\n") + 4));
  }

  private static String rawSocket(RaftoralNode n, String requestLine) throws Exception {
    String[] hostPort = n.httpAddress().split(":");
    try (Socket s = new Socket(hostPort[0], Integer.parseInt(hostPort[1]))) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write((requestLine + "\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
