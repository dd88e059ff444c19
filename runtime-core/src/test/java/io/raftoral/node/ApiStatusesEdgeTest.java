package io.raftoral.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.raftoral.cli.RaftoralCli;
import io.raftoral.client.GrpcErrors;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.ErrorCode;
import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.client.ErrorDetail;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/** Edge values of errors as codes: long and ill-formed text, a detail that disagrees, and the CLI's JSON error object. */
class ApiStatusesEdgeTest {
  private static final ApiStatusesTest.FailingApi API = new ApiStatusesTest.FailingApi();
  private static Server server;
  private static RaftoralClient client;

  @BeforeAll
  static void start() throws IOException {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(MalformedRequests.guard(API.bindService())).build().start();
    client = RaftoralClient.connect("127.0.0.1:" + server.getPort());
  }

  @AfterAll
  static void stop() throws InterruptedException {
    client.close();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private static RaftoralException roundTrip(RuntimeException thrown) {
    API.error = thrown;
    return catchThrowableOfType(RaftoralException.class, () -> client.describe("another-id"));
  }

  // A type name comes from the caller (a Start of an unknown type) and is not bounded there: the
  // error must still reach the client as itself, not as a transport failure about header sizes.
  @Test
  void aHugeTypeNameStillComesBackAsItsOwnError() {
    String name = "t".repeat(100_000);
    assertThat(roundTrip(new Errors.NotRegisteredException(new WorkflowType(name, 3))))
        .isExactlyInstanceOf(Errors.NotRegisteredException.class);
    assertThat(roundTrip(new Errors.AlreadyRegisteredException(new WorkflowType(name, 3))))
        .isExactlyInstanceOf(Errors.AlreadyRegisteredException.class);
    assertThat(roundTrip(new Errors.PayloadTooLargeException("input of " + name, 9, 8)))
        .isExactlyInstanceOf(Errors.PayloadTooLargeException.class);
  }

  // The largest error a node can legitimately send: a 512-character id of 3-byte characters,
  // with the longest error type and message the detail keeps.
  @Test
  void theLargestLegitimateErrorFitsTheTrailers() {
    String id = "界".repeat(512);
    RaftoralException back = roundTrip(new Errors.WorkflowFailedException(id, "é".repeat(1000), "ü".repeat(100_000)));
    assertThat(back).isExactlyInstanceOf(Errors.WorkflowFailedException.class);
    assertThat(((Errors.WorkflowFailedException) back).workflowId()).isEqualTo(id);
    assertThat(roundTrip(new Errors.WorkflowNotFoundException(id))).isExactlyInstanceOf(Errors.WorkflowNotFoundException.class)
        .hasMessage("workflow " + id + " not found");
  }

  @Test
  void unpairedSurrogatesInAMessageDoNotBreakTheError() {
    RaftoralException back = roundTrip(new Errors.InvalidArgumentException("bad \uD800 text \uDC00"));
    assertThat(back).isExactlyInstanceOf(Errors.InvalidArgumentException.class).hasMessageStartingWith("bad ");
    back = roundTrip(new Errors.WorkflowFailedException("wf-1", "Type\uDBFF", "message \uDFFF" + "x".repeat(2000)));
    assertThat(back).isExactlyInstanceOf(Errors.WorkflowFailedException.class);
    assertThat(((Errors.WorkflowFailedException) back).errorType()).startsWith("Type");
    // Cut at the limit between the two halves of a pair: never half a character.
    String pairs = "😀".repeat(600);
    String bounded = ApiStatuses.bounded(pairs, 1024);
    assertThat(bounded.codePoints().filter(cp -> cp >= 0xD800 && cp <= 0xDFFF).count()).isZero();
  }

  private static io.grpc.StatusRuntimeException status(Status.Code code, ErrorDetail detail) {
    Metadata trailers = new Metadata();
    trailers.put(GrpcErrors.DETAIL, detail);
    return Status.fromCode(code).withDescription("desc").asRuntimeException(trailers);
  }

  @Test
  void aDetailThatDisagreesWithItsStatusOrIsUnknown() {
    // A code number the node does not know, or a C ABI-only code: the status code decides.
    assertThat(GrpcErrors.fromStatus(status(Status.Code.INVALID_ARGUMENT, ErrorDetail.newBuilder().setCodeValue(999).build()), "n", null))
        .isExactlyInstanceOf(Errors.InvalidArgumentException.class);
    assertThat(GrpcErrors.fromStatus(status(Status.Code.DEADLINE_EXCEEDED,
        ErrorDetail.newBuilder().setCodeValue(ErrorCode.BUFFER_TOO_SMALL.number()).build()), "n", null))
        .isExactlyInstanceOf(Errors.TimeoutException.class);
    assertThat(GrpcErrors.fromStatus(status(Status.Code.NOT_FOUND, ErrorDetail.newBuilder().setCodeValue(-1).build()), "n", "wf"))
        .isExactlyInstanceOf(Errors.WorkflowNotFoundException.class);
    // NOT_FOUND without an id anywhere: still an error naming the node, not a NullPointerException.
    assertThat(GrpcErrors.fromStatus(status(Status.Code.NOT_FOUND,
        ErrorDetail.newBuilder().setCodeValue(ErrorCode.NOT_FOUND.number()).build()), "n", null))
        .isInstanceOf(RaftoralException.class);
  }

  /** Every error a node sends, as the CLI's --output json error object: its kind survives. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("io.raftoral.node.ApiStatusesTest#everyError")
  void theCliJsonErrorKeepsTheKind(RaftoralException thrown) throws IOException {
    API.error = thrown;
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = RaftoralCli.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int exit = cli.execute("describe", "--api", "127.0.0.1:" + server.getPort(), "--output", "json", "another-id");
    JsonNode json = new ObjectMapper().readTree(out.toString());
    assertThat(json.path("error").path("kind").asText()).as(out.toString()).isEqualTo(thrown.getClass().getSimpleName());
    assertThat(json.path("exitCode").asInt()).isEqualTo(exit).isNotZero();
    assertThat(err.toString()).doesNotContain("\tat ");
  }
}
