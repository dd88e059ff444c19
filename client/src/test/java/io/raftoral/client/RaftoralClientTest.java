package io.raftoral.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.ByteString;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.raftoral.common.ErrorCode;
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
import io.raftoral.proto.client.ErrorDetail;
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
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The client against a fake node on an in-process gRPC server: an error status with an {@link
 * ErrorDetail} becomes the exception its code names, with the detail's fields; a status without
 * one is mapped by its status code; replies convert back with every field. The round trip through
 * the node's own half of the mapping is runtime-core's {@code ApiStatusesTest} and {@code ApiProtosTest}.
 */
class RaftoralClientTest {
  private static final WorkflowInfo DONE = new WorkflowInfo("wf-1", new WorkflowType("order", 2), WorkflowStatus.COMPLETED, 3,
      "group-a", Instant.ofEpochMilli(1_700_000_000_000L), Optional.of(Instant.ofEpochMilli(1_700_000_001_000L)), 8,
      Optional.empty(), Optional.empty());
  /** {@link #DONE} as a node sends it. */
  private static final io.raftoral.proto.client.WorkflowInfo DONE_PROTO = io.raftoral.proto.client.WorkflowInfo.newBuilder()
      .setWorkflowId("wf-1").setType("order").setVersion(2).setStatus(io.raftoral.proto.client.WorkflowStatus.COMPLETED)
      .setOwnerNode(3).setExecutionGroup("group-a").setStartedAtMillis(1_700_000_000_000L).setEndedAtMillis(1_700_000_001_000L)
      .setCheckpointCount(8).build();

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

  static Stream<Arguments> details() {
    return Stream.of(
        Arguments.of(Status.FAILED_PRECONDITION, detail(ErrorCode.NOT_REGISTERED).setType("päyment").setVersion(7),
            new Errors.NotRegisteredException(new WorkflowType("päyment", 7))),
        Arguments.of(Status.FAILED_PRECONDITION, detail(ErrorCode.ALREADY_REGISTERED).setType("order").setVersion(1),
            new Errors.AlreadyRegisteredException(new WorkflowType("order", 1))),
        Arguments.of(Status.ALREADY_EXISTS, detail(ErrorCode.ALREADY_EXISTS).setWorkflowId("wf: 1"), new Errors.AlreadyExistsException("wf: 1")),
        Arguments.of(Status.NOT_FOUND, detail(ErrorCode.NOT_FOUND).setWorkflowId("missing-42"), new Errors.WorkflowNotFoundException("missing-42")),
        Arguments.of(Status.FAILED_PRECONDITION, detail(ErrorCode.WORKFLOW_FAILED).setWorkflowId("wf-9")
            .setErrorType("java.lang.IllegalArgumentException").setErrorMessage("no items"),
            new Errors.WorkflowFailedException("wf-9", "java.lang.IllegalArgumentException", "no items")),
        Arguments.of(Status.FAILED_PRECONDITION, detail(ErrorCode.WORKFLOW_TERMINATED).setWorkflowId("wf-10").setErrorMessage("operator said so"),
            new Errors.WorkflowTerminatedException("wf-10", "operator said so")),
        Arguments.of(Status.INVALID_ARGUMENT, detail(ErrorCode.PAYLOAD_TOO_LARGE).setPayload("input of workflow wf-2")
            .setSizeBytes(5_000_000).setLimitBytes(4_194_304), new Errors.PayloadTooLargeException("input of workflow wf-2", 5_000_000, 4_194_304)),
        Arguments.of(Status.INVALID_ARGUMENT, detail(ErrorCode.CODEC), new Errors.CodecException("cannot decode the input as Order", null)),
        Arguments.of(Status.UNAVAILABLE, detail(ErrorCode.NODE_CLOSED), new Errors.NodeClosedException("node 2 is closed")),
        Arguments.of(Status.FAILED_PRECONDITION, detail(ErrorCode.NODE_REMOVED), new Errors.NodeRemovedException("node 2 was removed")));
  }

  @Test
  void anInternalErrorNamesTheNodeThatAnswered() {
    fake.error.set(withDetail(Status.INTERNAL.withDescription("internal error: IllegalStateException: boom"), detail(ErrorCode.INTERNAL)));
    RaftoralException thrown = catchThrowableOfType(RaftoralException.class, () -> client.describe("x"));
    assertThat(thrown).isExactlyInstanceOf(RaftoralException.class)
        .hasMessage("node fake:1: internal error: IllegalStateException: boom");
    assertThat(thrown.code()).isEqualTo(ErrorCode.INTERNAL);
  }

  @Test
  void refusedCredentialsAndRolesAreTheirOwnExceptionsNamingTheNodeWithOrWithoutADetail() {
    // With the detail a node sends.
    fake.error.set(withDetail(Status.UNAUTHENTICATED.withDescription("unknown bearer token"), detail(ErrorCode.UNAUTHENTICATED)));
    RaftoralException thrown = catchThrowableOfType(RaftoralException.class, () -> client.describe("x"));
    assertThat(thrown).isExactlyInstanceOf(Errors.UnauthenticatedException.class).hasMessage("node fake:1: unknown bearer token");
    assertThat(thrown.code()).isEqualTo(ErrorCode.UNAUTHENTICATED);
    assertThat(thrown.getCause()).isInstanceOf(StatusRuntimeException.class);

    fake.error.set(withDetail(Status.PERMISSION_DENIED.withDescription("role reader may not call Terminate"),
        detail(ErrorCode.PERMISSION_DENIED)));
    thrown = catchThrowableOfType(RaftoralException.class, () -> client.terminate("wf-1", "because"));
    assertThat(thrown).isExactlyInstanceOf(Errors.PermissionDeniedException.class)
        .hasMessage("node fake:1: role reader may not call Terminate");
    assertThat(thrown.code()).isEqualTo(ErrorCode.PERMISSION_DENIED);

    // Without one (a proxy in front of the node, or gRPC's own TLS or interceptor refusal): by the status code.
    fake.error.set(null);
    fake.status.set(Status.UNAUTHENTICATED.withDescription("no client certificate"));
    assertThatThrownBy(() -> client.list(ListQuery.all()))
        .isExactlyInstanceOf(Errors.UnauthenticatedException.class).hasMessage("node fake:1: no client certificate");
    fake.status.set(Status.PERMISSION_DENIED.withDescription("role reader may not call Start"));
    thrown = catchThrowableOfType(RaftoralException.class, () -> client.start("order", 2, bytes("{}"), "wf-3"));
    assertThat(thrown).isExactlyInstanceOf(Errors.PermissionDeniedException.class)
        .hasMessage("node fake:1: role reader may not call Start");
    assertThat(thrown.code()).isEqualTo(ErrorCode.PERMISSION_DENIED);
    // Without a description the status code stands in for it.
    fake.status.set(Status.UNAUTHENTICATED);
    assertThatThrownBy(() -> client.describe("x"))
        .isExactlyInstanceOf(Errors.UnauthenticatedException.class).hasMessage("node fake:1: UNAUTHENTICATED");
  }

  @ParameterizedTest(name = "{2}")
  @MethodSource("details")
  void aDetailNamesTheExceptionAndCarriesItsFields(Status status, ErrorDetail.Builder detail, RaftoralException expected) {
    fake.error.set(withDetail(status.withDescription(expected.getMessage()), detail));
    RaftoralException thrown = catchThrowableOfType(RaftoralException.class, () -> client.describe("other-id"));
    assertThat(thrown).isExactlyInstanceOf(expected.getClass()).hasMessage(expected.getMessage());
    assertThat(thrown.code()).isEqualTo(expected.code());
    assertThat(fields(thrown)).isEqualTo(fields(expected));
  }

  @Test
  void aStatusWhoseDetailIsUnknownOrMalformedIsMappedByItsCode() {
    // A newer node's code: the status code decides.
    fake.error.set(withDetail(Status.NOT_FOUND.withDescription("gone"), ErrorDetail.newBuilder().setCodeValue(999)));
    assertThatThrownBy(() -> client.describe("abc"))
        .isExactlyInstanceOf(Errors.WorkflowNotFoundException.class).hasMessage("workflow abc not found");
    // A detail whose type is not a valid workflow type.
    fake.error.set(withDetail(Status.FAILED_PRECONDITION.withDescription("not registered"), detail(ErrorCode.NOT_REGISTERED)));
    assertThatThrownBy(() -> client.describe("abc"))
        .isExactlyInstanceOf(RaftoralException.class).hasMessageContaining("FAILED_PRECONDITION").hasMessageContaining("fake:1");
    // Bytes that are not an ErrorDetail.
    Metadata trailers = new Metadata();
    trailers.put(Metadata.Key.of("raftoral-error-bin", Metadata.BINARY_BYTE_MARSHALLER), new byte[] {(byte) 0xff, 0x01});
    fake.error.set(Status.INVALID_ARGUMENT.withDescription("bad").asRuntimeException(trailers));
    assertThatThrownBy(() -> client.describe("abc")).isExactlyInstanceOf(Errors.InvalidArgumentException.class).hasMessage("bad");
  }

  @Test
  void statusesWithoutADetailAreMappedByCodeNeverByTheirMessage() {
    fake.status.set(Status.NOT_FOUND.withDescription("whatever the server says"));
    assertThatThrownBy(() -> client.describe("abc"))
        .isExactlyInstanceOf(Errors.WorkflowNotFoundException.class).hasMessage("workflow abc not found");

    // The text of a NotRegisteredException is not read back: FAILED_PRECONDITION stands for several errors.
    fake.status.set(Status.FAILED_PRECONDITION.withDescription("workflow ping_pong@v3 is not registered"));
    assertThatThrownBy(() -> client.start("ping_pong", 3, bytes("\"ping\""), null))
        .isExactlyInstanceOf(RaftoralException.class).hasMessageContaining("fake:1").hasMessageContaining("FAILED_PRECONDITION")
        .hasMessageContaining("workflow ping_pong@v3 is not registered");

    fake.status.set(Status.ALREADY_EXISTS.withDescription("whatever the server says"));
    assertThatThrownBy(() -> client.start("t", 1, bytes("1"), "my-id"))
        .isExactlyInstanceOf(Errors.AlreadyExistsException.class).hasMessageContaining("my-id");

    fake.status.set(Status.INVALID_ARGUMENT.withDescription("input of workflow x is 9 bytes, above the limit of 8 bytes"));
    assertThatThrownBy(() -> client.describe("x")).isExactlyInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessage("input of workflow x is 9 bytes, above the limit of 8 bytes");

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
    assertThat(fake.lastList.get()).isEqualTo(ListRequest.newBuilder()
        .addStatuses(io.raftoral.proto.client.WorkflowStatus.RUNNING).addStatuses(io.raftoral.proto.client.WorkflowStatus.FAILED)
        .setType("order").setVersion(2).setStartedAfterMillis(1000).setStartedBeforeMillis(5000).setLimit(7).setPageToken("tok")
        .build());
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
  void failedAndTerminatedOutcomesAreValuesUntilAskedForTheResult() {
    WorkflowInfo failed = new WorkflowInfo("wf-2", new WorkflowType("order", 1), WorkflowStatus.FAILED, 1, "g",
        Instant.ofEpochMilli(1), Optional.of(Instant.ofEpochMilli(2)), 0, Optional.of("java.lang.IllegalArgumentException"),
        Optional.of("no items"));
    fake.outcome.set(WorkflowOutcome.newBuilder().setInfo(io.raftoral.proto.client.WorkflowInfo.newBuilder().setWorkflowId("wf-2")
        .setType("order").setVersion(1).setStatus(io.raftoral.proto.client.WorkflowStatus.FAILED).setOwnerNode(1)
        .setExecutionGroup("g").setStartedAtMillis(1).setEndedAtMillis(2).setErrorType("java.lang.IllegalArgumentException")
        .setErrorMessage("no items")).build());
    RaftoralClient.Outcome outcome = client.await("wf-2", Duration.ofSeconds(1));
    assertThat(outcome.info()).isEqualTo(failed);
    assertThatThrownBy(outcome::resultOrThrow).isInstanceOfSatisfying(Errors.WorkflowFailedException.class,
        e -> assertThat(e.errorMessage()).isEqualTo("no items"));
  }

  /** The fields of an exception besides its message. */
  static List<Object> fields(RaftoralException e) {
    return switch (e) {
      case Errors.NotRegisteredException x -> List.of(x.workflowType());
      case Errors.AlreadyRegisteredException x -> List.of(x.workflowType());
      case Errors.AlreadyExistsException x -> List.of(x.workflowId());
      case Errors.WorkflowNotFoundException x -> List.of(x.workflowId());
      case Errors.WorkflowFailedException x -> List.of(x.workflowId(), x.errorType(), x.errorMessage());
      case Errors.WorkflowTerminatedException x -> List.of(x.workflowId(), x.reason());
      case Errors.PayloadTooLargeException x -> List.of(x.what(), x.sizeBytes(), x.limitBytes());
      default -> List.of();
    };
  }

  private static ErrorDetail.Builder detail(ErrorCode code) {
    return ErrorDetail.newBuilder().setCodeValue(code.number());
  }

  private static StatusRuntimeException withDetail(Status status, ErrorDetail.Builder detail) {
    Metadata trailers = new Metadata();
    trailers.put(GrpcErrors.DETAIL, detail.build());
    return status.asRuntimeException(trailers);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Answers every call with canned data, or with the error status (or bare status) a test sets. */
  static final class FakeNode extends RaftoralApiGrpc.RaftoralApiImplBase {
    final AtomicReference<StatusRuntimeException> error = new AtomicReference<>();
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
        out.onError(error.get());
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
          : WorkflowOutcome.newBuilder().setInfo(DONE_PROTO).setResult(ByteString.copyFromUtf8("{\"ok\":true}")).build();
      answer(out, o);
    }

    @Override
    public void describe(DescribeRequest request, StreamObserver<io.raftoral.proto.client.WorkflowInfo> out) {
      answer(out, DONE_PROTO);
    }

    @Override
    public void list(ListRequest request, StreamObserver<ListReply> out) {
      lastList.set(request);
      answer(out, ListReply.newBuilder().addWorkflows(DONE_PROTO).setNextPageToken("next").build());
    }

    @Override
    public void terminate(TerminateRequest request, StreamObserver<io.raftoral.proto.client.WorkflowInfo> out) {
      answer(out, DONE_PROTO);
    }

    @Override
    public void clusterInfo(ClusterInfoRequest request, StreamObserver<ClusterInfoReply> out) {
      answer(out, ClusterInfoReply.newBuilder().setClusterId("c1").setNodeId(1).build());
    }
  }
}
