package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftoral.cli.NodeProcesses.CliResult;
import io.raftoral.proto.client.NodeServiceGrpc;
import io.raftoral.proto.client.RaftoralApiGrpc;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The CLI end to end on a 3-node cluster of real processes started by {@code raftoral node}
 * (node 1 bootstraps, 2 and 3 join): workflows started, awaited, described, listed and
 * terminated through different nodes; bad input answered with a clear message and the
 * documented exit code, after which the cluster still runs workflows.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CliTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ORDER = """
      {"orderId":"A-1001","customer":"alice","items":[{"sku":"book","quantity":2,"unitPriceCents":1500},{"sku":"pen","quantity":3,"unitPriceCents":250}]}""";

  private NodeProcesses nodes;

  @BeforeAll
  void startCluster() {
    nodes = new NodeProcesses("CliTest");
    nodes.bootstrap();
    nodes.startJoining();
    nodes.startJoining();
    awaitMembers(3);
  }

  @AfterAll
  void stopCluster() {
    if (nodes != null) {
      nodes.close();
    }
  }

  @Test
  @Order(1)
  void clusterListsTheThreeNodes() {
    JsonNode cluster = ok(nodes.cliOn(2, "cluster", "--output", "json"));
    assertThat(cluster.path("nodes")).hasSize(3);
    Set<Long> ids = new HashSet<>();
    Set<String> apis = new HashSet<>();
    cluster.path("nodes").forEach(n -> {
      ids.add(n.path("nodeId").asLong());
      apis.add(n.path("apiAddress").asText());
      assertThat(n.path("role").asText()).isIn("VOTER", "LISTENER", "JOINING");
    });
    assertThat(ids).containsExactlyInAnyOrder(nodes.nodeId(1), nodes.nodeId(2), nodes.nodeId(3));
    assertThat(apis).containsExactlyInAnyOrder(nodes.apiAddress(1), nodes.apiAddress(2), nodes.apiAddress(3));
    assertThat(cluster.path("executionGroups").size()).isPositive();
    cluster.path("executionGroups").forEach(g -> {
      assertThat(g.path("raftMembers").isArray()).as(g.toString()).isTrue();
      g.path("raftMembers").forEach(m -> assertThat(ids).contains(m.asLong()));
    });

    // Each group with its size, leader and every member's lag as its leader reports them (once
    // the joiners' member changes are done: a group of the three nodes).
    JsonNode settled = awaitCluster(c -> {
      JsonNode groups = c.path("executionGroups");
      return groups.size() == 1 && groups.get(0).path("size").asInt() == 3 && groups.get(0).path("memberLag").size() == 3;
    });
    JsonNode group = settled.path("executionGroups").get(0);
    Set<Long> members = new HashSet<>();
    group.path("members").forEach(m -> members.add(m.asLong()));
    assertThat(members).isEqualTo(ids);
    assertThat(group.path("state").asText()).isEqualTo("open");
    assertThat(members).contains(group.path("leaderNode").asLong());
    assertThat(group.path("commitIndex").asLong()).isPositive();
    Set<Long> lagged = new HashSet<>();
    group.path("memberLag").forEach(m -> {
      lagged.add(m.path("nodeId").asLong());
      assertThat(m.path("lagEntries").asLong()).as(m.toString()).isNotNegative();
      assertThat(m.path("millisSinceContact").asLong()).as(m.toString()).isNotNegative();
    });
    assertThat(lagged).isEqualTo(ids);
    assertThat(group.path("mergedInto").isNull()).isTrue();

    CliResult text = nodes.cliOn(3, "cluster");
    assertThat(text.exitCode()).as(text.toString()).isZero();
    assertThat(text.stdout()).contains("3 members").contains(nodes.apiAddress(1))
        .contains("size 3 members").contains("leader node " + group.path("leaderNode").asLong())
        .contains("leader, commit index").contains("entries behind, last contact");
  }

  @Test
  @Order(0)
  void everyNodeServesTheGrpcHealthService() {
    for (int i = 1; i <= 3; i++) {
      assertThat(health(nodes.apiAddress(i), "")).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
      assertThat(health(nodes.apiAddress(i), "raftoral.client.v1.RaftoralApi")).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
    }
  }

  @Test
  @Order(2)
  void aWorkflowStartedOnOneNodeIsAwaitedAndDescribedOnOthers() {
    String id = "cli-" + UUID.randomUUID();
    CliResult started = nodes.cliOn(2, "start", "ping_pong", "--version", "1", "--input", "\"ping\"", "--id", id);
    assertThat(started.exitCode()).as(started.toString()).isZero();
    assertThat(started.stdout().strip()).isEqualTo(id);

    CliResult result = nodes.cliOn(3, "result", id, "--timeout", "60s");
    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.stdout().strip()).isEqualTo("\"pong\"");

    JsonNode info = ok(nodes.cliOn(1, "describe", id, "--output", "json"));
    assertThat(info.path("workflowId").asText()).isEqualTo(id);
    assertThat(info.path("status").asText()).isEqualTo("COMPLETED");
    assertThat(info.path("type").asText()).isEqualTo("ping_pong");
    assertThat(info.path("version").asInt()).isEqualTo(1);
    assertThat(info.path("checkpointCount").asLong()).isEqualTo(2);

    // The same start again is idempotent; another input under the same id is a conflict.
    CliResult again = nodes.cliOn(1, "start", "ping_pong", "--version", "1", "--input", "\"ping\"", "--id", id);
    assertThat(again.exitCode()).as(again.toString()).isZero();
    assertThat(again.stdout().strip()).isEqualTo(id);
    CliResult conflict = nodes.cliOn(3, "start", "ping_pong", "--version", "1", "--input", "\"pong\"", "--id", id);
    assertThat(conflict.exitCode()).as(conflict.toString()).isEqualTo(1);
    assertThat(conflict.stderr()).contains(id).contains("already exists");
  }

  @Test
  @Order(3)
  void pingPongAndOrderRunWithWait() {
    CliResult ping = nodes.cliOn(1, "start", "ping_pong", "--version", "1", "--input", "\"ping\"", "--wait", "--timeout", "60s");
    assertThat(ping.exitCode()).as(ping.toString()).isZero();
    assertThat(ping.stdout().strip()).isEqualTo("\"pong\"");

    JsonNode order = ok(nodes.cliOn(3, "start", "order", "--version", "1", "--input", ORDER, "--wait", "--timeout", "60s",
        "--output", "json"));
    assertThat(order.path("status").asText()).isEqualTo("COMPLETED");
    assertThat(order.path("result").path("orderId").asText()).isEqualTo("A-1001");
    assertThat(order.path("result").path("totalCents").asLong()).isEqualTo(3750);
    assertThat(order.path("result").path("stage").asText()).isEqualTo("shipped");
  }

  @Test
  @Order(4)
  void aFailingWorkflowExits1WithItsErrorOnStderr() {
    String id = "empty-order-" + UUID.randomUUID();
    CliResult failed = nodes.cliOn(2, "start", "order", "--version", "1", "--id", id, "--wait", "--timeout", "60s",
        "--input", "{\"orderId\":\"A-2\",\"customer\":\"eve\",\"items\":[]}");
    assertThat(failed.exitCode()).as(failed.toString()).isEqualTo(1);
    assertThat(failed.stderr()).contains(id).contains("failed").contains("order A-2 has no items").doesNotContain("\tat ");

    CliResult result = nodes.cliOn(1, "result", id, "--output", "json");
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
    JsonNode outcome = json(result.stdout());
    assertThat(outcome.path("status").asText()).isEqualTo("FAILED");
    assertThat(outcome.path("errorMessage").asText()).isEqualTo("order A-2 has no items");
  }

  @Test
  @Order(5)
  void terminateListAndTimeout() {
    String id = "countdown-" + UUID.randomUUID();
    CliResult started = nodes.cliOn(1, "start", "countdown", "--version", "1", "--input", "600", "--id", id);
    assertThat(started.exitCode()).as(started.toString()).isZero();

    CliResult waited = nodes.cliOn(2, "result", id, "--timeout", "1s");
    assertThat(waited.exitCode()).as(waited.toString()).isEqualTo(4);
    assertThat(waited.stderr()).contains(id);

    JsonNode running = ok(nodes.cliOn(3, "list", "--status", "RUNNING", "--type", "countdown", "--version", "1", "--output", "json"));
    assertThat(ids(running)).contains(id);
    // The cluster view counts it among the groups' running workflows.
    JsonNode view = ok(nodes.cliOn(2, "cluster", "--output", "json"));
    long runningInGroups = 0;
    for (JsonNode g : view.path("executionGroups")) {
      runningInGroups += g.path("runningWorkflows").asLong();
    }
    assertThat(runningInGroups).as(view.toString()).isPositive();

    CliResult terminated = nodes.cliOn(3, "terminate", id, "--reason", "enough counting");
    assertThat(terminated.exitCode()).as(terminated.toString()).isZero();
    assertThat(terminated.stdout()).contains("TERMINATED");

    CliResult result = nodes.cliOn(2, "result", id);
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(1);
    assertThat(result.stderr()).contains("terminated").contains("enough counting");

    JsonNode info = ok(nodes.cliOn(1, "describe", id, "--output", "json"));
    assertThat(info.path("status").asText()).isEqualTo("TERMINATED");
    JsonNode listed = ok(nodes.cliOn(2, "list", "--status", "terminated", "--output", "json"));
    assertThat(ids(listed)).contains(id);

    // Paging: one workflow per page, every workflow exactly once.
    List<String> all = ids(ok(nodes.cliOn(1, "list", "--limit", "1000", "--output", "json")));
    List<String> paged = new ArrayList<>();
    String token = null;
    for (int pages = 0; pages <= all.size(); pages++) {
      List<String> args = new ArrayList<>(List.of("list", "--limit", "1", "--output", "json"));
      if (token != null) {
        args.addAll(List.of("--page-token", token));
      }
      JsonNode page = ok(nodes.cliOn(1 + pages % 3, args.toArray(String[]::new)));
      paged.addAll(ids(page));
      token = page.path("nextPageToken").isNull() ? null : page.path("nextPageToken").asText();
      if (token == null) {
        break;
      }
    }
    assertThat(paged).containsExactlyElementsOf(all);

    CliResult badToken = nodes.cliOn(1, "list", "--page-token", "not-a-token");
    assertThat(badToken.exitCode()).as(badToken.toString()).isEqualTo(2);
  }

  /**
   * Bytes that are no protobuf message of any type, sent raw to every method the node serves:
   * each is answered INVALID_ARGUMENT (client_api.proto), and the node neither logs a stack
   * trace per request (a flood anyone could cause) nor stops answering.
   */
  @Test
  @Order(6)
  void malformedProtobufRequestsAreInvalidArgumentsWithoutAStackTraceInTheLog() {
    List<String> methods = new ArrayList<>();
    for (ServiceDescriptor service : List.of(RaftoralApiGrpc.getServiceDescriptor(), NodeServiceGrpc.getServiceDescriptor(),
        HealthGrpc.getServiceDescriptor())) {
      service.getMethods().forEach(m -> methods.add(m.getFullMethodName()));
    }
    assertThat(methods).contains("raftoral.client.v1.RaftoralApi/Start", "raftoral.client.v1.NodeService/Join",
        "grpc.health.v1.Health/Check");
    List<byte[]> garbage = List.of(
        new byte[] {0x08, (byte) 0x80},            // field 1, a varint cut short
        new byte[] {0x0f, 0x01},                   // field 1 with wire type 7, which does not exist
        new byte[] {0x00, 0x00},                   // tag 0
        new byte[] {0x0a, 0x7f, 0x61});            // field 1, 127 bytes announced, 1 sent
    int logLinesBefore = nodes.stderrTail(1, Integer.MAX_VALUE).lines().toList().size();
    ManagedChannel channel = NettyChannelBuilder.forTarget(nodes.apiAddress(1)).usePlaintext().build();
    try {
      for (String method : methods) {
        if (method.endsWith("/Watch")) {
          continue; // the health service's server-streaming method: checked through Check
        }
        for (byte[] bytes : garbage) {
          Status status = rawCall(channel, method, bytes);
          assertThat(status.getCode()).as("%s with %s: %s", method, Arrays.toString(bytes), status)
              .isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(status.getDescription()).as(method).startsWith("malformed request to " + method + ": ");
        }
      }
      // A well-formed request on the same channel still works.
      assertThat(rawCall(channel, "raftoral.client.v1.RaftoralApi/ClusterInfo", new byte[0]).isOk()).isTrue();
    } finally {
      channel.shutdownNow();
    }
    List<String> log = nodes.stderrTail(1, Integer.MAX_VALUE).lines().toList();
    List<String> added = log.subList(Math.min(logLinesBefore, log.size()), log.size());
    assertThat(added).as("node 1's log after %d malformed requests", methods.size() * garbage.size())
        .noneMatch(line -> line.contains("SEVERE") || line.contains("\tat ") || line.contains("InvalidProtocolBuffer"));
    assertThat(nodes.isAlive(1)).isTrue();
    ok(nodes.cliOn(1, "cluster", "--output", "json"));
  }

  /**
   * An input far above the OS limit of one command-line argument (128 KiB) goes through
   * --input-file and through --input - (standard input), and reaches the workflow unchanged.
   */
  @Test
  @Order(7)
  void aOneMebibyteInputGoesThroughAFileAndThroughStandardInput() throws IOException {
    String text = "x".repeat(1024 * 1024);
    Path file = nodes.logDirectory().resolve("big-input.json");
    Files.writeString(file, "\"" + text + "\"\n");
    String expected = "\"unknown: " + text + "\"";

    CliResult fromFile = nodes.cliOn(2, "start", "ping_pong", "--version", "1", "--input-file", file.toString(),
        "--wait", "--timeout", "60s");
    assertThat(fromFile.exitCode()).as(fromFile.stderr()).isZero();
    assertThat(fromFile.stdout().strip()).isEqualTo(expected);

    CliResult fromStdin = cliWithStdin(file, "start", "ping_pong", "--version", "1", "--input", "-",
        "--wait", "--timeout", "60s", "--api", nodes.apiAddress(3));
    assertThat(fromStdin.exitCode()).as(fromStdin.stderr()).isZero();
    assertThat(fromStdin.stdout().strip()).isEqualTo(expected);
  }

  @Test
  @Order(8)
  void anApiAddressThatIsARaftPortGetsAHint() {
    CliResult r = nodes.cli("cluster", "--api", nodes.raftAddress(1));
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
    assertThat(r.stderr()).contains(nodes.raftAddress(1) + " answered but serves no Raftoral API: "
        + "is it the node's --raft-addr? use its --api-addr").doesNotContain("\tat ");
  }

  @Test
  @Order(10)
  void unknownTypeVersionAndIdAreClearErrors() {
    CliResult type = nodes.cliOn(1, "start", "no_such_workflow", "--version", "1", "--input", "1");
    assertThat(type.exitCode()).as(type.toString()).isEqualTo(1);
    assertThat(type.stderr()).contains("no_such_workflow").contains("not registered").doesNotContain("\tat ");

    CliResult version = nodes.cliOn(2, "start", "ping_pong", "--version", "9", "--input", "\"ping\"", "--wait");
    assertThat(version.exitCode()).as(version.toString()).isEqualTo(1);
    assertThat(version.stderr()).contains("ping_pong@v9").contains("not registered");

    for (String command : List.of("result", "describe")) {
      CliResult unknown = nodes.cliOn(3, command, "no-such-id");
      assertThat(unknown.exitCode()).as(unknown.toString()).isEqualTo(1);
      assertThat(unknown.stderr()).contains("no-such-id").contains("not found");
    }
    CliResult json = nodes.cliOn(3, "describe", "no-such-id", "--output", "json");
    assertThat(json(json.stdout()).path("error").path("kind").asText()).isEqualTo("WorkflowNotFoundException");
  }

  @Test
  @Order(11)
  void malformedInputAndUnreachableApi() {
    CliResult malformed = nodes.cliOn(1, "start", "ping_pong", "--version", "1", "--input", "{oops");
    assertThat(malformed.exitCode()).as(malformed.toString()).isEqualTo(2);
    assertThat(malformed.stderr()).contains("--input is not valid JSON");

    String nobody = "127.0.0.1:" + NodeProcesses.freePort();
    CliResult unreachable = nodes.cli("cluster", "--api", nobody);
    assertThat(unreachable.exitCode()).as(unreachable.toString()).isEqualTo(3);
    assertThat(unreachable.stderr()).contains(nobody);
  }

  @Test
  @Order(12)
  void aNodeWithAnUnreachableSeedExitsNamingTheSeed() {
    String seed = "127.0.0.1:" + NodeProcesses.freePort();
    CliResult r = nodes.runNode("--raft-addr", "127.0.0.1:" + NodeProcesses.freePort(),
        "--api-addr", "127.0.0.1:" + NodeProcesses.freePort(), "--join", seed, "--election-timeout", "500ms", "--in-memory");
    assertThat(r.exitCode()).as(r.toString()).isNotZero();
    assertThat(r.stderr()).contains(seed).doesNotContain("\tat ");
    assertThat(r.stdout()).doesNotContain("serving");
  }

  @Test
  @Order(13)
  void aNodeOnAnApiPortInUseExitsSayingSo() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      String api = "127.0.0.1:" + taken.getLocalPort();
      CliResult r = nodes.runNode("--raft-addr", "127.0.0.1:" + NodeProcesses.freePort(), "--api-addr", api,
          "--bootstrap", "--election-timeout", "500ms", "--in-memory");
      assertThat(r.exitCode()).as(r.toString()).isNotZero();
      assertThat(r.stderr()).contains(api).contains("in use").doesNotContain("\tat ");
    }
    // The API port of a running node, too.
    CliResult r = nodes.runNode("--raft-addr", "127.0.0.1:" + NodeProcesses.freePort(), "--api-addr", nodes.apiAddress(2),
        "--bootstrap", "--election-timeout", "500ms", "--in-memory");
    assertThat(r.exitCode()).as(r.toString()).isNotZero();
    assertThat(r.stderr()).contains(nodes.apiAddress(2)).contains("in use");
  }

  @Test
  @Order(14)
  void aSecondNodeOnARunningNodesDataDirectoryIsRefused() {
    CliResult r = nodes.runNode("--raft-addr", "127.0.0.1:" + NodeProcesses.freePort(),
        "--api-addr", "127.0.0.1:" + NodeProcesses.freePort(), "--data-dir", nodes.dataDirectory(1).toString(),
        "--bootstrap", "--election-timeout", "500ms");
    assertThat(r.exitCode()).as(r.toString()).isNotZero();
    assertThat(r.stderr()).containsAnyOf("in use", "locked").doesNotContain("\tat ");
  }

  @Test
  @Order(100)
  void theClusterStillRunsWorkflowsAfterTheBadInput() {
    for (int i = 1; i <= 3; i++) {
      assertThat(nodes.isAlive(i)).as("node %d is running", i).isTrue();
      CliResult ping = nodes.cliOn(i, "start", "ping_pong", "--version", "1", "--input", "\"ping\"", "--wait", "--timeout", "60s");
      assertThat(ping.exitCode()).as(ping.toString()).isZero();
      assertThat(ping.stdout().strip()).isEqualTo("\"pong\"");
    }
    assertThat(ok(nodes.cliOn(1, "cluster", "--output", "json")).path("nodes")).hasSize(3);
  }

  @Test
  @Order(101)
  void sigtermStopsANodeCleanlyAndTheOthersCarryOn() {
    int exit = nodes.stop(3);
    assertThat(exit).as("exit code after SIGTERM").isIn(0, 143);
    assertThat(nodes.stderrTail(3, 20)).contains("node " + nodes.nodeId(3) + " stopped").doesNotContain("\tat ");
    CliResult ping = nodes.cliOn(1, "start", "ping_pong", "--version", "1", "--input", "\"ping\"", "--wait", "--timeout", "60s");
    assertThat(ping.exitCode()).as(ping.toString()).isZero();
    assertThat(ping.stdout().strip()).isEqualTo("\"pong\"");
  }

  /**
   * With node 3 stopped (above) and node 2 killed, node 1 has no quorum and cannot commit a
   * start. {@code --timeout} bounds the whole command, the start call included: the command
   * ends as a timeout (exit 4), not as the node's own refusal once its commit wait runs out.
   */
  @Test
  @Order(102)
  void timeoutBoundsTheWholeCommandAgainstANodeWithoutQuorum() {
    nodes.kill(2);
    CliResult waited = nodes.cliOn(1, "start", "countdown", "--version", "1", "--input", "1", "--id", "no-quorum-1",
        "--wait", "--timeout", "5s");
    assertThat(waited.exitCode()).as(waited.toString()).isEqualTo(4);
    assertThat(waited.stderr()).contains("within 5s").contains("no-quorum-1").doesNotContain("\tat ");

    CliResult started = nodes.cliOn(1, "start", "countdown", "--version", "1", "--input", "1", "--timeout", "3s");
    assertThat(started.exitCode()).as(started.toString()).isEqualTo(4);
    assertThat(started.stderr()).contains("within 3s");
  }

  // --- helpers ---

  /** Runs the CLI as a process whose standard input is {@code input}. */
  private CliResult cliWithStdin(Path input, String... args) throws IOException {
    Path out = nodes.logDirectory().resolve("stdin-run-" + UUID.randomUUID() + ".stdout");
    Path err = out.resolveSibling(out.getFileName().toString().replace(".stdout", ".stderr"));
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx128m",
        "-cp", System.getProperty("java.class.path"), RaftoralCli.class.getName()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectInput(input.toFile()).redirectOutput(out.toFile())
        .redirectError(err.toFile()).start();
    try {
      if (!p.waitFor(NodeProcesses.CLI_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("raftoral " + String.join(" ", args) + " did not exit");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    return new CliResult(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  /** A unary call of {@code method} whose request is {@code bytes} as they are; returns how it ended. */
  private static Status rawCall(ManagedChannel channel, String method, byte[] bytes) {
    MethodDescriptor<byte[], byte[]> descriptor = MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName(method)
        .setRequestMarshaller(RAW).setResponseMarshaller(RAW).build();
    try {
      ClientCalls.blockingUnaryCall(channel, descriptor, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), bytes);
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }

  private static final MethodDescriptor.Marshaller<byte[]> RAW = new MethodDescriptor.Marshaller<>() {
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

  private static HealthCheckResponse.ServingStatus health(String address, String service) {
    ManagedChannel channel = NettyChannelBuilder.forTarget(address).usePlaintext().build();
    try {
      return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
    } finally {
      channel.shutdownNow();
    }
  }

  /** Waits (bounded) until node 1's `cluster --output json` satisfies {@code condition}; returns that answer. */
  private JsonNode awaitCluster(java.util.function.Predicate<JsonNode> condition) {
    long deadline = System.nanoTime() + NodeProcesses.START_TIMEOUT.toNanos();
    CliResult last = null;
    while (System.nanoTime() < deadline) {
      last = nodes.cliOn(1, "cluster", "--output", "json");
      if (last.exitCode() == 0 && condition.test(json(last.stdout()))) {
        return json(last.stdout());
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
    throw new AssertionError("the cluster view did not settle; last answer: " + last);
  }

  /** Waits (bounded) until node 1 reports {@code count} members; joins register asynchronously. */
  private void awaitMembers(int count) {
    long deadline = System.nanoTime() + NodeProcesses.START_TIMEOUT.toNanos();
    CliResult last = null;
    while (System.nanoTime() < deadline) {
      last = nodes.cliOn(1, "cluster", "--output", "json");
      if (last.exitCode() == 0 && json(last.stdout()).path("nodes").size() == count) {
        return;
      }
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
    throw new AssertionError("the cluster did not reach " + count + " members; last answer: " + last);
  }

  private static JsonNode ok(CliResult r) {
    assertThat(r.exitCode()).as(r.toString()).isZero();
    return json(r.stdout());
  }

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException("not JSON: " + text, e);
    }
  }

  private static List<String> ids(JsonNode page) {
    List<String> ids = new ArrayList<>();
    page.path("workflows").forEach(w -> ids.add(w.path("workflowId").asText()));
    return ids;
  }
}
