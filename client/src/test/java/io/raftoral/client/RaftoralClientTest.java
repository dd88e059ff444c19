package io.raftoral.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.Context;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.raftoral.common.Errors;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.RaftoralException;
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
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The client against a fake node on an in-process gRPC server: every typed error the node throws
 * comes back as the same exception type with the same message and fields, and the conversions
 * keep every field. The fake throws through {@link GrpcErrors#toStatus}, the server side of the
 * mapping, so the round trip is the one a real node makes.
 */
class RaftoralClientTest {
  private static final WorkflowInfo DONE = new WorkflowInfo("wf-1", new WorkflowType("order", 2), WorkflowStatus.COMPLETED, 3,
      "group-a", Instant.ofEpochMilli(1_700_000_000_000L), Optional.of(Instant.ofEpochMilli(1_700_000_001_000L)), 8,
      Optional.empty(), Optional.empty());

  private final FakeNode fake = new FakeNode();
  private Server server;
  private RaftoralClient client;

  @BeforeEach
  void start() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor().addService(fake).build().start();
    client = new RaftoralClient("fake:1", InProcessChannelBuilder.forName(name).directExecutor().build(), Duration.ofSeconds(10));
  }

  @AfterEach
  void stop() throws InterruptedException {
    client.close();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  static Stream<RaftoralException> serverErrors() {
    return Stream.of(
        new Errors.NotRegisteredException(new WorkflowType("päyment", 7)),
        new Errors.AlreadyRegisteredException(new WorkflowType("order", 1)),
        new Errors.AlreadyExistsException("wf: 1"),
        new Errors.WorkflowNotFoundException("missing-42"),
        new Errors.WorkflowFailedException("wf-9", "java.lang.IllegalArgumentException", "no items"),
        new Errors.WorkflowTerminatedException("wf-10", "operator said so"),
        new Errors.TimeoutException("workflow wf-1 did not finish within PT1S"),
        new Errors.InvalidArgumentException("workflow id must not be null or blank"),
        new Errors.PayloadTooLargeException("input of workflow wf-2", 5_000_000, 4_194_304),
        new Errors.CodecException("cannot decode the input of workflow wf-3 as Order", null),
        new Errors.NodeClosedException("node 2 is closed"),
        new Errors.UnavailableException("no leader for group g-1 within 30 s", null),
        new RaftoralException("something Raftoral-specific"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("serverErrors")
  void everyTypedErrorComesBackAsTheSameExceptionWithTheSameMessage(RaftoralException thrown) {
    fake.error.set(thrown);
    assertThatThrownBy(() -> client.describe("wf-1"))
        .isExactlyInstanceOf(thrown.getClass())
        .hasMessage(thrown.getMessage());
  }

  @Test
  void typedErrorsKeepTheirFields() {
    fake.error.set(new Errors.NotRegisteredException(new WorkflowType("päyment", 7)));
    assertThatThrownBy(() -> client.start("päyment", 7, bytes("1"), null))
        .isInstanceOfSatisfying(Errors.NotRegisteredException.class,
            e -> assertThat(e.workflowType()).isEqualTo(new WorkflowType("päyment", 7)));

    fake.error.set(new Errors.WorkflowFailedException("wf-9", "java.lang.IllegalStateException", "boom: ünïcode"));
    assertThatThrownBy(() -> client.describe("wf-9")).isInstanceOfSatisfying(Errors.WorkflowFailedException.class, e -> {
      assertThat(e.errorType()).isEqualTo("java.lang.IllegalStateException");
      assertThat(e.errorMessage()).isEqualTo("boom: ünïcode");
    });

    fake.error.set(new Errors.WorkflowTerminatedException("wf-10", "stop"));
    assertThatThrownBy(() -> client.describe("wf-10"))
        .isInstanceOfSatisfying(Errors.WorkflowTerminatedException.class, e -> assertThat(e.reason()).isEqualTo("stop"));
  }

  @Test
  void statusesWithoutTrailersAreMappedByCodeAndMessage() {
    fake.status.set(Status.NOT_FOUND.withDescription("workflow abc not found"));
    assertThatThrownBy(() -> client.describe("abc"))
        .isExactlyInstanceOf(Errors.WorkflowNotFoundException.class).hasMessage("workflow abc not found");

    fake.status.set(Status.FAILED_PRECONDITION.withDescription("workflow ping_pong@v3 is not registered"));
    assertThatThrownBy(() -> client.start("ping_pong", 3, bytes("\"ping\""), null))
        .isInstanceOfSatisfying(Errors.NotRegisteredException.class,
            e -> assertThat(e.workflowType()).isEqualTo(new WorkflowType("ping_pong", 3)));

    fake.status.set(Status.ALREADY_EXISTS.withDescription("whatever the server says"));
    assertThatThrownBy(() -> client.start("t", 1, bytes("1"), "my-id"))
        .isExactlyInstanceOf(Errors.AlreadyExistsException.class).hasMessageContaining("my-id");

    fake.status.set(Status.INVALID_ARGUMENT.withDescription("input of workflow x is 9 bytes, above the limit of 8 bytes"));
    assertThatThrownBy(() -> client.describe("x")).isExactlyInstanceOf(Errors.PayloadTooLargeException.class);

    fake.status.set(Status.INVALID_ARGUMENT.withDescription("bad page token"));
    assertThatThrownBy(() -> client.list(ListQuery.all()))
        .isExactlyInstanceOf(Errors.InvalidArgumentException.class).hasMessage("bad page token");

    fake.status.set(Status.DEADLINE_EXCEEDED);
    assertThatThrownBy(() -> client.describe("x")).isExactlyInstanceOf(Errors.TimeoutException.class).hasMessageContaining("fake:1");

    fake.status.set(Status.UNAVAILABLE.withDescription("shutting down"));
    assertThatThrownBy(() -> client.describe("x"))
        .isExactlyInstanceOf(Errors.UnavailableException.class).hasMessageContaining("fake:1");

    fake.status.set(Status.UNIMPLEMENTED.withDescription("Method not found"));
    assertThatThrownBy(() -> client.describe("x"))
        .isExactlyInstanceOf(RaftoralException.class).hasMessageContaining("fake:1").hasMessageContaining("UNIMPLEMENTED");
  }

  @Test
  void anUnexpectedServerErrorIsInternalWithItsMessageAndNoStackTrace() {
    fake.error.set(new IllegalStateException("unexpected start outcome"));
    assertThatThrownBy(() -> client.describe("x"))
        .isExactlyInstanceOf(RaftoralException.class)
        .hasMessageContaining("unexpected start outcome")
        .hasMessageContaining("IllegalStateException")
        .hasMessageNotContaining("\tat ");
    var status = GrpcErrors.toStatus(new IllegalStateException("x")).getStatus();
    assertThat(status.getCode()).isEqualTo(Status.Code.INTERNAL);
  }

  @Test
  void anUnreachableNodeIsUnavailableNamingItsAddress() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    try (RaftoralClient unreachable = RaftoralClient.connect("127.0.0.1:" + port, Duration.ofSeconds(10))) {
      assertThatThrownBy(() -> unreachable.describe("x"))
          .isExactlyInstanceOf(Errors.UnavailableException.class)
          .hasMessageContaining("127.0.0.1:" + port)
          .hasMessageContaining("unreachable");
    }
  }

  @Test
  void badAddressesAndArgumentsAreRefusedBeforeAnyCall() {
    assertThatThrownBy(() -> RaftoralClient.connect("no-port")).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> RaftoralClient.connect("host:99999")).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> client.start("", 1, bytes("1"), null)).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> client.start("t", 0, bytes("1"), null)).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> client.start("t", 1, bytes("1"), " ")).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> client.describe(" ")).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> client.await("x", Duration.ZERO)).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> client.terminate("x", "")).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThat(fake.calls).hasValue(0);
    assertThat(HostPort.parse("[::1]:8001")).isEqualTo(new HostPort("::1", 8001));
  }

  @Test
  void callsCarryTheirArgumentsAndRepliesConvertBack() {
    RaftoralClient.Started started = client.start("order", 2, bytes("{\"a\":1}"), "wf-1");
    assertThat(started).isEqualTo(new RaftoralClient.Started("wf-1", "group-a"));
    assertThat(fake.lastStart.get().getInput().toStringUtf8()).isEqualTo("{\"a\":1}");

    RaftoralClient.Outcome outcome = client.await("wf-1", Duration.ofSeconds(3));
    assertThat(outcome.info()).isEqualTo(DONE);
    assertThat(new String(outcome.resultOrThrow(), StandardCharsets.UTF_8)).isEqualTo("{\"ok\":true}");
    assertThat(fake.lastAwait.get().getTimeoutMillis()).isEqualTo(3000);
    assertThat(fake.awaitDeadline.get()).as("the await call has a deadline").isNotNull();

    assertThat(client.describe("wf-1")).isEqualTo(DONE);
    assertThat(client.terminate("wf-1", "because")).isEqualTo(DONE);
    assertThat(client.clusterInfo().getClusterId()).isEqualTo("c1");

    ListQuery query = new ListQuery(EnumSet.of(WorkflowStatus.FAILED, WorkflowStatus.RUNNING), "order", 2,
        Instant.ofEpochMilli(1000), Instant.ofEpochMilli(5000), 7, "tok");
    ListPage page = client.list(query);
    assertThat(page.workflows()).containsExactly(DONE);
    assertThat(page.nextPageToken()).isEqualTo("next");
    assertThat(Protos.fromProto(fake.lastList.get())).isEqualTo(query);
  }

  @Test
  void aStartWithoutAnIdSendsAnIdTheClientGeneratedSoThatARetryIsIdempotent() {
    RaftoralClient.Started started = client.start("order", 2, bytes("{}"), null);
    String sent = fake.lastStart.get().getWorkflowId();
    assertThat(sent).hasSize(36).isEqualTo(started.workflowId());
    assertThat(java.util.UUID.fromString(sent).version()).isEqualTo(4);
    client.start("order", 2, bytes("{}"), null);
    assertThat(fake.lastStart.get().getWorkflowId()).isNotEqualTo(sent);

    // A start whose outcome is unknown names the id it sent: starting that id again is idempotent.
    fake.status.set(Status.DEADLINE_EXCEEDED);
    assertThatThrownBy(() -> client.start("order", 2, bytes("{}"), null))
        .isExactlyInstanceOf(Errors.TimeoutException.class)
        .hasMessageContaining(fake.lastStart.get().getWorkflowId());
    fake.status.set(Status.UNAVAILABLE.withDescription("connection reset"));
    assertThatThrownBy(() -> client.start("order", 2, bytes("{}"), "my-order"))
        .isExactlyInstanceOf(Errors.UnavailableException.class).hasMessageContaining("my-order");
  }

  @Test
  void anAwaitWithTheLargestTimeoutWaitsForeverInsteadOfOverflowing() {
    Duration forever = Duration.ofSeconds(Long.MAX_VALUE, 999_999_999);
    assertThat(client.await("wf-1", forever).info()).isEqualTo(DONE);
    assertThat(fake.lastAwait.get().getTimeoutMillis()).isEqualTo(Long.MAX_VALUE);
    assertThat(client.await("wf-1", Duration.ofMillis(Long.MAX_VALUE)).info()).isEqualTo(DONE);
    assertThat(fake.lastAwait.get().getTimeoutMillis()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void errorStatusesNeverCarryUnboundedText() {
    String huge = "é".repeat(50_000);
    StatusRuntimeException invalid = GrpcErrors.toStatus(new Errors.InvalidArgumentException("bad " + huge));
    assertThat(invalid.getStatus().getDescription().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(1024);
    assertThat(invalid.getStatus().getDescription()).startsWith("bad éé").endsWith("(50004 characters)");

    StatusRuntimeException failed = GrpcErrors.toStatus(new Errors.WorkflowFailedException("wf-9", "ValueError", huge));
    assertThat(failed.getTrailers().get(GrpcErrors.ERROR_MESSAGE).length).isLessThanOrEqualTo(1024);
    // Through the client the type stays exact and the message is the excerpt.
    fake.error.set(new Errors.WorkflowFailedException("wf-9", "ValueError", huge));
    assertThatThrownBy(() -> client.describe("wf-9")).isInstanceOfSatisfying(Errors.WorkflowFailedException.class, e -> {
      assertThat(e.errorType()).isEqualTo("ValueError");
      assertThat(e.errorMessage()).startsWith("ééé").endsWith("(50000 characters)");
    });
  }

  @Test
  void failedAndTerminatedOutcomesAreValuesUntilAskedForTheResult() {
    WorkflowInfo failed = new WorkflowInfo("wf-2", new WorkflowType("order", 1), WorkflowStatus.FAILED, 1, "g",
        Instant.ofEpochMilli(1), Optional.of(Instant.ofEpochMilli(2)), 0, Optional.of("java.lang.IllegalArgumentException"),
        Optional.of("no items"));
    fake.outcome.set(WorkflowOutcome.newBuilder().setInfo(Protos.toProto(failed)).build());
    RaftoralClient.Outcome outcome = client.await("wf-2", Duration.ofSeconds(1));
    assertThat(outcome.info()).isEqualTo(failed);
    assertThatThrownBy(outcome::resultOrThrow).isInstanceOfSatisfying(Errors.WorkflowFailedException.class,
        e -> assertThat(e.errorMessage()).isEqualTo("no items"));
  }

  @Test
  void listDefaultsAndBadStatusesAreHandledByTheConversion() {
    ListQuery q = Protos.fromProto(ListRequest.getDefaultInstance());
    assertThat(q).isEqualTo(ListQuery.all());
    assertThatThrownBy(() -> Protos.fromProto(ListRequest.newBuilder()
        .addStatuses(io.raftoral.proto.client.WorkflowStatus.WORKFLOW_STATUS_UNSPECIFIED).build()))
        .isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> Protos.fromProto(ListRequest.newBuilder().setLimit(1001).build()))
        .isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> Protos.fromProto(ListRequest.newBuilder().setLimit(-1).build()))
        .isInstanceOf(Errors.InvalidArgumentException.class);
    assertThat(Protos.fromProto(ListRequest.newBuilder().setType("t").build()).statuses()).isEqualTo(Set.of());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Answers every call with canned data, or with the error (or raw status) a test sets. */
  static final class FakeNode extends RaftoralApiGrpc.RaftoralApiImplBase {
    final AtomicReference<Throwable> error = new AtomicReference<>();
    final AtomicReference<Status> status = new AtomicReference<>();
    final AtomicReference<WorkflowOutcome> outcome = new AtomicReference<>();
    final AtomicReference<StartRequest> lastStart = new AtomicReference<>();
    final AtomicReference<AwaitRequest> lastAwait = new AtomicReference<>();
    final AtomicReference<ListRequest> lastList = new AtomicReference<>();
    final AtomicReference<io.grpc.Deadline> awaitDeadline = new AtomicReference<>();
    final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();

    private <T> void answer(StreamObserver<T> out, T reply) {
      calls.incrementAndGet();
      if (status.get() != null) {
        out.onError(status.get().asRuntimeException());
      } else if (error.get() != null) {
        out.onError(GrpcErrors.toStatus(error.get()));
      } else {
        out.onNext(reply);
        out.onCompleted();
      }
    }

    @Override
    public void start(StartRequest request, StreamObserver<StartReply> out) {
      lastStart.set(request);
      answer(out, StartReply.newBuilder().setWorkflowId(request.getWorkflowId()).setExecutionGroup("group-a").build());
    }

    @Override
    public void await(AwaitRequest request, StreamObserver<WorkflowOutcome> out) {
      lastAwait.set(request);
      awaitDeadline.set(Context.current().getDeadline());
      WorkflowOutcome o = outcome.get() != null ? outcome.get()
          : WorkflowOutcome.newBuilder().setInfo(Protos.toProto(DONE)).setResult(ByteString.copyFromUtf8("{\"ok\":true}")).build();
      answer(out, o);
    }

    @Override
    public void describe(DescribeRequest request, StreamObserver<io.raftoral.proto.client.WorkflowInfo> out) {
      answer(out, Protos.toProto(DONE));
    }

    @Override
    public void list(ListRequest request, StreamObserver<ListReply> out) {
      lastList.set(request);
      answer(out, ListReply.newBuilder().addWorkflows(Protos.toProto(DONE)).setNextPageToken("next").build());
    }

    @Override
    public void terminate(TerminateRequest request, StreamObserver<io.raftoral.proto.client.WorkflowInfo> out) {
      answer(out, Protos.toProto(DONE));
    }

    @Override
    public void clusterInfo(ClusterInfoRequest request, StreamObserver<ClusterInfoReply> out) {
      answer(out, ClusterInfoReply.newBuilder().setClusterId("c1").setNodeId(1).build());
    }
  }
}
