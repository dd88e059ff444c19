package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.cli.NodeProcesses.CliResult;
import io.raftoral.security.CertificateAuthority;
import io.raftoral.security.Role;
import io.raftoral.security.TokenFile;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A three-node cluster of real {@code raftoral node} processes with TLS on every port, mutual
 * TLS between the nodes and token authentication (the files of {@code raftoral certs init} and
 * {@code raftoral token create}): the example workflows run through the CLI on each node; a
 * reader cannot terminate; a caller without a token is refused; a node with a certificate of
 * another CA cannot join.
 */
class SecureProcessesTest {
  @TempDir
  static Path dir;
  private static NodeProcesses cluster;
  private static Path certs;
  private static String operator;
  private static String reader;

  private static List<String> nodeTls(Path cert, Path key) {
    return List.of("--tls-cert", cert.toString(), "--tls-key", key.toString(), "--tls-ca", certs.resolve("ca.pem").toString(),
        "--auth-tokens", dir.resolve("tokens").toString());
  }

  @BeforeAll
  static void start() {
    certs = dir.resolve("certs");
    cluster = new NodeProcesses("SecureProcessesTest");
    CliResult init = cluster.cli("certs", "init", certs.toString());
    assertThat(init.exitCode()).as(init.toString()).isZero();
    CliResult created = cluster.cli("token", "create", "--role", "operator", "--file", dir.resolve("tokens").toString());
    assertThat(created.exitCode()).as(created.toString()).isZero();
    operator = created.stdout().strip();
    reader = TokenFile.create(dir.resolve("tokens"), Role.READER);
    String[] tls = nodeTls(certs.resolve("node.pem"), certs.resolve("node-key.pem")).toArray(String[]::new);
    cluster.bootstrap(tls);
    cluster.startJoining(tls);
    cluster.startJoining(tls);
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static void credentials(String token) {
    cluster.environment(token == null ? Map.of("RAFTORAL_TLS_CA", certs.resolve("ca.pem").toString())
        : Map.of("RAFTORAL_TLS_CA", certs.resolve("ca.pem").toString(), "RAFTORAL_TOKEN", token));
  }

  @Test
  void theExamplesRunOverTlsOnEveryNode() {
    credentials(operator);
    for (int i = 1; i <= 3; i++) {
      CliResult pong = cluster.cliOn(i, "start", "ping_pong", "--version", "1", "--input", "\"ping\"", "--wait");
      assertThat(pong.exitCode()).as(pong.toString()).isZero();
      assertThat(pong.stdout().strip()).isEqualTo("\"pong\"");
    }
    CliResult order = cluster.cliOn(2, "start", "order", "--version", "1", "--input",
        "{\"orderId\":\"S-1\",\"customer\":\"alice\",\"items\":[{\"sku\":\"book\",\"quantity\":1,\"unitPriceCents\":1500}]}", "--wait", "--output", "json");
    assertThat(order.exitCode()).as(order.toString()).isZero();
    assertThat(order.stdout()).contains("COMPLETED");
    CliResult members = cluster.cliOn(3, "cluster", "--output", "json");
    assertThat(members.exitCode()).as(members.toString()).isZero();
    for (int i = 1; i <= 3; i++) {
      assertThat(members.stdout()).contains(cluster.apiAddress(i));
    }
  }

  @Test
  void aReaderReadsButCannotTerminateAndAnonymousCallersAreRefused() {
    credentials(operator);
    CliResult started = cluster.cliOn(1, "start", "countdown", "--version", "1", "--input", "600", "--id", "secure-countdown");
    assertThat(started.exitCode()).as(started.toString()).isZero();
    credentials(reader);
    CliResult described = cluster.cliOn(2, "describe", "secure-countdown");
    assertThat(described.exitCode()).as(described.toString()).isZero();
    assertThat(described.stdout()).contains("RUNNING");
    CliResult denied = cluster.cliOn(2, "terminate", "secure-countdown", "--reason", "not mine");
    assertThat(denied.exitCode()).as(denied.toString()).isEqualTo(6);
    assertThat(denied.stderr()).contains("may not call").doesNotContain(reader);
    credentials(null);
    CliResult anonymous = cluster.cliOn(3, "describe", "secure-countdown");
    assertThat(anonymous.exitCode()).as(anonymous.toString()).isEqualTo(6);
    assertThat(anonymous.stderr()).contains("no credentials");
    credentials(operator);
    CliResult terminated = cluster.cliOn(3, "terminate", "secure-countdown", "--reason", "done");
    assertThat(terminated.exitCode()).as(terminated.toString()).isZero();
  }

  @Test
  void aNodeWithACertificateOfAnotherCaCannotJoin() {
    Instant now = Instant.now();
    CertificateAuthority.create("other-ca", Duration.ofDays(1))
        .issueNode("intruder", List.of("127.0.0.1", "localhost"), now.minusSeconds(3600), now.plusSeconds(3600))
        .write(dir.resolve("intruder.pem"), dir.resolve("intruder-key.pem"));
    List<String> args = new java.util.ArrayList<>(List.of("--raft-address", "127.0.0.1:" + NodeProcesses.freePort(),
        "--api-address", "127.0.0.1:" + NodeProcesses.freePort(),
        "--join", cluster.apiAddress(1), "--data-dir", dir.resolve("intruder-data").toString()));
    args.addAll(nodeTls(dir.resolve("intruder.pem"), dir.resolve("intruder-key.pem")));
    CliResult refused = cluster.runNode(args.toArray(String[]::new));
    assertThat(refused.exitCode()).as(refused.toString()).isNotZero();
    assertThat(refused.stderr()).contains("refused the join (UNAUTHENTICATED)").contains("not one of the cluster's CA");
  }
}
