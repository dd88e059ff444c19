package io.raftoral.client;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;

/**
 * Sends the caller's current OpenTelemetry span as W3C {@code traceparent} (and {@code
 * tracestate}) headers, so that a started workflow's spans join the caller's trace. Nothing is
 * sent when the caller has no span.
 */
final class TraceContextInterceptor implements ClientInterceptor {
  @Override
  public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void start(Listener<A> listener, Metadata headers) {
        W3CTraceContextPropagator.getInstance().inject(Context.current(), headers,
            (carrier, key, value) -> carrier.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), value));
        super.start(listener, headers);
      }
    };
  }
}
