package io.raftoral.runtime;

import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.raftoral.state.WorkflowEntry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The node's tracing (docs/OPERATIONS.md, "Tracing"): OpenTelemetry spans of the workflow runs
 * this node executes as owner, in the trace of whoever started the workflow. A start records the
 * caller's W3C {@code traceparent} with the workflow (replicated), so the run's spans join that
 * trace on whichever node runs it, also after a failover.
 */
public final class NodeTracing implements AutoCloseable {
  static final String SCOPE = "io.raftoral";
  private static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();
  private static final TextMapGetter<String> TRACEPARENT = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(String carrier) {
      return List.of("traceparent");
    }

    @Override
    public String get(String carrier, String key) {
      return key.equals("traceparent") ? carrier : null;
    }
  };

  private final Tracer tracer;
  private final OpenTelemetrySdk owned;

  private NodeTracing(OpenTelemetry openTelemetry, OpenTelemetrySdk owned) {
    this.tracer = openTelemetry.getTracer(SCOPE);
    this.owned = owned;
  }

  /** Spans through {@code openTelemetry} (the application's); closing this leaves it open. */
  public static NodeTracing with(OpenTelemetry openTelemetry) {
    return new NodeTracing(openTelemetry, null);
  }

  /** No spans. */
  public static NodeTracing none() {
    return with(OpenTelemetry.noop());
  }

  /**
   * From the environment: with {@code OTEL_EXPORTER_OTLP_ENDPOINT} set, an SDK configured by
   * OpenTelemetry's own variables ({@code OTEL_SERVICE_NAME}, default "raftoral";
   * {@code OTEL_EXPORTER_OTLP_PROTOCOL} may only be "http/protobuf", the default; ...) that exports
   * spans over OTLP and is shut down with
   * the node; otherwise the process's global OpenTelemetry (a no-op unless the application set one).
   */
  public static NodeTracing fromEnvironment() {
    String endpoint = System.getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    if (endpoint == null || endpoint.isBlank()) {
      return with(GlobalOpenTelemetry.get());
    }
    for (String variable : List.of("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")) {
      String protocol = System.getenv(variable);
      if (protocol != null && !protocol.isBlank() && !protocol.strip().equals("http/protobuf")) {
        // The gRPC sender needs OkHttp or another gRPC stack: not shipped, so say so plainly.
        throw new io.raftoral.common.Errors.InvalidArgumentException(variable + "=" + protocol + " is not supported: a node "
            + "exports spans over OTLP http/protobuf (the default; collectors serve it on port 4318)");
      }
    }
    OpenTelemetrySdk sdk = AutoConfiguredOpenTelemetrySdk.builder()
        // Defaults the environment overrides: spans only (metrics are /metrics, logs stay logs).
        .addPropertiesSupplier(() -> Map.of("otel.service.name", "raftoral", "otel.metrics.exporter", "none",
            "otel.logs.exporter", "none", "otel.exporter.otlp.protocol", "http/protobuf"))
        .disableShutdownHook()
        .build().getOpenTelemetrySdk();
    return new NodeTracing(sdk, sdk);
  }

  /** The {@code traceparent} of the caller's current span (the context of this thread), or "" when it has none. */
  public static String currentTraceParent() {
    Map<String, String> carrier = new HashMap<>();
    W3C.inject(Context.current(), carrier, Map::put);
    return carrier.getOrDefault("traceparent", "");
  }

  /** Whether {@code traceParent} is a W3C traceparent (empty counts: none); a malformed one is dropped at the edge. */
  public static String validTraceParentOrEmpty(String traceParent) {
    if (traceParent == null || traceParent.isEmpty() || traceParent.length() > 128) {
      return "";
    }
    Context c = W3C.extract(Context.root(), traceParent, TRACEPARENT);
    return io.opentelemetry.api.trace.Span.fromContext(c).getSpanContext().isValid() ? traceParent : "";
  }

  /** The spans of one run on node {@code node}. */
  RunTrace run(WorkflowEntry entry, long node) {
    Context parent = entry.traceParent().isEmpty() ? Context.root() : W3C.extract(Context.root(), entry.traceParent(), TRACEPARENT);
    return new RunTrace(tracer, parent, entry, node);
  }

  @Override
  public void close() {
    if (owned != null) {
      owned.close(); // flushes the spans not yet exported
    }
  }
}
