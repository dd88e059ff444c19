package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.raftoral.api.RaftoralNode;
import io.raftoral.client.RaftoralClient;
import io.raftoral.workflow.WorkflowDefinition;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Tracing (docs/OPERATIONS.md, "Tracing"), read back from an in-memory exporter: a workflow
 * started under a caller's span, through the gRPC client or the embedded API, runs in that trace:
 * its run span (on the owner) is a child of the caller's span, each step it decides a child of
 * the run span, with the workflow's id, type, version, key, seq and node; after the ownership
 * moves, the new owner's run span joins the same trace; a failed run's span says so.
 */
class TracingTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final InMemorySpanExporter SPANS = InMemorySpanExporter.create();
  private static final List<OpenTelemetrySdk> SDKS = new ArrayList<>();
  private static final Map<String, CountDownLatch> GATES = new ConcurrentHashMap<>();
  private static Tracer caller;
  private static TestCluster cluster;

  private static OpenTelemetrySdk sdk() {
    OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
        .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(SPANS)).build()).build();
    SDKS.add(sdk);
    return sdk;
  }

  @BeforeAll
  static void start() {
    caller = sdk().getTracer("test-caller");
    cluster = TestCluster.start(3, null, (node, b) -> b.openTelemetry(sdk()).apiAddress("127.0.0.1:0")
        .register(WorkflowDefinition.of("two_steps", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("first", in);
          return ctx.checkpointCompute("second", String.class, () -> in + "!");
        }))
        .register(WorkflowDefinition.of("gated", 2, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("before", in);
          GATES.get(ctx.workflowId()).await();
          return ctx.checkpoint("after", in);
        }))
        .register(WorkflowDefinition.of("broken", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("only", in);
          throw new IllegalStateException("broken on purpose");
        })));
  }

  @AfterAll
  static void stop() {
    cluster.close();
    SDKS.forEach(OpenTelemetrySdk::close);
  }

  @Test
  void aStartThroughTheGrpcClientCarriesTheCallersTraceIntoTheRunAndItsSteps() throws Exception {
    Span parent = caller.spanBuilder("order service: place order").startSpan();
    String id = "traced-grpc";
    try (Scope ignored = parent.makeCurrent(); RaftoralClient client = RaftoralClient.connect(cluster.node(2).apiAddress())) {
      client.start("two_steps", 1, "\"a\"".getBytes(StandardCharsets.UTF_8), id);
    } finally {
      parent.end();
    }
    assertThat(cluster.node(1).handle(id, String.class).result(WAIT)).isEqualTo("a!");

    SpanData run = awaitSpan(s -> s.getName().equals("workflow two_steps") && id.equals(attr(s, "raftoral.workflow.id")));
    assertThat(run.getTraceId()).isEqualTo(parent.getSpanContext().getTraceId());
    assertThat(run.getParentSpanId()).isEqualTo(parent.getSpanContext().getSpanId());
    assertThat(attr(run, "raftoral.workflow.type")).isEqualTo("two_steps");
    assertThat(run.getAttributes().get(AttributeKey.longKey("raftoral.workflow.version"))).isEqualTo(1L);
    long owner = cluster.node(1).describe(id).ownerNode();
    assertThat(run.getAttributes().get(AttributeKey.longKey("raftoral.node"))).isEqualTo(owner);
    assertThat(attr(run, "raftoral.run.outcome")).isEqualTo("completed");

    SpanData first = awaitSpan(s -> s.getName().equals("checkpoint first") && id.equals(attr(s, "raftoral.workflow.id")));
    SpanData second = awaitSpan(s -> s.getName().equals("compute second") && id.equals(attr(s, "raftoral.workflow.id")));
    for (SpanData step : List.of(first, second)) {
      assertThat(step.getParentSpanId()).isEqualTo(run.getSpanId());
      assertThat(step.getTraceId()).isEqualTo(run.getTraceId());
      assertThat(step.getAttributes().get(AttributeKey.longKey("raftoral.checkpoint.seq"))).isZero();
      assertThat(step.getAttributes().get(AttributeKey.longKey("raftoral.node"))).isEqualTo(owner);
    }
    assertThat(attr(second, "raftoral.checkpoint.key")).isEqualTo("second");
    // Only the owner makes spans: the replicas that replayed the committed values made none.
    assertThat(spansOf(id, "workflow two_steps")).hasSize(1);
    assertThat(spansOf(id, "checkpoint first")).hasSize(1);
  }

  @Test
  void anEmbeddedStartUnderASpanRunsInItsTrace() {
    Span parent = caller.spanBuilder("embedded caller").startSpan();
    String id = "traced-embedded";
    try (Scope ignored = parent.makeCurrent()) {
      assertThat(cluster.node(3).start("two_steps", 1, "b", String.class, id).result(WAIT)).isEqualTo("b!");
    } finally {
      parent.end();
    }
    SpanData run = awaitSpan(s -> s.getName().equals("workflow two_steps") && id.equals(attr(s, "raftoral.workflow.id")));
    assertThat(run.getParentSpanId()).isEqualTo(parent.getSpanContext().getSpanId());
  }

  @Test
  void withoutACallerSpanTheRunStartsItsOwnTraceAndAFailureIsMarked() {
    String id = "traced-broken";
    assertThatThrownBy(() -> cluster.node(1).start("broken", 1, "x", String.class, id).result(WAIT))
        .hasMessageContaining("broken on purpose");
    SpanData run = awaitSpan(s -> s.getName().equals("workflow broken") && id.equals(attr(s, "raftoral.workflow.id")));
    assertThat(run.getParentSpanContext().isValid()).isFalse();
    assertThat(run.getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(run.getEvents()).anySatisfy(e -> assertThat(e.getName()).isEqualTo("exception"));
    assertThat(attr(run, "raftoral.run.outcome")).isEqualTo("failed");
  }

  @Test
  void afterTheOwnershipMovesTheNewOwnersRunJoinsTheSameTrace() throws Exception {
    String id = "traced-moved";
    GATES.put(id, new CountDownLatch(1));
    Span parent = caller.spanBuilder("caller of a moving workflow").startSpan();
    try (Scope ignored = parent.makeCurrent()) {
      cluster.node(1).start("gated", 2, "m", String.class, id);
    } finally {
      parent.end();
    }
    SpanData before = awaitSpan(s -> s.getName().equals("checkpoint before") && id.equals(attr(s, "raftoral.workflow.id")));
    long firstOwner = before.getAttributes().get(AttributeKey.longKey("raftoral.node"));
    long next = firstOwner % 3 + 1;
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!cluster.node(next).inspector().ownsGroupOf(id)) {
      cluster.node(next).inspector().transferLeadership(id, next, Duration.ofSeconds(5));
      assertThat(System.nanoTime()).as("node " + next + " owns " + id).isLessThan(deadline);
      Thread.sleep(50);
    }
    GATES.get(id).countDown();
    assertThat(cluster.node(next).handle(id, String.class).result(WAIT)).isEqualTo("m");

    SpanData after = awaitSpan(s -> s.getName().equals("checkpoint after") && id.equals(attr(s, "raftoral.workflow.id")));
    assertThat(after.getAttributes().get(AttributeKey.longKey("raftoral.node"))).isEqualTo(next);
    // The first owner's run ends once it has replayed the rest (it is a standby now).
    awaitSpan(s -> s.getName().equals("workflow gated") && id.equals(attr(s, "raftoral.workflow.id"))
        && s.getAttributes().get(AttributeKey.longKey("raftoral.node")) == firstOwner);
    List<SpanData> runs = spansOf(id, "workflow gated");
    assertThat(runs).extracting(s -> s.getAttributes().get(AttributeKey.longKey("raftoral.node"))).contains(firstOwner, next);
    assertThat(runs).allSatisfy(r -> {
      assertThat(r.getTraceId()).isEqualTo(parent.getSpanContext().getTraceId());
      assertThat(r.getParentSpanId()).isEqualTo(parent.getSpanContext().getSpanId());
    });
    SpanData newRun = runs.stream().filter(r -> r.getAttributes().get(AttributeKey.longKey("raftoral.node")) == next).findFirst()
        .orElseThrow();
    assertThat(after.getParentSpanId()).isEqualTo(newRun.getSpanId());
  }

  private static String attr(SpanData s, String key) {
    return s.getAttributes().get(AttributeKey.stringKey(key));
  }

  private static List<SpanData> spansOf(String workflowId, String name) {
    return SPANS.getFinishedSpanItems().stream()
        .filter(s -> s.getName().equals(name) && workflowId.equals(attr(s, "raftoral.workflow.id"))).toList();
  }

  private static SpanData awaitSpan(Predicate<SpanData> which) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      for (SpanData s : SPANS.getFinishedSpanItems()) {
        if (which.test(s)) {
          return s;
        }
      }
      assertThat(System.nanoTime()).as("the span arrives").isLessThan(deadline);
      try {
        TimeUnit.MILLISECONDS.sleep(20);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
  }
}
