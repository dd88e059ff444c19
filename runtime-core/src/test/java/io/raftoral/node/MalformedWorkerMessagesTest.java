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
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A worker stream whose message does not parse ends INVALID_ARGUMENT naming the method, as on
 * the API port; it was UNKNOWN "Application error processing RPC" with a SEVERE stack trace in
 * the node's log per message (GrpcFuzzTest), which anyone reaching the port could repeat.
 */
class MalformedWorkerMessagesTest {
  @Test
  void aWorkerMessageThatDoesNotParseIsInvalidArgument() throws Exception {
    Map<Long, String> a = LocalCluster.freeAddresses(3);
    try (RaftoralNode node = RaftoralNode.builder().nodeId(1).raftAddress(a.get(1L)).apiAddress(a.get(2L))
        .workerAddress(a.get(3L)).electionTimeout(Duration.ofMillis(500)).start()) {
      ManagedChannel channel = NettyChannelBuilder.forTarget(node.workerAddress()).usePlaintext().build();
      try {
        MethodDescriptor<byte[], byte[]> connect = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.BIDI_STREAMING).setFullMethodName("raftoral.worker.v1.WorkerService/Connect")
            .setRequestMarshaller(GrpcFuzzTest.BYTES).setResponseMarshaller(GrpcFuzzTest.BYTES).build();
        CompletableFuture<Status> closed = new CompletableFuture<>();
        ClientCall<byte[], byte[]> call = channel.newCall(connect, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS));
        call.start(new ClientCall.Listener<>() {
          @Override
          public void onClose(Status status, Metadata trailers) {
            closed.complete(status);
          }
        }, new Metadata());
        call.request(1);
        call.sendMessage(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x01, 0x02});
        call.halfClose();
        Status status = closed.get(15, TimeUnit.SECONDS);
        assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(status.getDescription()).contains("WorkerService/Connect");
      } finally {
        channel.shutdownNow();
      }
    }
  }
}
