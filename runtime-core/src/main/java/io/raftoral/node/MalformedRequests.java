package io.raftoral.node;

import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.SecurityLevel;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.raftoral.common.Errors;
import java.io.InputStream;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers a request that does not parse as its protobuf type with {@code INVALID_ARGUMENT}
 * (client_api.proto, with its error detail) and a short reason.
 *
 * <p>grpc-java (1.85) lets the marshaller's exception escape from the call's listener: the
 * client gets {@code UNKNOWN "Application error processing RPC"} and the node's log a SEVERE
 * stack trace for every such request, which anyone who reaches the port can repeat to flood the
 * log. Here each method's request marshaller never throws: it returns the parse failure as a
 * value, and the call is closed with that status before the service sees anything. The
 * response side and the services themselves are unchanged.
 */
public final class MalformedRequests {
  private static final Logger LOG = LoggerFactory.getLogger(MalformedRequests.class);
  /** A parser's reason can be long (protobuf explains truncation in two sentences); enough to act on. */
  private static final int MAX_REASON_CHARS = 160;

  private MalformedRequests() {}

  /** {@code service} with every method's request parsing guarded as above. */
  public static ServerServiceDefinition guard(ServerServiceDefinition service) {
    ServiceDescriptor original = service.getServiceDescriptor();
    List<ServerMethodDefinition<?, ?>> methods = service.getMethods().stream()
        .<ServerMethodDefinition<?, ?>>map(MalformedRequests::guard).toList();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
        .setSchemaDescriptor(original.getSchemaDescriptor());
    methods.forEach(m -> descriptor.addMethod(m.getMethodDescriptor()));
    ServerServiceDefinition.Builder guarded = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(guarded::addMethod);
    return guarded.build();
  }

  private static <Q, R> ServerMethodDefinition<Parsed<Q>, R> guard(ServerMethodDefinition<Q, R> definition) {
    MethodDescriptor<Q, R> method = definition.getMethodDescriptor();
    MethodDescriptor<Parsed<Q>, R> guarded = method.toBuilder(new GuardedMarshaller<>(method), method.getResponseMarshaller())
        .build();
    ServerCallHandler<Q, R> handler = definition.getServerCallHandler();
    return ServerMethodDefinition.create(guarded, (call, headers) -> new GuardedListener<>(call, handler, headers, method));
  }

  /** A request as parsed: the message, or why it is not one. */
  record Parsed<Q>(Q message, String failure) {}

  private static final class GuardedMarshaller<Q> implements MethodDescriptor.Marshaller<Parsed<Q>> {
    private final MethodDescriptor<Q, ?> method;

    GuardedMarshaller(MethodDescriptor<Q, ?> method) {
      this.method = method;
    }

    @Override
    public InputStream stream(Parsed<Q> value) {
      return method.streamRequest(value.message());
    }

    @Override
    public Parsed<Q> parse(InputStream stream) {
      try {
        return new Parsed<>(method.parseRequest(stream), null);
      } catch (RuntimeException e) {
        return new Parsed<>(null, reason(e));
      }
    }

    /** The innermost message: protobuf's own reason, not gRPC's "Invalid protobuf byte sequence". */
    private static String reason(Throwable e) {
      String reason = null;
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t.getMessage() != null && !t.getMessage().isBlank()) {
          reason = t.getMessage();
        }
      }
      reason = reason == null ? e.getClass().getSimpleName() : reason.strip();
      return reason.length() <= MAX_REASON_CHARS ? reason : reason.substring(0, MAX_REASON_CHARS) + "...";
    }
  }

  /**
   * Hands a parsed request to the service's own listener, or closes the call on a malformed one
   * and then ignores the rest of the call's events (the service never saw a request).
   */
  private static final class GuardedListener<Q, R> extends ServerCall.Listener<Parsed<Q>> {
    private final ServerCall<Parsed<Q>, R> call;
    private final ServerCall.Listener<Q> delegate;
    private boolean rejected; // the call's events are serialized: no synchronization needed

    GuardedListener(ServerCall<Parsed<Q>, R> call, ServerCallHandler<Q, R> handler, Metadata headers, MethodDescriptor<Q, R> method) {
      this.call = call;
      this.delegate = handler.startCall(new UnwrappedCall<>(call, method), headers);
    }

    @Override
    public void onMessage(Parsed<Q> request) {
      if (rejected) {
        return;
      }
      if (request.failure() != null) {
        rejected = true;
        String method = call.getMethodDescriptor().getFullMethodName();
        LOG.debug("malformed request to {} refused: {}", method, request.failure());
        StatusRuntimeException refusal = ApiStatuses.toStatus(new Errors.InvalidArgumentException("malformed request to "
            + method + ": " + request.failure()));
        call.close(refusal.getStatus(), refusal.getTrailers());
        return;
      }
      delegate.onMessage(request.message());
    }

    @Override
    public void onHalfClose() {
      if (!rejected) {
        delegate.onHalfClose();
      }
    }

    @Override
    public void onCancel() {
      delegate.onCancel();
    }

    @Override
    public void onComplete() {
      delegate.onComplete();
    }

    @Override
    public void onReady() {
      if (!rejected) {
        delegate.onReady();
      }
    }
  }

  /** The call as the service's handler expects it: its own method descriptor, responses passed through. */
  private static final class UnwrappedCall<Q, R> extends ServerCall<Q, R> {
    private final ServerCall<Parsed<Q>, R> call;
    private final MethodDescriptor<Q, R> method;

    UnwrappedCall(ServerCall<Parsed<Q>, R> call, MethodDescriptor<Q, R> method) {
      this.call = call;
      this.method = method;
    }

    @Override
    public void request(int numMessages) {
      call.request(numMessages);
    }

    @Override
    public void sendHeaders(Metadata headers) {
      call.sendHeaders(headers);
    }

    @Override
    public void sendMessage(R message) {
      call.sendMessage(message);
    }

    @Override
    public boolean isReady() {
      return call.isReady();
    }

    @Override
    public void close(Status status, Metadata trailers) {
      call.close(status, trailers);
    }

    @Override
    public boolean isCancelled() {
      return call.isCancelled();
    }

    @Override
    public void setMessageCompression(boolean enabled) {
      call.setMessageCompression(enabled);
    }

    @Override
    public void setCompression(String compressor) {
      call.setCompression(compressor);
    }

    @Override
    public void setOnReadyThreshold(int numBytes) {
      call.setOnReadyThreshold(numBytes);
    }

    @Override
    public SecurityLevel getSecurityLevel() {
      return call.getSecurityLevel();
    }

    @Override
    public Attributes getAttributes() {
      return call.getAttributes();
    }

    @Override
    public String getAuthority() {
      return call.getAuthority();
    }

    @Override
    public MethodDescriptor<Q, R> getMethodDescriptor() {
      return method;
    }
  }
}
