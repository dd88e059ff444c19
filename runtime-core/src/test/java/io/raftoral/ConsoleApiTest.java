package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.workflow.WorkflowDefinition;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The console's JSON API (docs/OPERATIONS.md, "The console's API") on a three-node cluster, as
 * the console's pages call it: filtered lists and counts, a workflow's detail and history, a
 * terminate (only with the console's header), the cluster, the activity samples, the static
 * files; and bad requests answered with the HTTP status of their error code.
 */
class ConsoleApiTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final HttpClient HTTP = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final CountDownLatch HELD = new CountDownLatch(1);
  private static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = TestCluster.start(3, null, (node, b) -> b.httpAddress("127.0.0.1:0")
        .register(WorkflowDefinition.of("greet", 1, String.class, String.class, (ctx, in) -> {
          String hello = ctx.checkpoint("hello", "hello " + in);
          return ctx.checkpoint("shout", hello.toUpperCase());
        }))
        .register(UntilTerminated.type("held", 3, HELD)));
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  void listsFilterAndPageAsTheCliDoesAndCountsGoByStatus() throws Exception {
    RaftoralNode n = cluster.node(1);
    for (int i = 0; i < 3; i++) {
      n.start("greet", 1, "p" + i, String.class, "list-greet-" + i).result(WAIT);
    }
    JsonNode page = get(n, "workflows?type=greet&version=1&status=COMPLETED&limit=2");
    assertThat(page.get("workflows")).hasSize(2);
    assertThat(page.get("workflows").get(0).get("status").asText()).isEqualTo("COMPLETED");
    assertThat(page.get("workflows").get(0).get("type").asText()).isEqualTo("greet");
    JsonNode rest = get(n, "workflows?type=greet&version=1&status=COMPLETED&limit=2&pageToken="
        + java.net.URLEncoder.encode(page.get("nextPageToken").asText(), "UTF-8"));
    assertThat(page.get("workflows").size() + rest.get("workflows").size()).isGreaterThanOrEqualTo(3);
    assertThat(get(n, "workflows?type=nothing-like-it").path("workflows")).isEmpty();
    assertThat(get(n, "workflows?startedAfter=2999-01-01T00:00:00Z").path("workflows")).isEmpty();

    JsonNode counts = get(n, "counts");
    assertThat(counts.get("COMPLETED").asLong()).isGreaterThanOrEqualTo(3);
    assertThat(counts.fieldNames()).toIterable().containsExactly("RUNNING", "COMPLETED", "FAILED", "TERMINATED");
  }

  @Test
  void aWorkflowsDetailAndHistoryShowItsInputResultAndEveryCheckpoint() throws Exception {
    RaftoralNode n = cluster.node(2);
    n.start("greet", 1, "ada", String.class, "detail-greet").result(WAIT);
    JsonNode detail = get(cluster.node(3), "workflows/detail-greet");
    assertThat(detail.at("/info/status").asText()).isEqualTo("COMPLETED");
    assertThat(detail.at("/info/checkpointCount").asText()).isEqualTo("2");
    assertThat(detail.at("/info/ownerNode").asLong()).isPositive();
    assertThat(detail.at("/input/text").asText()).isEqualTo("\"ada\"");
    assertThat(detail.at("/result/text").asText()).isEqualTo("\"HELLO ADA\"");

    JsonNode history = get(cluster.node(3), "workflows/detail-greet/history");
    assertThat(history.get("entries")).hasSize(2);
    assertThat(history.at("/entries/0/key").asText()).isEqualTo("hello");
    assertThat(history.at("/entries/0/value/text").asText()).isEqualTo("\"hello ada\"");
    assertThat(history.at("/entries/1/key").asText()).isEqualTo("shout");
    assertThat(history.at("/entries/1/committedAtMillis").asLong()).isPositive();
    assertThat(history.at("/entries/1/ownerNode").asLong()).isEqualTo(detail.at("/info/ownerNode").asLong());
  }

  @Test
  void aTerminateNeedsTheConsolesHeaderAndAReason() throws Exception {
    RaftoralNode n = cluster.node(1);
    WorkflowHandle<String> h = n.start("held", 3, "x", String.class, "held-1");
    assertThat(HELD.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
    HttpResponse<String> withoutHeader = post(n, "workflows/held-1/terminate", "{\"reason\":\"x\"}", false);
    assertThat(withoutHeader.statusCode()).isEqualTo(403);
    assertThat(post(n, "workflows/held-1/terminate", "{\"why\":\"x\"}", true).statusCode()).isEqualTo(400);
    assertThat(post(n, "workflows/held-1/terminate", "not json", true).statusCode()).isEqualTo(400);
    assertThat(get(n, "workflows/held-1").at("/info/status").asText()).isEqualTo("RUNNING");

    HttpResponse<String> done = post(n, "workflows/held-1/terminate", "{\"reason\":\"from the console\"}", true);
    assertThat(done.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(done.body()).get("status").asText()).isEqualTo("TERMINATED");
    assertThat(n.describe("held-1").status()).isEqualTo(WorkflowStatus.TERMINATED);
    assertThat(get(cluster.node(2), "workflows/held-1").at("/info/errorMessage").asText()).isEqualTo("from the console");
    assertThat(h.workflowId()).isEqualTo("held-1");
  }

  @Test
  void theClusterPageSeesEveryNodeUpWithTheGroupsAndTheirLeaders() throws Exception {
    // Right after the cluster starts the page may not list every node yet (this failed twice when
    // run after other tests): wait until it does, then check all of it.
    JsonNode c = get(cluster.node(2), "cluster");
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!(c.get("nodes").size() == 3 && c.get("nodeHealth").size() == 3
        && allVersions(c, io.raftoral.runtime.NodeRuntime.version())) && System.nanoTime() < deadline) {
      Thread.sleep(100);
      c = get(cluster.node(2), "cluster");
    }
    assertThat(c.get("answeredBy").asLong()).isEqualTo(2);
    assertThat(c.get("nodes")).hasSize(3);
    assertThat(c.get("nodeHealth")).hasSize(3);
    c.get("nodeHealth").forEach(h -> assertThat(h.get("up").asBoolean()).as(h.toString()).isTrue());
    // Each node reports the version it runs (bootstrap members too): here, classes, "development".
    assertThat(c.get("nodeHealth")).allSatisfy(h -> assertThat(h.get("version").asText()).isEqualTo("development"));
    JsonNode group = c.at("/executionGroups/0");
    assertThat(group.get("members")).hasSize(3);
    JsonNode here = c.at("/replicasHere/" + group.get("groupId").asText());
    assertThat(here.get("appliedIndex").asLong()).isPositive();
    assertThat(here.get("commitIndex").asLong()).isGreaterThanOrEqualTo(here.get("appliedIndex").asLong());
    assertThat(group.get("leaderNode").asLong()).isPositive();
    assertThat(group.get("memberLag")).hasSize(3);
    JsonNode activity = get(cluster.node(2), "activity");
    assertThat(activity.get("intervalMillis").asLong()).isPositive();
    assertThat(activity.get("samples").size()).isPositive();
  }

  @Test
  void badRequestsGetTheStatusOfTheirErrorAndTheNodeGoesOn() throws Exception {
    RaftoralNode n = cluster.node(3);
    assertStatus(n, "workflows/never-started", 404, "NOT_FOUND");
    assertStatus(n, "workflows?status=SLEEPING", 400, null);
    assertStatus(n, "workflows?limit=5000", 400, "INVALID_ARGUMENT");
    assertStatus(n, "workflows?version=2", 400, "INVALID_ARGUMENT"); // a version needs a type
    assertStatus(n, "workflows?startedAfter=yesterday", 400, null);
    assertStatus(n, "workflows?pageToken=garbage", 400, "INVALID_ARGUMENT");
    assertStatus(n, "workflows/x/history?limit=0", 400, "INVALID_ARGUMENT");
    assertStatus(n, "nothing-here", 404, null);
    assertStatus(n, "workflows/a/b/c", 404, null);
    assertThat(rawSocket(n, "GET /api/v1/workflows/%zz HTTP/1.1")).startsWith("HTTP/1.1 400");
    assertThat(rawSocket(n, "GET /api/v1/workflows/a%2Fb HTTP/1.1")).startsWith("HTTP/1.1 404").contains("a/b");
    HttpResponse<String> put = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + n.httpAddress() + "/api/v1/counts"))
        .PUT(HttpRequest.BodyPublishers.ofString("")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(put.statusCode()).isEqualTo(405);
    assertThat(get(n, "counts").has("RUNNING")).isTrue();
  }

  @Test
  void theConsolesFilesComeFromTheNodeItself() throws Exception {
    RaftoralNode n = cluster.node(1);
    HttpResponse<String> root = raw(n, "/");
    assertThat(root.statusCode()).isEqualTo(302);
    assertThat(root.headers().firstValue("Location")).hasValue("/console/");
    HttpResponse<String> index = raw(n, "/console/");
    assertThat(index.statusCode()).isEqualTo(200);
    assertThat(index.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/html");
    assertThat(index.body()).contains("/console/app.js").doesNotContain("http://", "https://");
    HttpResponse<String> app = raw(n, "/console/app.js");
    assertThat(app.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/javascript");
    assertThat(app.body()).contains("/console/vendor/htm-preact-standalone.js");
    assertThat(raw(n, "/console/vendor/htm-preact-standalone.js").statusCode()).isEqualTo(200);
    assertThat(raw(n, "/console/../../etc/passwd").statusCode()).isEqualTo(404);
    assertThat(raw(n, "/console/vendor/README.md").statusCode()).isEqualTo(404);
  }

  private static boolean allVersions(JsonNode cluster, String version) {
    for (JsonNode h : cluster.get("nodeHealth")) {
      if (!h.get("version").asText().equals(version)) {
        return false;
      }
    }
    return true;
  }

  private static void assertStatus(RaftoralNode n, String path, int status, String code) throws Exception {
    HttpResponse<String> r = raw(n, "/api/v1/" + path);
    assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(status);
    JsonNode body = JSON.readTree(r.body());
    assertThat(body.get("error").asText()).isNotBlank();
    if (code != null) {
      assertThat(body.get("code").asText()).isEqualTo(code);
    }
  }

  private static JsonNode get(RaftoralNode n, String path) throws Exception {
    HttpResponse<String> r = raw(n, "/api/v1/" + path);
    assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    return JSON.readTree(r.body());
  }

  private static HttpResponse<String> raw(RaftoralNode n, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://" + n.httpAddress() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** One request written by hand (a client library refuses to send a malformed one); the response's text. */
  private static String rawSocket(RaftoralNode n, String requestLine) throws Exception {
    String[] hostPort = n.httpAddress().split(":");
    try (java.net.Socket s = new java.net.Socket(hostPort[0], Integer.parseInt(hostPort[1]))) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write((requestLine + "\r\nHost: x\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  private static HttpResponse<String> post(RaftoralNode n, String path, String body, boolean consoleHeader) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + n.httpAddress() + "/api/v1/" + path))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    if (consoleHeader) {
      b.header("X-Raftoral-Console", "1");
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
