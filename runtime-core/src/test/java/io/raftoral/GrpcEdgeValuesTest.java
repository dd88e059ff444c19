package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftoral.api.RaftoralNode;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.Errors;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.client.AwaitRequest;
import io.raftoral.proto.client.ListRequest;
import io.raftoral.proto.client.RaftoralApiGrpc;
import io.raftoral.proto.client.WorkflowOutcome;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Edge values on the gRPC API of a real node, as a Python or Go caller sends them: a huge await
 * timeout without a call deadline, and a long malformed page token (SPEC §5, §12).
 */
class GrpcEdgeValuesTest {
  private static RaftoralNode node;
  private static ManagedChannel channel;
  private static RaftoralApiGrpc.RaftoralApiBlockingStub stub;

  @BeforeAll
  static void startNode() {
    var addresses = TestCluster.freeAddresses(2);
    node = RaftoralNode.builder().nodeId(1).raftAddress(addresses.get(1L)).apiAddress(addresses.get(2L))
        .electionTimeout(Duration.ofMillis(500))
        .register(WorkflowDefinition.of("echo", 1, String.class, String.class, (ctx, in) -> ctx.checkpoint("echo", in)))
        .start();
    channel = NettyChannelBuilder.forTarget(node.apiAddress()).usePlaintext().build();
    stub = RaftoralApiGrpc.newBlockingStub(channel); // no deadline, as grpcio and Go callers often do
  }

  @AfterAll
  static void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    node.close();
  }

  @Test
  void anAwaitWithTheLargestTimeoutAndNoDeadlineWaitsInsteadOfOverflowing() {
    String id = node.start("echo", 1, "hi", String.class).workflowId();
    node.handle(id, String.class).result(Duration.ofSeconds(60));
    WorkflowOutcome outcome = stub.await(AwaitRequest.newBuilder().setWorkflowId(id).setTimeoutMillis(Long.MAX_VALUE).build());
    assertThat(outcome.getInfo().getStatus()).isEqualTo(io.raftoral.proto.client.WorkflowStatus.COMPLETED);
    assertThat(outcome.getResult().toStringUtf8()).isEqualTo("\"hi\"");
    // The embedding API takes "forever" the same way.
    assertThat(node.handle(id, String.class).result(Duration.ofMillis(Long.MAX_VALUE))).isEqualTo("hi");
  }

  @Test
  void aLongMalformedPageTokenIsInvalidArgumentWithAnExcerptOnly() {
    String token = "x".repeat(40_000);
    assertThatThrownBy(() -> stub.list(ListRequest.newBuilder().setPageToken(token).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("malformed page token").contains("40000 characters")
              .hasSizeLessThan(300);
        });
    try (RaftoralClient client = RaftoralClient.connect(node.apiAddress())) {
      assertThatThrownBy(() -> client.list(new ListQuery(java.util.Set.of(WorkflowStatus.COMPLETED), null, 0, null, null, 10, token)))
          .isExactlyInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining("malformed page token");
    }
  }

  // The type name is the caller's and unbounded: the NOT_REGISTERED refusal (whose detail names
  // it) must still reach the caller as itself, not as "answered INTERNAL: http2 exception".
  @Test
  void aStartOfAHugeUnknownTypeNameIsNotRegistered() {
    try (RaftoralClient client = RaftoralClient.connect(node.apiAddress())) {
      assertThatThrownBy(() -> client.start("t".repeat(100_000), 1, "1".getBytes(java.nio.charset.StandardCharsets.UTF_8), null))
          .isExactlyInstanceOf(Errors.NotRegisteredException.class);
    }
  }
}
