package io.raftoral.review;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.workflow.WorkflowDefinition;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Metrics under concurrency and close (from the break-it review of issue 25; the second test failed on 611884a). */
class MetricsConcurrencyReviewTest {
  private static final Duration WAIT = Duration.ofSeconds(120);
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** Probed behaviour (holds): 200 concurrent starts are counted exactly once in the cluster; scrapes never fail meanwhile. */
  @Test
  void twoHundredConcurrentStartsAreCountedExactlyWhileScrapesRun() throws Exception {
    try (TestCluster cluster = TestCluster.start(3, null, (node, b) -> b.httpAddress("127.0.0.1:0")
        .register(WorkflowDefinition.of("steps", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a", in);
          return ctx.checkpointCompute("b", String.class, () -> in + "!");
        })))) {
      AtomicBoolean running = new AtomicBoolean(true);
      Map<String, Integer> badStatuses = new ConcurrentHashMap<>();
      AtomicInteger negativeRunning = new AtomicInteger();
      List<Thread> scrapers = new ArrayList<>();
      for (long id = 1; id <= 3; id++) {
        RaftoralNode n = cluster.node(id);
        for (String path : new String[] {"/metrics", "/api/v1/cluster", "/api/v1/counts", "/health/ready"}) {
          scrapers.add(Thread.ofPlatform().start(() -> {
            while (running.get()) {
              try {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + n.httpAddress() + path))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                  badStatuses.merge(path + " " + r.statusCode() + " " + r.body(), 1, Integer::sum);
                }
              } catch (Exception e) {
                badStatuses.merge(path + " " + e, 1, Integer::sum);
              }
              Gauge g = n.meters().find("raftoral.workflows.running").gauge();
              if (g != null && g.value() < 0) {
                negativeRunning.incrementAndGet();
              }
            }
          }));
        }
      }
      ExecutorService pool = Executors.newFixedThreadPool(32);
      List<Future<WorkflowHandle<String>>> starts = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        int k = i;
        starts.add(pool.submit(() -> cluster.node(1 + k % 3).start("steps", 1, "in" + k, String.class, "wf-" + k)));
      }
      for (Future<WorkflowHandle<String>> f : starts) {
        f.get().result(WAIT);
      }
      pool.shutdown();
      Thread.sleep(2_000);
      running.set(false);
      for (Thread t : scrapers) {
        t.join();
      }
      double started = 0;
      double completed = 0;
      for (long id = 1; id <= 3; id++) {
        started += cluster.node(id).meters().find("raftoral.workflows.started").counters().stream().mapToDouble(Counter::count).sum();
        completed += cluster.node(id).meters().find("raftoral.workflows.completed").counters().stream().mapToDouble(Counter::count).sum();
      }
      assertThat(badStatuses).isEmpty();
      assertThat(negativeRunning.get()).isZero();
      assertThat(started).isEqualTo(200);
      assertThat(completed).isEqualTo(200);
    }
  }

  /**
   * docs/OPERATIONS.md: "A group this node stops hosting (a merge, a removal) loses its series" (Raft
   * table, which lists raftoral_raft_leader_changes_total and raftoral_raft_snapshot_seconds). Once the
   * node's runtime closed it hosts no group, yet series tagged with a group stay in the node's registry
   * (which outlives runtimes): the per-group counter and timer are registered and never removed.
   */
  @Test
  void aGroupNoLongerHostedLeavesNoSeries() throws Exception {
    TestCluster cluster = TestCluster.start(1, null, (node, b) -> b.httpAddress("127.0.0.1:0").snapshotThreshold(20)
        .register(WorkflowDefinition.of("steps", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a", in);
          return ctx.checkpoint("b", in + "!");
        })));
    RaftoralNode n = cluster.node(1);
    for (int i = 0; i < 30; i++) {
      n.start("steps", 1, "x", String.class, "g-" + i).result(WAIT);
    }
    io.micrometer.core.instrument.MeterRegistry meters = n.meters();
    assertThat(meters.find("raftoral.raft.commit.index").gauges()).isNotEmpty();
    cluster.close();
    List<String> left = meters.getMeters().stream().filter(m -> m.getId().getTag("group") != null)
        .map(m -> m.getId().getName() + m.getId().getTags()).toList();
    assertThat(left).as("series of groups no longer hosted").isEmpty();
  }
}
