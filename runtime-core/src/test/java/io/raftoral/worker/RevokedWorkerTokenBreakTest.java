package io.raftoral.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.proto.worker.Heartbeat;
import io.raftoral.proto.worker.NodeMessage;
import io.raftoral.proto.worker.Register;
import io.raftoral.proto.worker.WorkerMessage;
import io.raftoral.proto.worker.WorkerServiceGrpc;
import io.raftoral.proto.worker.WorkflowTypeSpec;
import io.raftoral.security.Role;
import io.raftoral.security.TokenFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BREAK: docs/SECURITY.md says "To revoke a token, delete its line" and the node reloads the
 * file within 100 ms; but the access check runs once, when a call starts. A worker connected with
 * a token keeps its Connect stream, which never ends on its own (heartbeats), after the token is
 * revoked: it is still dispatched new workflows (and their inputs) minutes later, until it chooses
 * to reconnect. Revoking a worker's token does not stop the worker.
 */
class RevokedWorkerTokenBreakTest {
  @TempDir Path dir;

  @Test
  void aWorkerWhoseTokenIsRevokedIsNoLongerDispatchedWorkflows() throws Exception {
    Path tokens = dir.resolve("tokens");
    TokenFile.create(tokens, Role.OPERATOR);
    String worker = TokenFile.create(tokens, Role.WORKER);
    Map<Long, String> raft = LocalCluster.freeAddresses(1);
    try (RaftoralNode node = RaftoralNode.builder().nodeId(1).members(raft).dataDirectory(dir.resolve("data"))
        .electionTimeout(Duration.ofMillis(500)).workerAddress("127.0.0.1:0").authTokens(tokens).start()) {
      Metadata auth = new Metadata();
      auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + worker);
      ManagedChannel channel = NettyChannelBuilder.forTarget(node.workerAddress()).usePlaintext()
          .intercept(MetadataUtils.newAttachHeadersInterceptor(auth)).build();
      List<NodeMessage> received = new CopyOnWriteArrayList<>();
      AtomicReference<Status> ended = new AtomicReference<>();
      StreamObserver<WorkerMessage> out = WorkerServiceGrpc.newStub(channel).connect(new StreamObserver<>() {
        @Override
        public void onNext(NodeMessage m) {
          received.add(m);
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
      try {
        out.onNext(WorkerMessage.newBuilder().setRegister(Register.newBuilder().setWorkerId("w1").addProtocolVersions(1)
            .addTypes(WorkflowTypeSpec.newBuilder().setName("order").setVersion(1)).setMaxConcurrentRuns(4)
            .setLibrary("break-test")).build());
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (received.stream().noneMatch(m -> m.getKindCase() == NodeMessage.KindCase.REGISTERED)) {
          assertThat(ended.get()).as("the stream ended before registering").isNull();
          assertThat(System.nanoTime()).as("registered in time").isLessThan(deadline);
          Thread.sleep(10);
        }
        // Revoke the worker's token: its line removed, the file replaced atomically.
        String id = TokenFile.idOf(worker);
        List<String> kept = Files.readAllLines(tokens).stream().filter(l -> !l.contains(" " + id + " ")).toList();
        Files.write(dir.resolve("tokens.new"), kept);
        Files.move(dir.resolve("tokens.new"), tokens, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        // Well past the 100 ms reload, the worker heartbeating as a live one does.
        for (int i = 0; i < 6; i++) {
          out.onNext(WorkerMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build());
          Thread.sleep(500);
        }
        try {
          node.start("order", 1, "secret input", Object.class);
        } catch (RuntimeException refused) {
          // no worker for the type: what a revoked worker's absence looks like
        }
        Thread.sleep(2000);
        assertThat(received.stream().filter(m -> m.getKindCase() == NodeMessage.KindCase.EXECUTE).toList())
            .as("workflows dispatched to the worker 3 s after its token was revoked (its stream ended with %s)", ended.get())
            .isEmpty();
      } finally {
        channel.shutdownNow();
      }
    }
  }
}
