package io.raftoral.client;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.raftoral.common.Errors;

/** Sends {@code authorization: Bearer TOKEN} with every call: how a node with authTokens knows the caller. */
final class BearerTokenInterceptor implements ClientInterceptor {
  private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final String header;

  /** @throws Errors.InvalidArgumentException for a blank token or one that cannot be a header value */
  BearerTokenInterceptor(String token) {
    if (token == null || token.isBlank()) {
      throw new Errors.InvalidArgumentException("token must not be blank");
    }
    String t = token.strip();
    if (!t.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw new Errors.InvalidArgumentException("token must be printable ASCII without spaces (as raftoral token create prints it)");
    }
    this.header = "Bearer " + t;
  }

  @Override
  public <Q, A> ClientCall<Q, A> interceptCall(MethodDescriptor<Q, A> method, CallOptions options, Channel next) {
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void start(Listener<A> listener, Metadata headers) {
        headers.put(AUTHORIZATION, header);
        super.start(listener, headers);
      }
    };
  }
}
