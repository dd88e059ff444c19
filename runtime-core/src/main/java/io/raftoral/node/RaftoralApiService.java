package io.raftoral.node;

import com.google.protobuf.ByteString;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.stub.StreamObserver;
import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.client.AwaitRequest;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ClusterInfoRequest;
import io.raftoral.proto.client.DescribeRequest;
import io.raftoral.proto.client.ListReply;
import io.raftoral.proto.client.ListRequest;
import io.raftoral.proto.client.RaftoralApiGrpc;
import io.raftoral.proto.client.StartReply;
import io.raftoral.proto.client.StartRequest;
import io.raftoral.proto.client.TerminateRequest;
import io.raftoral.proto.client.WorkflowOutcome;
import io.raftoral.runtime.NodeRuntime;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code RaftoralApi} over a {@link NodeRuntime}: validates each request, calls the runtime, maps errors. */
final class RaftoralApiService extends RaftoralApiGrpc.RaftoralApiImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(RaftoralApiService.class);

  private final NodeRuntime runtime;

  RaftoralApiService(NodeRuntime runtime) {
    this.runtime = runtime;
  }

  @Override
  public void start(StartRequest request, StreamObserver<StartReply> out) {
    unary(out, "Start", () -> {
      WorkflowType type = new WorkflowType(request.getType(), request.getVersion()); // validates name and version
      String id = request.getWorkflowId();
      if (!id.isEmpty() && id.isBlank()) {
        throw new Errors.InvalidArgumentException("workflow_id must not be blank; leave it empty to generate one");
      }
      NodeRuntime.Started started = runtime.start(type, request.getInput().toByteArray(), id.isEmpty() ? null : id,
          TraceParents.current());
      return StartReply.newBuilder().setWorkflowId(started.workflowId()).setExecutionGroup(started.executionGroup()).build();
    });
  }

  /** Waits at most the smaller of timeout_millis and the call's deadline; a cancelled call stops waiting. */
  @Override
  public void await(AwaitRequest request, StreamObserver<WorkflowOutcome> out) {
    unary(out, "Await", () -> {
      String id = requireId(request.getWorkflowId());
      if (request.getTimeoutMillis() <= 0) {
        throw new Errors.InvalidArgumentException("timeout_millis must be > 0, got " + request.getTimeoutMillis());
      }
      long millis = request.getTimeoutMillis();
      Deadline deadline = Context.current().getDeadline();
      if (deadline != null) {
        millis = Math.min(millis, deadline.timeRemaining(TimeUnit.MILLISECONDS));
      }
      if (millis <= 0) {
        throw new Errors.TimeoutException("the call's deadline passed before workflow " + id + " finished");
      }
      NodeRuntime.Outcome outcome = awaitCancellably(id, Duration.ofMillis(millis));
      WorkflowOutcome.Builder reply = WorkflowOutcome.newBuilder().setInfo(ApiProtos.toProto(outcome.info()));
      if (outcome.info().status() == WorkflowStatus.COMPLETED && outcome.result() != null) {
        reply.setResult(ByteString.copyFrom(outcome.result()));
      }
      return reply.build();
    });
  }

  private NodeRuntime.Outcome awaitCancellably(String id, Duration timeout) {
    Thread handler = Thread.currentThread();
    Context.CancellationListener onCancel = context -> handler.interrupt();
    Context context = Context.current();
    context.addListener(onCancel, Runnable::run);
    try {
      return runtime.await(id, timeout);
    } catch (Errors.WorkflowFailedException | Errors.WorkflowTerminatedException finalStatus) {
      // The contract makes FAILED and TERMINATED normal replies; should the runtime report them
      // as exceptions, answer with the workflow's info instead.
      WorkflowInfo info = runtime.describe(id);
      return new NodeRuntime.Outcome(info, new byte[0]);
    } finally {
      context.removeListener(onCancel);
      Thread.interrupted(); // a late cancellation must not leak into the rest of this call
    }
  }

  @Override
  public void describe(DescribeRequest request, StreamObserver<io.raftoral.proto.client.WorkflowInfo> out) {
    unary(out, "Describe", () -> ApiProtos.toProto(runtime.describe(requireId(request.getWorkflowId()))));
  }

  @Override
  public void list(ListRequest request, StreamObserver<ListReply> out) {
    unary(out, "List", () -> ApiProtos.toProto(runtime.list(ApiProtos.fromProto(request))));
  }

  @Override
  public void history(io.raftoral.proto.client.HistoryRequest request, StreamObserver<io.raftoral.proto.client.HistoryReply> out) {
    unary(out, "History", () -> {
      String id = requireId(request.getWorkflowId());
      return ApiProtos.toProto(runtime.history(id, ApiProtos.fromProto(request)));
    });
  }

  @Override
  public void replay(io.raftoral.proto.client.ReplayRequest request, StreamObserver<io.raftoral.proto.client.ReplayReply> out) {
    unary(out, "Replay", () -> io.raftoral.client.Protos.toProto(
        runtime.replay(requireId(request.getWorkflowId()), null, runtime.requestTimeout())));
  }

  @Override
  public void terminate(TerminateRequest request, StreamObserver<io.raftoral.proto.client.WorkflowInfo> out) {
    unary(out, "Terminate", () -> {
      String id = requireId(request.getWorkflowId());
      if (request.getReason().isBlank()) {
        throw new Errors.InvalidArgumentException("reason must not be blank");
      }
      return ApiProtos.toProto(runtime.terminate(id, request.getReason()));
    });
  }

  @Override
  public void clusterInfo(ClusterInfoRequest request, StreamObserver<ClusterInfoReply> out) {
    unary(out, "ClusterInfo", () -> runtime.clusterInfo(request.getReplicaDigests(), request.getGroupStatus()));
  }

  static String requireId(String workflowId) {
    if (workflowId.isBlank()) {
      throw new Errors.InvalidArgumentException("workflow_id must not be empty or blank");
    }
    return workflowId;
  }

  /** Runs one unary call: the reply, or the status of whatever it threw (see {@link ApiStatuses}). */
  static <T> void unary(StreamObserver<T> out, String method, Supplier<T> call) {
    T reply;
    try {
      reply = call.get();
    } catch (RuntimeException e) {
      if (!(e instanceof io.raftoral.common.RaftoralException)) {
        LOG.warn("{} failed unexpectedly", method, e); // the stack trace stays in the node's log
      } else {
        LOG.debug("{} refused: {}", method, e.getMessage());
      }
      out.onError(ApiStatuses.toStatus(e));
      return;
    }
    out.onNext(reply);
    out.onCompleted();
  }
}
