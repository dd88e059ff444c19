package io.raftoral.node;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftoral.api.Errors;
import io.raftoral.api.RaftoralException;
import io.raftoral.client.GrpcErrors;
import io.raftoral.proto.client.JoinReply;
import io.raftoral.proto.client.JoinRequest;
import io.raftoral.proto.client.NodeServiceGrpc;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The joining side of {@code NodeService.Join}: asks the seeds, in turn, to register this node,
 * until one answers or the time is up.
 */
public final class Joiner {
  private static final Duration PER_CALL = Duration.ofSeconds(5);

  private Joiner() {}

  /**
   * @param nodeId 0 for a new node; a restarted node's own id, so a cluster that removed it
   *     while it was down re-admits it under that id
   */
  public static JoinReply join(List<String> seeds, String clusterId, String raftAddress, String apiAddress, long nodeId,
      Duration patience) {
    JoinRequest request = JoinRequest.newBuilder().setClusterId(clusterId).setRaftAddress(raftAddress)
        .setApiAddress(apiAddress == null ? "" : apiAddress).setNodeId(nodeId).build();
    long deadline = System.nanoTime() + patience.toNanos();
    List<String> failures = new ArrayList<>();
    do {
      failures.clear();
      for (String seed : seeds) {
        ManagedChannel channel = NettyChannelBuilder.forTarget(seed).usePlaintext().build();
        try {
          return NodeServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(PER_CALL.toMillis(), TimeUnit.MILLISECONDS)
              .join(request);
        } catch (StatusRuntimeException e) {
          RaftoralException error = GrpcErrors.fromStatus(e, seed, null);
          if (error instanceof Errors.InvalidArgumentException) {
            throw new Errors.InvalidArgumentException("seed " + seed + " refused the join: " + error.getMessage());
          }
          failures.add(error.getMessage());
        } finally {
          channel.shutdownNow();
        }
      }
      sleepQuietly(500);
    } while (System.nanoTime() < deadline);
    throw new RaftoralException("cannot join the cluster: no seed answered within " + patience.toSeconds() + " s (" + String.join("; ", failures) + ")");
  }

  private static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RaftoralException("interrupted while joining", e);
    }
  }
}
