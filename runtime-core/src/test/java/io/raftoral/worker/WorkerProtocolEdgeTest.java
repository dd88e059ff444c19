package io.raftoral.worker;

import static io.raftoral.worker.WorkerHostTest.WAIT;
import static io.raftoral.worker.WorkerHostTest.awaitEnd;
import static io.raftoral.worker.WorkerHostTest.awaitRegistered;
import static io.raftoral.worker.WorkerHostTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.proto.client.ErrorCode;
import io.raftoral.proto.worker.CallFailed;
import io.raftoral.proto.worker.CheckpointProposal;
import io.raftoral.proto.worker.ComputeResult;
import io.raftoral.proto.worker.Heartbeat;
import io.raftoral.proto.worker.NodeMessage;
import io.raftoral.proto.worker.Register;
import io.raftoral.proto.worker.WorkerMessage;
import io.raftoral.proto.worker.WorkerServiceGrpc;
import io.raftoral.proto.worker.WorkflowResult;
import io.raftoral.proto.worker.WorkflowTypeSpec;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Bad input on the worker port: each case gets a typed answer (a CallFailed, a ProtocolError, or
 * the stream ended with a status that says why), and the node and a well-behaved worker beside it
 * keep running workflows.
 */
class WorkerProtocolEdgeTest {
  private static TestCluster cluster;
  private static RaftoralNode node;
  private static TestWorker good;

  @BeforeAll
  static void start() throws InterruptedException {
    cluster = TestCluster.start(1, null, (id, b) -> b.workerAddress("127.0.0.1:0").payloadLimitBytes(64 * 1024));
    node = cluster.node(1);
    good = TestWorker.connect(node.workerAddress(), "good", 64, (ctx, input) -> ctx.compute("echo", () -> input),
        TestWorker.type("echo", 1));
    awaitRegistered(good);
  }

  @AfterAll
  static void stop() {
    good.close();
    cluster.close();
  }

  /** The node and the good worker still run a workflow. */
  private static void stillServes() {
    String input = "alive-" + System.nanoTime();
    assertThat(node.start("echo", 1, input, String.class).result(WAIT)).isEqualTo(input);
  }

  private static Status endOf(WorkerMessage... messages) throws InterruptedException {
    TestWorker w = TestWorker.raw(node.workerAddress());
    for (WorkerMessage m : messages) {
      w.send(m);
    }
    Status s = awaitEnd(w);
    w.close();
    return s;
  }

  private static WorkerMessage register(Register.Builder r) {
    return WorkerMessage.newBuilder().setRegister(r).build();
  }

  private static Register.Builder valid() {
    return Register.newBuilder().setWorkerId("edge").addProtocolVersions(1).addTypes(TestWorker.type("edge", 1));
  }

  @Test
  void aStreamThatDoesNotBeginWithRegisterEnds() throws Exception {
    Status s = endOf(WorkerMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build());
    assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(s.getDescription()).contains("first message").contains("Register");
    stillServes();
  }

  @Test
  void aMalformedRegisterEndsTheStreamSayingWhatIsWrong() throws Exception {
    record Case(Register.Builder register, String says) {}
    List<Case> cases = List.of(
        new Case(valid().setWorkerId(" "), "worker_id"),
        new Case(valid().setWorkerId("x".repeat(257)), "worker_id"),
        new Case(valid().clearProtocolVersions().addProtocolVersions(2), "protocol version"),
        new Case(valid().clearTypes(), "at least one"),
        new Case(valid().addTypes(TestWorker.type("edge", 1)), "twice"),
        new Case(valid().clearTypes().addTypes(TestWorker.type("", 1)), "types"),
        new Case(valid().clearTypes().addTypes(TestWorker.type("edge", 0)), "types"),
        new Case(valid().clearTypes().addTypes(WorkflowTypeSpec.newBuilder().setName("edge").setVersion(1).setModeValue(7)), "mode"),
        new Case(valid().setMaxConcurrentRuns(65_537), "max_concurrent_runs"));
    for (Case c : cases) {
      Status s = endOf(register(c.register()));
      assertThat(s.getCode()).as(c.says()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(s.getDescription()).as(c.says()).contains(c.says());
    }
    stillServes();
  }

  @Test
  void workersOfOneTypeMustAgreeOnItsMode() throws Exception {
    Status s = endOf(register(Register.newBuilder().setWorkerId("other-mode").addProtocolVersions(1)
        .addTypes(WorkflowTypeSpec.newBuilder().setName("echo").setVersion(1)
            .setMode(io.raftoral.proto.worker.ExecutionMode.OWNER_ONLY))));
    assertThat(s.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(s.getDescription()).contains("echo@v1").contains("OWNER_ONLY");
    stillServes();
  }

  @Test
  void messagesForRunsTheWorkerDoesNotHoldAreRefusedAndTheStreamGoesOn() throws Exception {
    try (TestWorker w = TestWorker.connect(node.workerAddress(), "stray", 4, (ctx, in) -> in, TestWorker.type("stray", 1))) {
      awaitRegistered(w);
      w.send(WorkerMessage.newBuilder().setCheckpoint(CheckpointProposal.newBuilder().setRun(987_654).setKey("k")
          .setValue(ByteString.copyFromUtf8("1"))).build());
      w.send(WorkerMessage.newBuilder().setComputeResult(ComputeResult.newBuilder().setRun(987_655).setKey("k")).build());
      w.send(WorkerMessage.newBuilder().setWorkflowResult(WorkflowResult.newBuilder().setRun(987_656)).build());
      w.send(register(valid()));
      w.send(WorkerMessage.getDefaultInstance()); // no kind at all
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (w.receivedOf(NodeMessage.KindCase.PROTOCOL_ERROR).size() < 5) {
        assertThat(System.nanoTime()).isLessThan(deadline);
        Thread.sleep(20);
      }
      assertThat(w.receivedOf(NodeMessage.KindCase.PROTOCOL_ERROR)).extracting(m -> m.getProtocolError().getRun())
          .containsExactly(987_654L, 987_655L, 987_656L, 0L, 0L);
      assertThat(w.receivedOf(NodeMessage.KindCase.PROTOCOL_ERROR)).allSatisfy(m -> assertThat(m.getProtocolError().getFatal()).isFalse());
      assertThat(w.ended.get()).isNull();
    }
    stillServes();
  }

  @Test
  void aWrongSeqAndAnOversizedValueAreRefusedToTheWorkflowCodeWhichGoesOn() throws Exception {
    ByteString big = ByteString.copyFrom(new byte[64 * 1024 + 1]);
    try (TestWorker w = TestWorker.connect(node.workerAddress(), "sloppy", 4, (ctx, in) -> {
      String skipped = refusal(() -> ctx.checkpointAt("k", 3, ByteString.copyFromUtf8("1")));
      String oversized = refusal(() -> ctx.checkpointAt("k", 0, big));
      String badKey = refusal(() -> ctx.checkpointAt("", 0, ByteString.copyFromUtf8("1")));
      String kept = ctx.checkpoint("k", json("first"));
      return "[" + json(skipped) + "," + json(oversized) + "," + json(badKey) + "," + kept + "]";
    }, TestWorker.type("sloppy", 1))) {
      awaitRegistered(w);
      Object result = node.start("sloppy", 1, "x", Object.class).result(WAIT);
      assertThat(result).isEqualTo(List.of("ERR_INVALID_ARGUMENT", "ERR_PAYLOAD_TOO_LARGE", "ERR_INVALID_ARGUMENT", "first"));
      assertThat(w.receivedOf(NodeMessage.KindCase.CALL_FAILED)).extracting(m -> m.getCallFailed().getMessage())
          .anySatisfy(m -> assertThat(m).contains("skips ahead").contains("next write of that key is 0"));
    }
    stillServes();
  }

  private interface Call {
    String run() throws Exception;
  }

  private static String refusal(Call call) throws Exception {
    try {
      call.run();
      return "accepted";
    } catch (TestWorker.CallFailedException e) {
      CallFailed f = e.failed;
      return f.getCode() == ErrorCode.UNRECOGNIZED ? "?" : f.getCode().name();
    }
  }

  @Test
  void aWorkerThatFloodsARunIsCutOffAndTheRunGoesToAnotherWorker() throws Exception {
    try (TestWorker flooder = TestWorker.connect(node.workerAddress(), "flooder", 4, (ctx, in) -> {
      // A compute step the worker never answers holds the run; every call behind it waits, unanswered.
      ctx.send(WorkerMessage.newBuilder().setCheckpoint(CheckpointProposal.newBuilder().setRun(ctx.execute.getRun())
          .setKey("held").setCompute(true)).build());
      for (int i = 0; i < 100; i++) {
        ctx.send(WorkerMessage.newBuilder().setCheckpoint(CheckpointProposal.newBuilder().setRun(ctx.execute.getRun())
            .setKey("k" + i).setValue(ByteString.copyFromUtf8(json("flood")))).build());
      }
      Thread.sleep(Long.MAX_VALUE);
      return in;
    }, TestWorker.type("flood", 1))) {
      awaitRegistered(flooder);
      var handle = node.start("flood", 1, "x", String.class);
      Status s = awaitEnd(flooder);
      assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(s.getDescription()).contains("more than 64 unanswered calls");
      try (TestWorker calm = TestWorker.connect(node.workerAddress(), "calm", 4, (ctx, in) -> ctx.checkpoint("k0", json("calm")),
          TestWorker.type("flood", 1))) {
        assertThat(handle.result(WAIT)).isEqualTo("calm");
        assertThat(calm.receivedOf(NodeMessage.KindCase.EXECUTE).getFirst().getExecute().getHistoryList()).isEmpty();
      }
    }
    stillServes();
  }

  @Test
  void bytesThatAreNotAMessageEndTheStreamAndNothingElse() throws Exception {
    ManagedChannel channel = NettyChannelBuilder.forTarget(node.workerAddress()).usePlaintext().build();
    try {
      MethodDescriptor<byte[], byte[]> raw = MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
          .setFullMethodName(WorkerServiceGrpc.getConnectMethod().getFullMethodName())
          .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
      ClientCall<byte[], byte[]> call = channel.newCall(raw, CallOptions.DEFAULT);
      CompletableFuture<Status> closed = new CompletableFuture<>();
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onClose(Status status, Metadata trailers) {
          closed.complete(status);
        }
      }, new Metadata());
      call.request(10);
      call.sendMessage(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07, 0x01});
      Status s = closed.get(30, TimeUnit.SECONDS);
      assertThat(s.isOk()).isFalse();
    } finally {
      channel.shutdownNow();
    }
    stillServes();
  }

  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  @Test
  void aWorkerThatFallsSilentIsDroppedAndItsRunGoesToAnother() throws Exception {
    try (TestWorker frozen = TestWorker.connect(node.workerAddress(), "frozen", 4, (ctx, in) -> {
      Thread.sleep(Long.MAX_VALUE);
      return in;
    }, TestWorker.type("freeze", 1))) {
      awaitRegistered(frozen);
      var handle = node.start("freeze", 1, "x", String.class);
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (frozen.receivedOf(NodeMessage.KindCase.EXECUTE).isEmpty()) {
        assertThat(System.nanoTime()).isLessThan(deadline);
        Thread.sleep(20);
      }
      frozen.freeze();
      Status s = awaitEnd(frozen);
      assertThat(s.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
      try (TestWorker thawed = TestWorker.connect(node.workerAddress(), "thawed", 4, (ctx, in) -> ctx.checkpoint("k", in),
          TestWorker.type("freeze", 1))) {
        assertThat(handle.result(WAIT)).isEqualTo("x");
      }
    }
    stillServes();
  }
}
