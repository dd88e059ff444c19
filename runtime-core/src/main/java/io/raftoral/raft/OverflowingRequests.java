package io.raftoral.raft;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.thirdparty.io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import org.apache.ratis.thirdparty.io.grpc.Metadata;
import org.apache.ratis.thirdparty.io.grpc.ServerCall;
import org.apache.ratis.thirdparty.io.grpc.ServerCallHandler;
import org.apache.ratis.thirdparty.io.grpc.ServerInterceptor;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends a call on the Raft port whose request overflows the stack while it is handled, instead of
 * letting the error kill the gRPC thread.
 *
 * <p>Ratis describes a request it refuses with the request's {@code toString()}; protobuf prints
 * an unknown length-delimited field by parsing it as nested fields, recursively and without a
 * depth limit, so a 40 KB request with one unknown field nested 10,000 times overflowed the
 * stack of the thread that handled it (GrpcFuzzTest). The error escaped to Ratis's uncaught
 * exception handler, which logs "Terminating with exit status -1" and exits the process unless
 * system exit is disabled. Handling is synchronous in the listener, so the error unwinds to
 * here: the call ends INVALID_ARGUMENT and the thread lives on.
 */
final class OverflowingRequests implements ServerInterceptor {
  private static final Logger LOG = LoggerFactory.getLogger(OverflowingRequests.class);
  private final AtomicLong refused = new AtomicLong();

  @Override
  public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
    return new SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
      private boolean closed;

      @Override
      public void onMessage(Q message) {
        if (closed) {
          return;
        }
        try {
          super.onMessage(message);
        } catch (StackOverflowError e) {
          closed = true;
          // Logged once per thousand: a peer sending these must not flood the log either.
          if (refused.getAndIncrement() % 1000 == 0) {
            LOG.warn("refused a request to {} from {} nested too deeply to handle ({} so far)",
                call.getMethodDescriptor().getFullMethodName(),
                call.getAttributes().get(org.apache.ratis.thirdparty.io.grpc.Grpc.TRANSPORT_ATTR_REMOTE_ADDR), refused.get());
          }
          call.close(Status.INVALID_ARGUMENT.withDescription("request nested too deeply"), new Metadata());
        }
      }

      @Override
      public void onHalfClose() {
        if (!closed) {
          super.onHalfClose();
        }
      }
    };
  }
}
