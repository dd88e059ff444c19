package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.raftoral.cli.NodeProcesses.CliResult;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the CLI refuses before it talks to any node, and how it reports a node it cannot reach:
 * a clear one-line message, no stack trace, and the documented exit code. No cluster needed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CliUsageTest {
  private NodeProcesses processes;
  private String nobody;

  @BeforeAll
  void setUp() {
    processes = new NodeProcesses("CliUsageTest");
    nobody = "127.0.0.1:" + NodeProcesses.freePort();
  }

  @AfterAll
  void tearDown() {
    processes.close();
  }

  @Test
  void malformedInputJsonIsRefusedBeforeSending() {
    CliResult r = processes.cli("start", "ping_pong", "--version", "1", "--input", "{\"a\":", "--api", nobody);
    assertUsage(r, "--input is not valid JSON");
    assertUsage(processes.cli("start", "ping_pong", "--version", "1", "--input", "ping", "--api", nobody), "--input is not valid JSON");
    assertUsage(processes.cli("start", "ping_pong", "--version", "1", "--input", "1 2", "--api", nobody), "--input is not valid JSON");
    assertUsage(processes.cli("start", "ping_pong", "--version", "0", "--input", "1", "--api", nobody), "--version must be >= 1");
  }

  @Test
  void badOptionValuesAreUsageErrors() {
    assertUsage(processes.cli("result", "x", "--timeout", "soon", "--api", nobody), "'soon' is not a duration");
    assertUsage(processes.cli("result", "x", "--timeout", "0s", "--api", nobody), "positive");
    assertUsage(processes.cli("list", "--started-after", "yesterday", "--api", nobody), "ISO-8601");
    assertUsage(processes.cli("list", "--limit", "0", "--api", nobody), "--limit");
    assertUsage(processes.cli("list", "--version", "2", "--api", nobody), "--version needs --type");
    assertUsage(processes.cli("list", "--status", "DONE", "--api", nobody), "DONE");
    assertUsage(processes.cli("list", "--started-after", "2025-02-01T00:00:00Z", "--started-before", "2025-01-01T00:00:00Z",
        "--api", nobody), "--started-after");
    assertUsage(processes.cli("describe", "x", "--api", "no-port"), "--api");
    assertUsage(processes.cli("terminate", "x", "--api", nobody), "--reason");
    assertUsage(processes.cli("frobnicate"), "frobnicate");
  }

  @Test
  void nodeNeedsExactlyOneOfBootstrapAndJoin() {
    String raft = "127.0.0.1:" + NodeProcesses.freePort();
    String api = "127.0.0.1:" + NodeProcesses.freePort();
    assertUsage(processes.runNode("--raft-addr", raft, "--api-addr", api), "--bootstrap");
    assertUsage(processes.runNode("--raft-addr", raft, "--api-addr", api, "--bootstrap", "--join", nobody), "mutually exclusive");
    assertUsage(processes.runNode("--raft-addr", raft, "--api-addr", api, "--join", nobody, "--node-id", "4"), "--node-id");
    assertUsage(processes.runNode("--raft-addr", "nowhere", "--api-addr", api, "--bootstrap"), "--raft-addr");
  }

  @Test
  void anUnreachableNodeExitsWith3NamingTheAddress() throws Exception {
    CliResult r = processes.cli("describe", "x", "--api", nobody);
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(3);
    assertThat(r.stderr()).contains(nobody).contains("unreachable").doesNotContain("\tat ");

    CliResult json = processes.cli("cluster", "--api", nobody, "--output", "json");
    assertThat(json.exitCode()).as(json.toString()).isEqualTo(3);
    JsonNode error = new ObjectMapper().readTree(json.stdout());
    assertThat(error.path("error").path("message").asText()).contains(nobody);
    assertThat(error.path("exitCode").asInt()).isEqualTo(3);
  }

  @Test
  void anUnknownCommandIsRefusedAlsoWithHelp() {
    for (List<String> args : List.of(List.of("frobnicate"), List.of("frobnicate", "--help"), List.of("--help", "frobnicate"),
        List.of("frobnicate", "start"), List.of("--api", nobody, "frobnicate", "-h"))) {
      CliResult r = processes.cli(args.toArray(String[]::new));
      assertUsage(r, "unknown command 'frobnicate'");
      assertThat(r.stdout()).as(r.toString()).doesNotContain("Usage:");
    }
    CliResult similar = processes.cli("clustr");
    assertUsage(similar, "unknown command 'clustr'");
    assertThat(similar.stderr()).contains("raftoral cluster");
  }

  @Test
  void anUnexpectedArgumentToACommandIsRefusedAlsoWithHelp() {
    for (List<String> args : List.of(List.of("cluster", "frobnicate", "--help"), List.of("node", "-h", "frobnicate"),
        List.of("describe", "x", "frobnicate", "--help"), List.of("cluster", "--api", nobody, "frobnicate", "-h"))) {
      CliResult r = processes.cli(args.toArray(String[]::new));
      assertUsage(r, "'frobnicate'");
      assertThat(r.stderr()).as(r.toString()).contains("raftoral " + args.getFirst() + " --help");
      assertThat(r.stdout()).as(r.toString()).doesNotContain("Usage:");
    }
  }

  @Test
  void inputFileAndStdinOptionsAreCheckedBeforeSending(@TempDir Path dir) throws Exception {
    Path missing = dir.resolve("no-such-input.json");
    assertUsage(processes.cli("start", "ping_pong", "--version", "1", "--input-file", missing.toString(), "--api", nobody),
        "--input-file: no such file: " + missing);
    assertUsage(processes.cli("start", "ping_pong", "--version", "1", "--input-file", missing.getParent().toString(), "--api", nobody),
        "--input-file: " + missing.getParent() + " is a directory");
    Path bad = Files.writeString(missing.resolveSibling("bad.json"), "{\"a\":");
    assertUsage(processes.cli("start", "ping_pong", "--version", "1", "--input-file", bad.toString(), "--api", nobody),
        "--input-file " + bad + " is not valid JSON");
    Path good = Files.writeString(missing.resolveSibling("good.json"), "\"ping\"\n");
    assertUsage(processes.cli("start", "ping_pong", "--version", "1", "--input", "1", "--input-file", good.toString(), "--api", nobody),
        "--input and --input-file");
    assertUsage(processes.cli("start", "ping_pong", "--version", "1", "--api", nobody),
        "--input JSON, --input - (standard input) or --input-file PATH");
    // A readable file with valid JSON gets as far as the (unreachable) node.
    CliResult sent = processes.cli("start", "ping_pong", "--version", "1", "--input-file", good.toString(), "--api", nobody);
    assertThat(sent.exitCode()).as(sent.toString()).isEqualTo(3);
  }

  @Test
  void aGrpcServerWithoutTheRaftoralApiGetsAHintAboutTheAddress() throws Exception {
    Server other = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
        .addService(new HealthStatusManager().getHealthService()).build().start();
    try {
      String address = "127.0.0.1:" + other.getPort();
      for (List<String> args : List.of(List.of("cluster"), List.of("describe", "x"),
          List.of("start", "ping_pong", "--version", "1", "--input", "1", "--wait"))) {
        CliResult r = processes.cli(concat(args, "--api", address));
        assertUsage(r, address + " answered but serves no Raftoral API: is it the node's --raft-addr? use its --api-addr");
      }
      CliResult json = processes.cli("cluster", "--api", address, "--output", "json");
      assertThat(json.exitCode()).as(json.toString()).isEqualTo(2);
      assertThat(new ObjectMapper().readTree(json.stdout()).path("error").path("message").asText()).contains("serves no Raftoral API");
    } finally {
      other.shutdownNow();
    }
  }

  @Test
  void helpExitsZero() {
    CliResult r = processes.cli("--help");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.stdout()).contains("node", "start", "result", "describe", "list", "terminate", "cluster");
  }

  @Test
  void durationsParse() {
    assertThat(Converters.parseDuration("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Converters.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Converters.parseDuration("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(Converters.parseDuration("1m30s")).isEqualTo(Duration.ofSeconds(90));
    assertThat(Converters.parseDuration("PT5S")).isEqualTo(Duration.ofSeconds(5));
    assertThat(Converters.parseDuration("5")).isNull();
    assertThat(Converters.parseDuration("s")).isNull();
    assertThat(Converters.parseDuration("1.5s")).isNull();
  }

  private static String[] concat(List<String> head, String... tail) {
    List<String> all = new ArrayList<>(head);
    all.addAll(List.of(tail));
    return all.toArray(String[]::new);
  }

  private static void assertUsage(CliResult r, String message) {
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
    assertThat(r.stderr()).as(r.toString()).contains(message).doesNotContain("\tat ").doesNotContain("Exception");
  }
}
