package io.raftoral.node;

import io.grpc.stub.StreamObserver;
import io.raftoral.client.HostPort;
import io.raftoral.common.Errors;
import io.raftoral.proto.client.JoinReply;
import io.raftoral.proto.client.JoinRequest;
import io.raftoral.proto.client.LeaveReply;
import io.raftoral.proto.client.LeaveRequest;
import io.raftoral.proto.client.NodeServiceGrpc;
import io.raftoral.proto.client.NodeStatusReply;
import io.raftoral.proto.client.NodeStatusRequest;
import io.raftoral.runtime.NodeRuntime;

/** {@code NodeService}: the seed side of a join, the membership status a node asks its peers, and a failed start's leave. */
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

  @Override
  public void status(NodeStatusRequest request, StreamObserver<NodeStatusReply> out) {
    RaftoralApiService.unary(out, "Status", () -> {
      if (request.getNodeId() < 1) {
        throw new Errors.InvalidArgumentException("node_id must be >= 1, got " + request.getNodeId());
      }
      return runtime.status(request);
    });
  }

  @Override
  public void leave(LeaveRequest request, StreamObserver<LeaveReply> out) {
    RaftoralApiService.unary(out, "Leave", () -> {
      if (request.getNodeId() < 1 || request.getIncarnation().isBlank()) {
        throw new Errors.InvalidArgumentException("a leave needs the node's id and incarnation");
      }
      return runtime.leave(request);
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
