package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.workflow.WorkflowDefinition;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A three-node cluster whose API ports speak TLS with certificates of {@code raftoral certs init}
 * and authenticate every call (tokens of {@code raftoral token create}, or client certificates of
 * the cluster's CA): each kind of caller gets what its credentials allow, and the right status
 * when they do not; a node joins over TLS with its certificate, one with a certificate of another
 * CA cannot.
 */
class SecureApiTest {
  @TempDir
  static Path dir;

  private static Path ca;
  private static Path tokens;
  private static String operator;
  private static String reader;
  private static String worker;
  private static final List<RaftoralNode> NODES = new ArrayList<>();

  static WorkflowDefinition<String, String> greet() {
    return WorkflowDefinition.of("greet", 1, String.class, String.class,
        (ctx, name) -> ctx.checkpointCompute("greeting", String.class, () -> "hello " + name));
  }

  static WorkflowDefinition<String, String> waitForever() {
    return WorkflowDefinition.of("wait", 1, String.class, String.class, (ctx, in) -> {
      ctx.checkpointCompute("sleep", String.class, () -> {
        Thread.sleep(Long.MAX_VALUE);
        return "never";
      });
      return in;
    });
  }

  @BeforeAll
  static void cluster() throws Exception {
    Path certs = dir.resolve("certs");
    CertificateAuthority.init(certs);
    ca = certs.resolve("ca.pem");
    tokens = dir.resolve("tokens");
    operator = TokenFile.create(tokens, Role.OPERATOR);
    reader = TokenFile.create(tokens, Role.READER);
    worker = TokenFile.create(tokens, Role.WORKER);
    Map<Long, String> raft = LocalCluster.freeAddresses(3);
    Map<Long, String> api = LocalCluster.freeAddresses(3);
    List<CompletableFuture<RaftoralNode>> starting = new ArrayList<>();
    for (long id = 1; id <= 3; id++) {
      RaftoralNode.Builder b = secured(RaftoralNode.builder(), certs.resolve("node.pem"), certs.resolve("node-key.pem"))
          .nodeId(id).members(raft).apiAddress(api.get(id)).electionTimeout(Duration.ofMillis(500));
      starting.add(CompletableFuture.supplyAsync(b::start));
    }
    for (CompletableFuture<RaftoralNode> n : starting) {
      NODES.add(n.join());
    }
  }

  private static RaftoralNode.Builder secured(RaftoralNode.Builder b, Path cert, Path key) {
    return b.tlsCert(cert).tlsKey(key).tlsCa(ca).authTokens(tokens).register(greet()).register(waitForever());
  }

  @AfterAll
  static void close() {
    NODES.reversed().forEach(RaftoralNode::close);
  }

  private static String api(int i) {
    return NODES.get(i).apiAddress();
  }

  private static RaftoralClient client(String token) {
    return RaftoralClient.builder(api(1)).tlsCa(ca).token(token).build();
  }

  private static byte[] json(String s) {
    return ("\"" + s + "\"").getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void anOperatorTokenStartsAwaitsAndTerminatesOnEveryNode() {
    for (int i = 0; i < 3; i++) {
      try (RaftoralClient c = RaftoralClient.builder(api(i)).tlsCa(ca).token(operator).build()) {
        String id = c.start("greet", 1, json("node" + i), "op-" + i).workflowId();
        assertThat(new String(c.await(id, Duration.ofSeconds(30)).resultOrThrow(), StandardCharsets.UTF_8))
            .isEqualTo("\"hello node" + i + "\"");
      }
    }
    try (RaftoralClient c = client(operator)) {
      String id = c.start("wait", 1, json("x"), "op-terminated").workflowId();
      assertThat(c.terminate(id, "test").status()).isEqualTo(WorkflowStatus.TERMINATED);
    }
  }

  @Test
  void aReaderReadsButMayNotStartOrTerminate() {
    try (RaftoralClient op = client(operator); RaftoralClient c = client(reader)) {
      String id = op.start("wait", 1, json("r"), "reader-target").workflowId();
      assertThat(c.describe(id).status()).isEqualTo(WorkflowStatus.RUNNING);
      assertThat(c.list(io.raftoral.common.ListQuery.all()).workflows()).isNotEmpty();
      assertThatThrownBy(() -> c.terminate(id, "not mine"))
          .isInstanceOf(Errors.PermissionDeniedException.class).hasMessageContaining("may not call");
      assertThatThrownBy(() -> c.start("greet", 1, json("r"), "reader-start"))
          .isInstanceOf(Errors.PermissionDeniedException.class);
      assertThat(op.describe(id).status()).as("the refused terminate did nothing").isEqualTo(WorkflowStatus.RUNNING);
      assertThatThrownBy(() -> op.describe("reader-start")).isInstanceOf(Errors.WorkflowNotFoundException.class);
      op.terminate(id, "cleanup");
    }
  }

  @Test
  void aWorkerTokenIsNotAClient() {
    try (RaftoralClient c = client(worker)) {
      assertThatThrownBy(() -> c.describe("any")).isInstanceOf(Errors.PermissionDeniedException.class);
    }
  }

  @Test
  void noTokenOrAWrongOneIsUnauthenticated() {
    try (RaftoralClient c = RaftoralClient.builder(api(0)).tlsCa(ca).build()) {
      assertThatThrownBy(() -> c.describe("any")).isInstanceOf(Errors.UnauthenticatedException.class).hasMessageContaining("no credentials");
    }
    String wrongSecret = operator.substring(0, operator.length() - 4) + "AAAA";
    try (RaftoralClient c = client(wrongSecret)) {
      assertThatThrownBy(() -> c.describe("any")).isInstanceOf(Errors.UnauthenticatedException.class).hasMessageContaining(TokenFile.idOf(operator))
          .hasMessageNotContaining(wrongSecret);
    }
    try (RaftoralClient c = client("not-a-token")) {
      assertThatThrownBy(() -> c.describe("any")).isInstanceOf(Errors.UnauthenticatedException.class);
    }
  }

  @Test
  void aPlaintextClientCannotTalkToATlsPort() {
    try (RaftoralClient c = RaftoralClient.builder(api(0)).token(operator).callTimeout(Duration.ofSeconds(5)).build()) {
      assertThatThrownBy(() -> c.describe("any")).isInstanceOf(Errors.UnavailableException.class);
    }
  }

  @Test
  void clientCertificatesOfTheClusterAuthenticateWithTheirRole() throws Exception {
    Path certs = dir.resolve("certs");
    try (RaftoralClient c = RaftoralClient.builder(api(2)).tlsCa(ca)
        .clientCertificate(certs.resolve("client.pem"), certs.resolve("client-key.pem")).build()) {
      String id = c.start("greet", 1, json("cert"), "by-certificate").workflowId();
      assertThat(c.await(id, Duration.ofSeconds(30)).info().status()).isEqualTo(WorkflowStatus.COMPLETED);
    }
    CertificateAuthority authority = CertificateAuthority.load(ca, certs.resolve("ca-key.pem"));
    Instant now = Instant.now();
    authority.issueClient("reader-client", Role.READER, now.minusSeconds(3600), now.plusSeconds(3600))
        .write(dir.resolve("reader.pem"), dir.resolve("reader-key.pem"));
    try (RaftoralClient c = RaftoralClient.builder(api(2)).tlsCa(ca)
        .clientCertificate(dir.resolve("reader.pem"), dir.resolve("reader-key.pem")).build()) {
      assertThat(c.describe("by-certificate").status()).isEqualTo(WorkflowStatus.COMPLETED);
      assertThatThrownBy(() -> c.terminate("by-certificate", "no")).isInstanceOf(Errors.PermissionDeniedException.class);
    }
    authority.issueClient("late", Role.OPERATOR, now.minus(Duration.ofDays(3)), now.minus(Duration.ofDays(1)))
        .write(dir.resolve("expired.pem"), dir.resolve("expired-key.pem"));
    try (RaftoralClient c = RaftoralClient.builder(api(2)).tlsCa(ca)
        .clientCertificate(dir.resolve("expired.pem"), dir.resolve("expired-key.pem")).build()) {
      assertThatThrownBy(() -> c.describe("by-certificate")).isInstanceOf(Errors.UnauthenticatedException.class).hasMessageContaining("expired");
    }
    CertificateAuthority stranger = CertificateAuthority.create("stranger-ca", Duration.ofDays(1));
    stranger.issueClient("intruder", Role.OPERATOR, now.minusSeconds(3600), now.plusSeconds(3600))
        .write(dir.resolve("intruder.pem"), dir.resolve("intruder-key.pem"));
    try (RaftoralClient c = RaftoralClient.builder(api(2)).tlsCa(ca)
        .clientCertificate(dir.resolve("intruder.pem"), dir.resolve("intruder-key.pem")).build()) {
      assertThatThrownBy(() -> c.describe("by-certificate")).isInstanceOf(Errors.UnauthenticatedException.class).hasMessageContaining("not one of the cluster's CA");
    }
  }

  @Test
  void aTokenAddedToTheFileIsAcceptedWithoutARestartAndARemovedOneNoLonger() throws Exception {
    String later = TokenFile.create(tokens, Role.READER);
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    try (RaftoralClient c = client(later)) {
      while (true) {
        try {
          assertThatThrownBy(() -> c.describe("none-such")).isInstanceOf(Errors.WorkflowNotFoundException.class);
          break;
        } catch (AssertionError notYet) {
          if (System.nanoTime() > deadline) {
            throw notYet;
          }
          Thread.sleep(100);
        }
      }
    }
    String id = TokenFile.idOf(later);
    List<String> kept = Files.readAllLines(tokens).stream().filter(l -> !l.contains(" " + id + " ")).toList();
    Files.write(tokens.resolveSibling("tokens.new"), kept);
    Files.move(tokens.resolveSibling("tokens.new"), tokens, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    try (RaftoralClient c = client(later)) {
      while (true) {
        try {
          assertThatThrownBy(() -> c.describe("none-such")).isInstanceOf(Errors.UnauthenticatedException.class);
          break;
        } catch (AssertionError notYet) {
          if (System.nanoTime() > deadline) {
            throw notYet;
          }
          Thread.sleep(100);
        }
      }
    }
    try (RaftoralClient c = client(reader)) {
      assertThatThrownBy(() -> c.describe("none-such")).as("the other tokens stay").isInstanceOf(Errors.WorkflowNotFoundException.class);
    }
  }

  /** {@code raftoral COMMAND ARGS} against node 0, with the exit code and what it printed. */
  private static String[] cli(String... args) {
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    picocli.CommandLine cli = io.raftoral.cli.RaftoralCli.commandLine();
    cli.setOut(new java.io.PrintWriter(out, true));
    cli.setErr(new java.io.PrintWriter(err, true));
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--api", api(0)));
    int code = cli.execute(all.toArray(String[]::new));
    return new String[] {String.valueOf(code), out.toString(), err.toString()};
  }

  @Test
  void theCliTalksTlsWithATokenAndExitsSixWhenRefused() {
    String[] started = cli("start", "greet", "--version", "1", "--input", "\"cli\"", "--id", "cli-1", "--wait",
        "--tls-ca", ca.toString(), "--token", operator);
    assertThat(started[0]).as(started[2]).isEqualTo("0");
    assertThat(started[1]).contains("hello cli");
    String[] described = cli("describe", "cli-1", "--tls-ca", ca.toString(), "--token", reader, "--output", "json");
    assertThat(described[0]).as(described[2]).isEqualTo("0");
    assertThat(described[1]).contains("COMPLETED");
    String[] denied = cli("terminate", "cli-1", "--reason", "test", "--tls-ca", ca.toString(), "--token", reader);
    assertThat(denied[0]).as(denied[2]).isEqualTo("6");
    assertThat(denied[0]).isEqualTo("6");
    assertThat(denied[2]).contains("may not call").doesNotContain(reader);
    String[] anonymous = cli("describe", "cli-1", "--tls-ca", ca.toString(), "--output", "json");
    assertThat(anonymous[0]).isEqualTo("6");
    assertThat(anonymous[1]).contains("UnauthenticatedException");
    Path certs = dir.resolve("certs");
    String[] byCertificate = cli("describe", "cli-1", "--tls-ca", ca.toString(), "--tls-cert", certs.resolve("client.pem").toString(),
        "--tls-key", certs.resolve("client-key.pem").toString());
    assertThat(byCertificate[0]).as(byCertificate[2]).isEqualTo("0");
    String[] halfCertificate = cli("describe", "cli-1", "--tls-ca", ca.toString(), "--tls-cert", certs.resolve("client.pem").toString());
    assertThat(halfCertificate[0]).isEqualTo("2");
    assertThat(halfCertificate[2]).contains("--tls-cert and --tls-key go together");
    String[] missingCa = cli("describe", "cli-1", "--tls-ca", dir.resolve("none.pem").toString(), "--token", reader);
    assertThat(missingCa[0]).isEqualTo("2");
    assertThat(missingCa[2]).contains("none.pem");
  }

  @Test
  void healthAnswersWithoutCredentials() throws Exception {
    ManagedChannel channel = NettyChannelBuilder.forTarget(api(0))
        .sslContext(GrpcSslContexts.forClient().trustManager(ca.toFile()).build()).build();
    try {
      assertThat(HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.getDefaultInstance()).getStatus())
          .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void aNodeJoinsOverTlsWithItsCertificateAndOneOfAnotherCaCannot() throws Exception {
    Path certs = dir.resolve("certs");
    Map<Long, String> a = LocalCluster.freeAddresses(2);
    RaftoralNode joined = secured(RaftoralNode.builder(), certs.resolve("node.pem"), certs.resolve("node-key.pem"))
        .join(List.of(api(0))).raftAddress(a.get(1L)).apiAddress(a.get(2L)).electionTimeout(Duration.ofMillis(500)).start();
    NODES.add(joined);
    try (RaftoralClient c = RaftoralClient.builder(joined.apiAddress()).tlsCa(ca).token(operator).build()) {
      String id = c.start("greet", 1, json("joined"), "via-joined").workflowId();
      assertThat(c.await(id, Duration.ofSeconds(30)).info().status()).isEqualTo(WorkflowStatus.COMPLETED);
    }
    CertificateAuthority stranger = CertificateAuthority.create("stranger-ca", Duration.ofDays(1));
    Instant now = Instant.now();
    stranger.issueNode("stranger", List.of("127.0.0.1", "localhost"), now.minusSeconds(3600), now.plusSeconds(3600))
        .write(dir.resolve("stranger.pem"), dir.resolve("stranger-key.pem"));
    Map<Long, String> b = LocalCluster.freeAddresses(2);
    // It trusts the cluster's CA, so the handshake succeeds; its own certificate is not the cluster's.
    RaftoralNode.Builder intruder = secured(RaftoralNode.builder(), dir.resolve("stranger.pem"), dir.resolve("stranger-key.pem"))
        .join(List.of(api(0))).raftAddress(b.get(1L)).apiAddress(b.get(2L));
    assertThatThrownBy(intruder::start).isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("refused the join (UNAUTHENTICATED)").hasMessageContaining("not one of the cluster's CA");
  }
}
