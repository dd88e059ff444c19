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
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.proto.client.HistoryReply;
import io.raftoral.proto.client.HistoryRequest;
import io.raftoral.proto.client.RaftoralApiGrpc;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The History RPC of a real node, through the raw stub (as a Python or Go caller sends it) and the
 * Java client: every field of an entry, paging, and the edge values that must come back as typed
 * statuses (SPEC §12).
 */
class GrpcHistoryTest {
  private static RaftoralNode node;
  private static ManagedChannel channel;
  private static RaftoralApiGrpc.RaftoralApiBlockingStub stub;
  private static String workflowId;

  @BeforeAll
  static void startNodeAndRunAWorkflow() {
    var addresses = TestCluster.freeAddresses(2);
    node = RaftoralNode.builder().nodeId(1).raftAddress(addresses.get(1L)).apiAddress(addresses.get(2L))
        .electionTimeout(Duration.ofMillis(500))
        .register(WorkflowDefinition.of("three", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a", in + "-1");
          ctx.checkpoint("b", in + "-2");
          return ctx.checkpoint("a", in + "-3");
        }))
        .start();
    workflowId = node.start("three", 1, "x", String.class).workflowId();
    node.handle(workflowId, String.class).result(Duration.ofSeconds(60));
    channel = NettyChannelBuilder.forTarget(node.apiAddress()).usePlaintext().build();
    stub = RaftoralApiGrpc.newBlockingStub(channel);
  }

  @AfterAll
  static void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    node.close();
  }

  @Test
  void theRpcCarriesEveryFieldAndLimitZeroMeansTheDefault() {
    HistoryReply reply = stub.history(HistoryRequest.newBuilder().setWorkflowId(workflowId).build());

    assertThat(reply.getEntriesList()).extracting(e -> e.getKey() + e.getSeq() + "=" + e.getValue().toStringUtf8())
        .containsExactly("a0=\"x-1\"", "b0=\"x-2\"", "a1=\"x-3\"");
    assertThat(reply.getEntriesList()).allSatisfy(e -> {
      assertThat(e.getOwnerNode()).isEqualTo(1);
      assertThat(e.getOwnerTerm()).isPositive();
      assertThat(e.getCommittedAtMillis()).isPositive();
    });
    assertThat(reply.getNextPageToken()).isEmpty();
    try (RaftoralClient client = RaftoralClient.connect(node.apiAddress())) {
      assertThat(client.history(workflowId, (String) null)).isEqualTo(node.history(workflowId));
      assertThat(client.history(workflowId, "a")).isEqualTo(node.history(workflowId, "a"));
    }
  }

  @Test
  void theClientPagesOneEntryAtATime() {
    try (RaftoralClient client = RaftoralClient.connect(node.apiAddress())) {
      List<HistoryEntry> read = new ArrayList<>();
      HistoryQuery q = new HistoryQuery(null, 1, null);
      int pages = 0;
      while (true) {
        HistoryPage page = client.history(workflowId, q);
        pages++;
        read.addAll(page.entries());
        if (page.nextPageToken() == null) {
          break;
        }
        q = q.after(page.nextPageToken());
      }
      assertThat(read).isEqualTo(node.history(workflowId));
      assertThat(pages).isEqualTo(3);
    }
  }

  @Test
  void badArgumentsAreInvalidArgumentAndAnUnknownIdIsNotFound() {
    assertStatus(HistoryRequest.newBuilder().setWorkflowId(workflowId).setLimit(-1), Status.Code.INVALID_ARGUMENT, "limit");
    assertStatus(HistoryRequest.newBuilder().setWorkflowId(workflowId).setLimit(HistoryQuery.MAX_LIMIT + 1), Status.Code.INVALID_ARGUMENT, "limit");
    assertStatus(HistoryRequest.newBuilder().setWorkflowId(" "), Status.Code.INVALID_ARGUMENT, "workflow_id");
    assertStatus(HistoryRequest.newBuilder().setWorkflowId("no-such-workflow"), Status.Code.NOT_FOUND, "no-such-workflow");
    String longToken = "x".repeat(40_000);
    assertStatus(HistoryRequest.newBuilder().setWorkflowId(workflowId).setPageToken(longToken), Status.Code.INVALID_ARGUMENT,
        "40000 characters");
    String allKeysToken = stub.history(HistoryRequest.newBuilder().setWorkflowId(workflowId).setLimit(1).build()).getNextPageToken();
    assertStatus(HistoryRequest.newBuilder().setWorkflowId(workflowId).setKey("a").setPageToken(allKeysToken), Status.Code.INVALID_ARGUMENT,
        "belongs to the history of every key");
    // A key no checkpoint has, however long, is an empty page, not an error.
    assertThat(stub.history(HistoryRequest.newBuilder().setWorkflowId(workflowId).setKey("k".repeat(100_000)).build()).getEntriesCount())
        .isZero();
    try (RaftoralClient client = RaftoralClient.connect(node.apiAddress())) {
      assertThatThrownBy(() -> client.history("no-such-workflow", (String) null)).isExactlyInstanceOf(Errors.WorkflowNotFoundException.class);
    }
  }

  private static void assertStatus(HistoryRequest.Builder request, Status.Code code, String detail) {
    assertThatThrownBy(() -> stub.history(request.build())).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(code);
      assertThat(e.getStatus().getDescription()).contains(detail).hasSizeLessThan(400);
    });
  }
}
