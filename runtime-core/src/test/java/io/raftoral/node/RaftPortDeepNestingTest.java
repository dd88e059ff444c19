package io.raftoral.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Found by {@link GrpcFuzzTest}: one request on the Raft port kills a thread of Ratis's gRPC
 * executor with a StackOverflowError.
 *
 * <p>The request is a well-formed {@code ratis.common.RaftClientRequestProto} (so it parses) that
 * carries one unknown length-delimited field (number 100) whose bytes are that same field nested
 * 10,000 times (about 40 KB). Ratis rejects the request (it has no request type: "Unexpected
 * request type: TYPE_NOT_SET in request proto ...") and builds the error's text from the
 * request's {@code toString()}; protobuf's {@code TextFormat} prints an
 * unknown length-delimited field by parsing it as a nested unknown field set, recursively and
 * without a depth limit, and overflows the stack. The error escapes to the thread's uncaught
 * exception handler, which Ratis installs as the JVM default ({@code ExitUtils}): it logs
 * "Terminating with exit status -1 ... has thrown an uncaught exception" and calls
 * {@code System.exit(-1)} unless system exit was disabled (RaftHost disables it, so today the
 * node survives with a dead executor thread, the ERROR log and Ratis's "terminated" flag set;
 * a process that had not disabled it would exit). The caller gets UNKNOWN.
 * Fails with: uncaught StackOverflowError on grpc-default-executor-N.
 */
class RaftPortDeepNestingTest {
  @Test
  void aDeeplyNestedUnknownFieldOnTheRaftPortKillsNoThread() throws Exception {
    Map<Long, String> a = LocalCluster.freeAddresses(2);
    try (RaftoralNode node = RaftoralNode.builder().nodeId(1).raftAddress(a.get(1L)).apiAddress(a.get(2L))
        .electionTimeout(Duration.ofMillis(500)).start()) {
      List<Throwable> uncaught = Collections.synchronizedList(new ArrayList<>());
      Thread.UncaughtExceptionHandler ratis = Thread.getDefaultUncaughtExceptionHandler(); // Ratis's ExitUtils handler
      Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
        uncaught.add(e);
        if (ratis != null) {
          ratis.uncaughtException(t, e);
        }
      });
      ManagedChannel channel = NettyChannelBuilder.forTarget(a.get(1L)).usePlaintext().maxInboundMetadataSize(1 << 20).build();
      try {
        MethodDescriptor<byte[], byte[]> unordered = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.BIDI_STREAMING).setFullMethodName("ratis.grpc.RaftClientProtocolService/unordered")
            .setRequestMarshaller(GrpcFuzzTest.BYTES).setResponseMarshaller(GrpcFuzzTest.BYTES).build();
        CompletableFuture<Status> closed = new CompletableFuture<>();
        ClientCall<byte[], byte[]> call = channel.newCall(unordered, CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS));
        call.start(new ClientCall.Listener<>() {
          @Override
          public void onClose(Status status, Metadata trailers) {
            closed.complete(status);
          }
        }, new Metadata());
        call.request(1);
        call.sendMessage(GrpcFuzzTest.deepLengthDelimited(10_000, 100));
        call.halfClose();
        closed.get(15, TimeUnit.SECONDS);
        Thread.sleep(500);
        assertThat(uncaught).as("uncaught exceptions on the node's threads").isEmpty();
      } finally {
        channel.shutdownNow();
        Thread.setDefaultUncaughtExceptionHandler(ratis);
      }
    }
  }
}
