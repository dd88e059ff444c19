package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.RaftoralNode;
import io.raftoral.workflow.WorkflowDefinition;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/grafana-dashboard.json queries only metrics a node serves: a node that ran workflows of
 * every outcome and took a snapshot is scraped, and each metric family the dashboard names must
 * be in it.
 */
class GrafanaDashboardTest {
  private static final Pattern METRIC = Pattern.compile("\\b((?:raftoral|jvm)_[a-z0-9_]+)");
  private static final Pattern FAMILY = Pattern.compile("^# TYPE (\\S+) ", Pattern.MULTILINE);

  @Test
  void everyMetricTheDashboardQueriesIsServed(@TempDir Path data) throws Exception {
    String dashboard = Files.readString(Path.of("..", "docs", "grafana-dashboard.json"));
    Set<String> queried = new TreeSet<>();
    Matcher m = METRIC.matcher(dashboard);
    while (m.find()) {
      queried.add(m.group(1));
    }
    assertThat(queried).contains("raftoral_workflows_started_total", "raftoral_checkpoint_commit_seconds_bucket");

    try (TestCluster cluster = TestCluster.start(1, data, (node, b) -> b.httpAddress("127.0.0.1:0").snapshotThreshold(5)
        .register(WorkflowDefinition.of("steps", 1, Integer.class, Integer.class, (ctx, n) -> {
          for (int i = 0; i < n; i++) {
            ctx.checkpoint("k", i);
          }
          if (n < 0) {
            throw new IllegalArgumentException("negative");
          }
          while (n == 0 && !ctx.isTerminated()) {
            Thread.sleep(10);
          }
          return n;
        })))) {
      RaftoralNode n = cluster.node(1);
      n.start("steps", 1, 10, Integer.class).result(Duration.ofSeconds(60));
      try {
        n.start("steps", 1, -1, Integer.class).result(Duration.ofSeconds(60));
      } catch (RuntimeException expected) {
        // failed on purpose
      }
      String held = n.start("steps", 1, 0, Integer.class).workflowId();
      n.terminate(held, "done");
      Set<String> served = new TreeSet<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (!served.containsAll(families(queried)) && System.nanoTime() < deadline) {
        served.clear();
        Matcher f = FAMILY.matcher(scrape(n));
        while (f.find()) {
          served.add(f.group(1));
        }
        Thread.sleep(100);
      }
      assertThat(served).containsAll(families(queried));
    }
  }

  /** The families of the queried series: a histogram's _bucket, _sum and _count belong to its family. */
  private static Set<String> families(Set<String> series) {
    Set<String> out = new TreeSet<>();
    for (String s : series) {
      out.add(s.replaceAll("_(bucket|sum|count)$", ""));
    }
    return out;
  }

  private static String scrape(RaftoralNode n) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://" + n.httpAddress() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }
}
