package io.raftoral.worker;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftoral.proto.worker.NodeMessage;
import io.raftoral.proto.worker.WorkerMessage;
import io.raftoral.proto.worker.WorkerServiceGrpc;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A worker stream whose reader stops: it asks gRPC for only the first {@code reads} messages of
 * the node and never for more, so the node's messages pile up behind HTTP/2 flow control, as
 * behind a worker process whose reading thread hung. It may go on sending.
 */
final class NonReadingWorker implements AutoCloseable {
  final List<NodeMessage> received = new CopyOnWriteArrayList<>();
  final CompletableFuture<Status> closed = new CompletableFuture<>();
  private final ManagedChannel channel;
  private final ClientCall<WorkerMessage, NodeMessage> call;

  NonReadingWorker(String target, int reads) {
    channel = NettyChannelBuilder.forTarget(target).usePlaintext().build();
    call = channel.newCall(WorkerServiceGrpc.getConnectMethod(), CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(NodeMessage message) {
        received.add(message);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.request(reads);
  }

  synchronized void send(WorkerMessage m) {
    call.sendMessage(m);
  }

  @Override
  public void close() {
    try {
      call.cancel("test over", null);
    } catch (RuntimeException e) {
      // already closed
    }
    channel.shutdownNow();
  }
}
