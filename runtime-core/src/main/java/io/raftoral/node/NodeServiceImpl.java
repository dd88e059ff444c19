package io.raftoral.node;

import io.grpc.stub.StreamObserver;
import io.raftoral.api.Errors;
import io.raftoral.client.HostPort;
import io.raftoral.proto.client.JoinReply;
import io.raftoral.proto.client.JoinRequest;
import io.raftoral.proto.client.NodeServiceGrpc;
import io.raftoral.runtime.NodeRuntime;

/** {@code NodeService}: the seed side of a join. */
final class NodeServiceImpl extends NodeServiceGrpc.NodeServiceImplBase {
  private final NodeRuntime runtime;

  NodeServiceImpl(NodeRuntime runtime) {
    this.runtime = runtime;
  }

  @Override
  public void join(JoinRequest request, StreamObserver<JoinReply> out) {
    RaftoralApiService.unary(out, "Join", () -> {
      checkAddress("raft_address", request.getRaftAddress(), true);
      checkAddress("api_address", request.getApiAddress(), false);
      return runtime.join(request);
    });
  }

  private static void checkAddress(String field, String value, boolean required) {
    if (value.isEmpty() && !required) {
      return;
    }
    try {
      HostPort.parse(value);
    } catch (Errors.InvalidArgumentException e) {
      throw new Errors.InvalidArgumentException(field + ": " + e.getMessage());
    }
  }
}
