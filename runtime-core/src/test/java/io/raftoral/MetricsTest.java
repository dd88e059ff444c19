package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.config.NodeOptions;
import io.raftoral.workflow.WorkflowDefinition;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node's HTTP port (docs/OPERATIONS.md): {@code /metrics} in Prometheus's text format, scraped
 * as a Prometheus server would, with counters that move as workflows start, complete, fail and
 * are terminated (each counted once in the cluster, where it was proposed); Raft, storage
 * and JVM gauges; and the health endpoints.
 */
class MetricsTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final CountDownLatch IN_WAITER = new CountDownLatch(1);
  @TempDir
  static Path data;
  private static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = TestCluster.start(3, data, (node, b) -> b.httpAddress("127.0.0.1:0")
        .register(WorkflowDefinition.of("two_steps", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("first", in);
          return ctx.checkpoint("second", in + "!");
        }))
        .register(WorkflowDefinition.of("fails", 2, String.class, String.class, (ctx, in) -> {
          throw new IllegalStateException("no");
        }))
        .register(UntilTerminated.type("waiter", 1, IN_WAITER)));
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  void workflowCountersMoveOnceInTheClusterAsWorkflowsRun() throws Exception {
    Map<String, Double> before = clusterSum();
    RaftoralNode n = cluster.node(2);
    for (String in : new String[] {"a", "b"}) {
      assertThat(n.start("two_steps", 1, in, String.class).result(WAIT)).isEqualTo(in + "!");
    }
    WorkflowHandle<String> failing = n.start("fails", 2, "x", String.class);
    assertThatThrownBy(() -> failing.result(WAIT)).hasMessageContaining("no");
    WorkflowHandle<String> waiting = n.start("waiter", 1, "w", String.class);
    assertThat(IN_WAITER.await(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    assertThat(delta(before, clusterSum(), "raftoral_workflows_running")).isEqualTo(1);

    assertThat(n.terminate(waiting.workflowId(), "enough").status()).isEqualTo(WorkflowStatus.TERMINATED);

    // An end is counted where it was proposed once its answer arrives, maybe a moment after the result.
    Map<String, Double> expected = Map.of(
        "raftoral_workflows_started_total{type=\"two_steps\",version=\"1\"}", 2.0,
        "raftoral_workflows_completed_total{type=\"two_steps\",version=\"1\"}", 2.0,
        "raftoral_workflows_started_total{type=\"fails\",version=\"2\"}", 1.0,
        "raftoral_workflows_failed_total{type=\"fails\",version=\"2\"}", 1.0,
        "raftoral_workflows_started_total{type=\"waiter\",version=\"1\"}", 1.0,
        "raftoral_workflows_terminated_total{type=\"waiter\",version=\"1\"}", 1.0,
        "raftoral_workflows_completed_total{type=\"waiter\",version=\"1\"}", 0.0,
        "raftoral_workflows_running", 0.0,
        // Two checkpoints per two_steps run and one of the waiter: five commits, timed where proposed.
        "raftoral_checkpoint_commit_seconds_count{outcome=\"committed\"}", 5.0);
    Map<String, Double> after = eventually(now -> expected.entrySet().stream()
        .allMatch(e -> delta(before, now, e.getKey()) == e.getValue()));
    expected.forEach((series, value) -> assertThat(delta(before, after, series)).as(series).isEqualTo(value));
    assertThat(after.get("raftoral_proposer_batch_commands_count")).isPositive();
  }

  @Test
  void raftStorageAndJvmGaugesDescribeEachNode() throws Exception {
    int leadersOfManagement = 0;
    for (RaftoralNode n : cluster.nodes) {
      Map<String, Double> m = scrape(n);
      String management = find(m, "raftoral_raft_leader\\{group=\"[^\"]+\",role=\"management\"}");
      leadersOfManagement += m.get(management).intValue();
      String commit = find(m, "raftoral_raft_commit_index\\{group=\"[^\"]+\",role=\"execution\"}");
      assertThat(m.get(commit)).as(commit).isPositive();
      assertThat(m.get(commit.replace("commit_index", "applied_index"))).isPositive();
      assertThat(m.get(commit.replace("commit_index", "term"))).isPositive();
      assertThat(m.get("raftoral_storage_state_bytes")).isPositive();
      assertThat(m.get("raftoral_storage_raft_bytes")).isPositive();
      assertThat(find(m, "jvm_memory_used_bytes\\{area=\"heap\".*")).isNotNull();
      assertThat(m).containsKey("jvm_threads_live_threads");
    }
    assertThat(leadersOfManagement).isEqualTo(1);
  }

  @Test
  void healthSaysTheNodeServesAndOtherRequestsGetTypedErrors() throws Exception {
    RaftoralNode n = cluster.node(1);
    HttpResponse<String> live = get(n, "/health/live");
    assertThat(live.statusCode()).isEqualTo(200);
    assertThat(live.body()).contains("\"status\":\"UP\"");
    HttpResponse<String> ready = get(n, "/health/ready");
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(ready.body()).contains("\"status\":\"UP\"").contains("\"node\":1");

    HttpResponse<String> missing = get(n, "/nope");
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(missing.body()).contains("/metrics");
    HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(uri(n, "/metrics")).POST(HttpRequest.BodyPublishers.ofString("x"))
        .build(), HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
    HttpResponse<String> openMetrics = HTTP.send(HttpRequest.newBuilder(uri(n, "/metrics"))
        .header("Accept", "application/openmetrics-text; version=1.0.0").build(), HttpResponse.BodyHandlers.ofString());
    assertThat(openMetrics.headers().firstValue("Content-Type").orElseThrow()).startsWith("application/openmetrics-text");
    assertThat(openMetrics.body()).endsWith("# EOF\n");
    // The node still serves after all of it.
    assertThat(get(n, "/health/ready").statusCode()).isEqualTo(200);
  }

  @Test
  void aBadHttpAddressIsRefusedNamingTheOption() {
    assertThatThrownBy(() -> NodeOptions.builder().httpAddress("localhost").build())
        .hasMessageContaining("httpAddress").hasMessageContaining("host:port");
  }

  // ---- scraping ----

  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\\{[^}]*})?) (\\S+)$");

  /** Every sample of the node's /metrics, by name with its labels as printed. */
  static Map<String, Double> scrape(RaftoralNode n) throws Exception {
    HttpResponse<String> r = get(n, "/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/plain; version=0.0.4");
    Map<String, Double> samples = new HashMap<>();
    for (String line : r.body().split("\n")) {
      Matcher m = SAMPLE.matcher(line);
      if (!line.startsWith("#") && m.matches()) {
        samples.put(m.group(1), Double.parseDouble(m.group(2)));
      }
    }
    return samples;
  }

  /** The samples of every node, added up (series a node lacks count 0). */
  private static Map<String, Double> clusterSum() throws Exception {
    Map<String, Double> sum = new HashMap<>();
    for (RaftoralNode n : cluster.nodes) {
      scrape(n).forEach((k, v) -> sum.merge(k, v, Double::sum));
    }
    return sum;
  }

  private static double delta(Map<String, Double> before, Map<String, Double> after, String series) {
    return after.getOrDefault(series, 0.0) - before.getOrDefault(series, 0.0);
  }

  private static Map<String, Double> eventually(java.util.function.Predicate<Map<String, Double>> done) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      Map<String, Double> now = clusterSum();
      if (done.test(now) || System.nanoTime() > deadline) {
        return now;
      }
      Thread.sleep(50);
    }
  }

  private static String find(Map<String, Double> samples, String regex) {
    return samples.keySet().stream().filter(k -> k.matches(regex)).findFirst()
        .orElseThrow(() -> new AssertionError("no series matches " + regex + " in " + samples.keySet()));
  }

  private static URI uri(RaftoralNode n, String path) {
    return URI.create("http://" + n.httpAddress() + path);
  }

  private static HttpResponse<String> get(RaftoralNode n, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri(n, path)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
