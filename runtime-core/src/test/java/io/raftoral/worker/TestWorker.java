package io.raftoral.worker;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.raftoral.proto.worker.CallFailed;
import io.raftoral.proto.worker.Cancel;
import io.raftoral.proto.worker.CheckpointProposal;
import io.raftoral.proto.worker.CheckpointValue;
import io.raftoral.proto.worker.ComputeResult;
import io.raftoral.proto.worker.Execute;
import io.raftoral.proto.worker.Failure;
import io.raftoral.proto.worker.Heartbeat;
import io.raftoral.proto.worker.NodeMessage;
import io.raftoral.proto.worker.Register;
import io.raftoral.proto.worker.WorkerMessage;
import io.raftoral.proto.worker.WorkerServiceGrpc;
import io.raftoral.proto.worker.WorkflowResult;
import io.raftoral.proto.worker.WorkflowTypeSpec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * A minimal worker for the node's tests: a real gRPC stream to a real node, speaking
 * worker.proto, running each Execute on its own thread with a small blocking context. It also
 * lets a test send raw messages (bad input) and see every message the node sent.
 */
final class TestWorker implements AutoCloseable {
  /** The test's workflow code. */
  interface Code {
    String run(Ctx ctx, String input) throws Exception;
  }

  /** The run's calls, answered from the Execute's history first, then by the node. */
  final class Ctx {
    final Execute execute;
    private final BlockingQueue<NodeMessage> inbox = new LinkedBlockingQueue<>();
    private final Map<String, List<ByteString>> history = new HashMap<>();
    private final Map<String, Long> seqs = new HashMap<>();
    volatile boolean cancelled;

    Ctx(Execute execute) {
      this.execute = execute;
      for (CheckpointValue v : execute.getHistoryList()) {
        history.computeIfAbsent(v.getKey(), k -> new ArrayList<>()).add(v.getValue());
      }
    }

    String checkpoint(String key, String value) throws InterruptedException {
      return call(key, false, value, null);
    }

    String compute(String key, Supplier<String> fn) throws InterruptedException {
      return call(key, true, null, fn);
    }

    /** Sends a raw message on the worker's stream (bad-input tests). */
    void send(WorkerMessage m) {
      TestWorker.this.send(m);
    }

    /** A plain write at a position the test chooses (a wrong seq, for bad-input tests); the key's count is not moved. */
    String checkpointAt(String key, long seq, ByteString value) throws InterruptedException {
      return exchange(key, seq, false, value == null ? null : value.toStringUtf8(), null, value);
    }

    private String call(String key, boolean compute, String value, Supplier<String> fn) throws InterruptedException {
      long seq = seqs.merge(key, 1L, Long::sum) - 1;
      List<ByteString> known = history.get(key);
      if (known != null && seq < known.size()) {
        return known.get((int) seq).toStringUtf8();
      }
      return exchange(key, seq, compute, value, fn, null);
    }

    private String exchange(String key, long seq, boolean compute, String value, Supplier<String> fn, ByteString raw)
        throws InterruptedException {
      CheckpointProposal.Builder p = CheckpointProposal.newBuilder().setRun(execute.getRun()).setKey(key).setSeq(seq)
          .setCompute(compute);
      if (raw != null) {
        p.setValue(raw);
      } else if (value != null) {
        p.setValue(ByteString.copyFromUtf8(value));
      }
      send(WorkerMessage.newBuilder().setCheckpoint(p).build());
      while (true) {
        NodeMessage m = take();
        switch (m.getKindCase()) {
          case CHECKPOINT_COMMITTED -> {
            return m.getCheckpointCommitted().getValue().toStringUtf8();
          }
          case RUN_COMPUTE -> {
            String v;
            try {
              v = fn.get();
            } catch (RuntimeException e) {
              send(WorkerMessage.newBuilder().setComputeResult(ComputeResult.newBuilder().setRun(execute.getRun())
                  .setKey(key).setSeq(seq).setError(Failure.newBuilder().setType("Boom").setMessage(String.valueOf(e.getMessage()))))
                  .build());
              continue;
            }
            send(WorkerMessage.newBuilder().setComputeResult(ComputeResult.newBuilder().setRun(execute.getRun()).setKey(key)
                .setSeq(seq).setValue(ByteString.copyFromUtf8(v))).build());
          }
          case CALL_FAILED -> throw new CallFailedException(m.getCallFailed());
          default -> throw new IllegalStateException("unexpected " + m);
        }
      }
    }

    private NodeMessage take() throws InterruptedException {
      while (true) {
        NodeMessage m = inbox.poll(100, TimeUnit.MILLISECONDS);
        if (m != null && m.getKindCase() == NodeMessage.KindCase.CANCEL) {
          cancelled = true;
          throw new CancelledException(m.getCancel());
        }
        if (m != null) {
          return m;
        }
        if (closed) {
          throw new CancelledException(Cancel.newBuilder().setMessage("worker closed").build());
        }
      }
    }
  }

  static final class CallFailedException extends RuntimeException {
    final CallFailed failed;

    CallFailedException(CallFailed failed) {
      super(failed.getCode() + ": " + failed.getMessage());
      this.failed = failed;
    }
  }

  static final class CancelledException extends RuntimeException {
    final Cancel cancel;

    CancelledException(Cancel cancel) {
      super("cancelled: " + cancel.getReason() + " " + cancel.getMessage());
      this.cancel = cancel;
    }
  }

  final List<NodeMessage> received = new CopyOnWriteArrayList<>();
  final AtomicReference<Status> ended = new AtomicReference<>();
  private final ManagedChannel channel;
  private final StreamObserver<WorkerMessage> requests;
  private final Map<Long, Ctx> runs = new ConcurrentHashMap<>();
  private final Code code;
  private final Thread heartbeat;
  private volatile boolean closed;

  private TestWorker(String target, Code code) {
    this.code = code;
    this.channel = NettyChannelBuilder.forTarget(target).usePlaintext().maxInboundMessageSize(64 << 20).build();
    this.requests = WorkerServiceGrpc.newStub(channel).connect(new StreamObserver<>() {
      @Override
      public void onNext(NodeMessage m) {
        received.add(m);
        dispatch(m);
      }

      @Override
      public void onError(Throwable t) {
        ended.compareAndSet(null, Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        ended.compareAndSet(null, Status.OK);
      }
    });
    this.heartbeat = Thread.ofVirtual().start(() -> {
      while (!closed) {
        try {
          Thread.sleep(500);
        } catch (InterruptedException e) {
          return;
        }
        if (!closed && ended.get() == null) {
          send(WorkerMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build());
        }
      }
    });
  }

  /** Connects and registers {@code types} (name:version, hot-standby unless the spec says otherwise). */
  static TestWorker connect(String target, String id, int maxRuns, Code code, WorkflowTypeSpec... types) {
    TestWorker w = new TestWorker(target, code);
    w.send(WorkerMessage.newBuilder().setRegister(Register.newBuilder().setWorkerId(id).addProtocolVersions(1)
        .addAllTypes(List.of(types)).setMaxConcurrentRuns(maxRuns).setLibrary("java-test-worker")).build());
    return w;
  }

  /** Connects without registering: the test sends what it likes. */
  static TestWorker raw(String target) {
    return new TestWorker(target, (ctx, in) -> {
      throw new IllegalStateException("a raw worker runs nothing");
    });
  }

  static WorkflowTypeSpec type(String name, int version) {
    return WorkflowTypeSpec.newBuilder().setName(name).setVersion(version).build();
  }

  synchronized void send(WorkerMessage m) {
    if (ended.get() != null) {
      return;
    }
    try {
      requests.onNext(m);
    } catch (RuntimeException e) {
      // the stream is gone
    }
  }

  private void dispatch(NodeMessage m) {
    switch (m.getKindCase()) {
      case EXECUTE -> {
        Ctx ctx = new Ctx(m.getExecute());
        runs.put(m.getExecute().getRun(), ctx);
        Thread.ofVirtual().start(() -> runOne(ctx));
      }
      case CHECKPOINT_COMMITTED -> toRun(m.getCheckpointCommitted().getRun(), m);
      case RUN_COMPUTE -> toRun(m.getRunCompute().getRun(), m);
      case CALL_FAILED -> toRun(m.getCallFailed().getRun(), m);
      case CANCEL -> toRun(m.getCancel().getRun(), m);
      default -> { }
    }
  }

  private void toRun(long run, NodeMessage m) {
    Ctx ctx = runs.get(run);
    if (ctx != null) {
      ctx.inbox.add(m);
    }
  }

  private void runOne(Ctx ctx) {
    long run = ctx.execute.getRun();
    WorkflowResult.Builder result = WorkflowResult.newBuilder().setRun(run);
    try {
      String out = code.run(ctx, ctx.execute.getInput().toString(StandardCharsets.UTF_8));
      result.setResult(ByteString.copyFromUtf8(out));
    } catch (CancelledException e) {
      runs.remove(run);
      return;
    } catch (Exception e) {
      if (closed) {
        return;
      }
      result.setError(Failure.newBuilder().setType(e.getClass().getSimpleName()).setMessage(String.valueOf(e.getMessage())));
    }
    send(WorkerMessage.newBuilder().setWorkflowResult(result).build());
    runs.remove(run);
  }

  /** Messages of one kind the node sent so far. */
  List<NodeMessage> receivedOf(NodeMessage.KindCase kind) {
    return received.stream().filter(m -> m.getKindCase() == kind).toList();
  }

  /** Drops the connection abruptly, as a killed process's socket closes. */
  void kill() {
    closed = true;
    heartbeat.interrupt();
    channel.shutdownNow();
  }

  /** Stops sending heartbeats (a frozen worker keeps its socket open but says nothing). */
  void freeze() {
    heartbeat.interrupt();
  }

  @Override
  public void close() {
    closed = true;
    heartbeat.interrupt();
    try {
      requests.onCompleted();
    } catch (RuntimeException e) {
      // already gone
    }
    channel.shutdownNow();
  }
}
