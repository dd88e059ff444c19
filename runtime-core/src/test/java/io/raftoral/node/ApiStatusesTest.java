package io.raftoral.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.raftoral.client.GrpcErrors;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.ErrorCode;
import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.client.DescribeRequest;
import io.raftoral.proto.client.ErrorDetail;
import io.raftoral.proto.client.RaftoralApiGrpc;
import io.raftoral.proto.client.WorkflowInfo;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Both halves of the gRPC error mapping over a real socket: a service that throws through the
 * node's {@link RaftoralApiService#unary} and {@link MalformedRequests}, and {@link RaftoralClient}
 * reading the statuses. Every {@link Errors} type comes back as the same type, with the same
 * message, code and fields, carried by the {@link ErrorDetail}, never parsed from the message.
 */
class ApiStatusesTest {
  private static final FailingApi API = new FailingApi();
  private static Server server;
  private static RaftoralClient client;
  private static ManagedChannel channel;

  @BeforeAll
  static void start() throws IOException {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(MalformedRequests.guard(API.bindService())).build().start();
    client = RaftoralClient.connect("127.0.0.1:" + server.getPort());
    channel = NettyChannelBuilder.forTarget("127.0.0.1:" + server.getPort()).usePlaintext().build();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    client.close();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  /** One of each type of {@link Errors}, and the root type. */
  static Stream<RaftoralException> everyError() {
    return Stream.of(
        new Errors.NotRegisteredException(new WorkflowType("päyment", 7)),
        new Errors.AlreadyRegisteredException(new WorkflowType("order", 1)),
        new Errors.AlreadyExistsException("wf: 1"),
        new Errors.WorkflowNotFoundException("missing-42"),
        new Errors.WorkflowFailedException("wf-9", "java.lang.IllegalArgumentException", "no items: ünïcode"),
        new Errors.WorkflowTerminatedException("wf-10", "operator said so"),
        new Errors.TimeoutException("workflow wf-1 did not finish within PT1S"),
        new Errors.InvalidArgumentException("workflow id must not be null or blank"),
        new Errors.PayloadTooLargeException("input of workflow wf-2", 5_000_000, 4_194_304),
        new Errors.CodecException("cannot decode the input of workflow wf-3 as Order", null),
        new Errors.NodeClosedException("node 2 is closed"),
        new Errors.NodeRemovedException("node 2 was removed from cluster c: unreachable for 30 s"),
        new Errors.UnavailableException("no leader for group g-1 within 30 s", null),
        new Errors.UnauthenticatedException("no bearer token"),
        new Errors.PermissionDeniedException("role reader may not call Terminate"),
        new RaftoralException("something Raftoral-specific"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("everyError")
  void everyErrorComesBackAsTheSameExceptionWithItsCodeAndFields(RaftoralException thrown) {
    API.error = thrown;
    StatusRuntimeException status = catchThrowableOfType(StatusRuntimeException.class, () -> RaftoralApiGrpc
        .newBlockingStub(channel).describe(DescribeRequest.newBuilder().setWorkflowId("another-id").build()));
    assertThat(status.getStatus().getCode()).isEqualTo(thrown.code().grpcCode());
    assertThat(status.getTrailers().get(GrpcErrors.DETAIL).getCodeValue()).isEqualTo(thrown.code().number());

    RaftoralException back = catchThrowableOfType(RaftoralException.class, () -> client.describe("another-id"));
    assertThat(back).isExactlyInstanceOf(thrown.getClass());
    if (thrown.code() == ErrorCode.INTERNAL || thrown.code() == ErrorCode.UNAUTHENTICATED
        || thrown.code() == ErrorCode.PERMISSION_DENIED) {
      // An unexpected error, or a refused caller, names the node that answered it.
      assertThat(back).hasMessageStartingWith("node 127.0.0.1:").hasMessageEndingWith(": " + thrown.getMessage());
    } else {
      assertThat(back).hasMessage(thrown.getMessage());
    }
    assertThat(back.code()).isEqualTo(thrown.code());
    // The detail holds every field; equal details, equal fields.
    assertThat(detailOf(back)).isEqualTo(detailOf(thrown));
  }

  @Test
  void everyTypeOfErrorsHasARoundTripAboveAndACodeOfItsOwn() {
    Set<Class<?>> covered = everyError().map(Object::getClass).collect(Collectors.toSet());
    List<Class<?>> declared = Arrays.stream(io.raftoral.common.Errors.class.getDeclaredClasses())
        .filter(RaftoralException.class::isAssignableFrom).toList();
    assertThat(covered).containsAll(declared);
    List<ErrorCode> codes = everyError().map(RaftoralException::code).toList();
    assertThat(codes).doesNotHaveDuplicates();
  }

  @Test
  void anUnexpectedErrorIsInternalWithItsTypeAndMessageButNoStackTrace() {
    API.error = new IllegalStateException("unexpected start outcome");
    RaftoralException back = catchThrowableOfType(RaftoralException.class, () -> client.describe("x"));
    assertThat(back).isExactlyInstanceOf(RaftoralException.class)
        .hasMessageContaining("unexpected start outcome").hasMessageContaining("IllegalStateException")
        .hasMessageNotContaining("\tat ");
    assertThat(back.code()).isEqualTo(ErrorCode.INTERNAL);
    assertThat(ApiStatuses.toStatus(new IllegalStateException("x")).getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
  }

  @Test
  void aMalformedRequestIsInvalidArgumentWithItsDetail() {
    MethodDescriptor<byte[], byte[]> raw = RaftoralApiGrpc.getDescribeMethod().toBuilder(new Bytes(), new Bytes()).build();
    StatusRuntimeException refused = catchThrowableOfType(StatusRuntimeException.class,
        () -> ClientCalls.blockingUnaryCall(channel, raw, CallOptions.DEFAULT, new byte[] {(byte) 0xff, (byte) 0xff}));
    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(refused.getStatus().getDescription()).startsWith("malformed request to raftoral.client.v1.RaftoralApi/Describe");
    assertThat(refused.getTrailers().get(GrpcErrors.DETAIL).getCodeValue()).isEqualTo(ErrorCode.INVALID_ARGUMENT.number());
    assertThat(GrpcErrors.fromStatus(refused, "n", null)).isExactlyInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessage(refused.getStatus().getDescription());
  }

  @Test
  void errorStatusesNeverCarryUnboundedText() {
    String huge = "é".repeat(50_000);
    StatusRuntimeException invalid = ApiStatuses.toStatus(new Errors.InvalidArgumentException("bad " + huge));
    assertThat(invalid.getStatus().getDescription().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(1024);
    assertThat(invalid.getStatus().getDescription()).startsWith("bad éé").endsWith("(50004 characters)");

    StatusRuntimeException failed = ApiStatuses.toStatus(new Errors.WorkflowFailedException("wf-9", "ValueError" + huge, huge));
    ErrorDetail detail = failed.getTrailers().get(GrpcErrors.DETAIL);
    assertThat(detail.getErrorMessage().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(1024);
    assertThat(detail.getErrorType().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(256);
    // Through the client the type stays exact and the message is the excerpt.
    API.error = new Errors.WorkflowFailedException("wf-9", "ValueError", huge);
    Errors.WorkflowFailedException back = catchThrowableOfType(Errors.WorkflowFailedException.class, () -> client.describe("wf-9"));
    assertThat(back.errorType()).isEqualTo("ValueError");
    assertThat(back.errorMessage()).startsWith("ééé").endsWith("(50000 characters)");
  }

  private static ErrorDetail detailOf(RaftoralException e) {
    return ApiStatuses.toStatus(e).getTrailers().get(GrpcErrors.DETAIL);
  }

  /** Throws the error a test sets from every Describe, through the node's own call wrapper. */
  static final class FailingApi extends RaftoralApiGrpc.RaftoralApiImplBase {
    volatile RuntimeException error;

    @Override
    public void describe(DescribeRequest request, StreamObserver<WorkflowInfo> out) {
      RaftoralApiService.unary(out, "Describe", () -> {
        throw error;
      });
    }
  }

  /** Sends bytes as they are, to reach the server's parser with something that is not a request. */
  private static final class Bytes implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
