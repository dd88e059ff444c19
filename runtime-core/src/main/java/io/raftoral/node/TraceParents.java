package io.raftoral.node;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Carries a call's W3C {@code traceparent} header (as OpenTelemetry's gRPC instrumentation sends
 * it, in any language) to the service, so that a start records it with the workflow.
 */
final class TraceParents implements ServerInterceptor {
  private static final Metadata.Key<String> HEADER = Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);
  private static final Context.Key<String> CURRENT = Context.key("raftoral-traceparent");

  /** The current call's traceparent, "" when it sent none. */
  static String current() {
    String value = CURRENT.get();
    return value == null ? "" : value;
  }

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    String value = headers.get(HEADER);
    if (value == null) {
      return next.startCall(call, headers);
    }
    return Contexts.interceptCall(Context.current().withValue(CURRENT, value), call, headers, next);
  }
}
