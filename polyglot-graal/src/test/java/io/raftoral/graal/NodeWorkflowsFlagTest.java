package io.raftoral.graal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.api.LocalCluster;
import io.raftoral.cli.RaftoralCli;
import io.raftoral.client.RaftoralClient;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code raftoral node --workflows FILE}: a node process serving JavaScript and Python workflows, and the refusals. */
class NodeWorkflowsFlagTest {
  static final Path FLOWS = Path.of("src/test/resources/flows").toAbsolutePath();

  /** Runs {@code raftoral node ...} in this JVM; for the refusals, which happen before the node starts. */
  static String[] refused(String... workflowsArgs) {
    CommandLine cli = RaftoralCli.commandLine();
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err, true));
    cli.setOut(new PrintWriter(new StringWriter(), true));
    List<String> args = new ArrayList<>(List.of("node", "--raft-addr", "127.0.0.1:1", "--api-addr", "127.0.0.1:2",
        "--bootstrap", "--in-memory"));
    for (String w : workflowsArgs) {
      args.addAll(List.of("--workflows", w));
    }
    int exit = cli.execute(args.toArray(String[]::new));
    return new String[] {String.valueOf(exit), err.toString()};
  }

  @Test
  void aSyntaxErrorRefusesTheStartNamingTheFileAndLine() {
    String[] r = refused(FLOWS.resolve("order.mjs").toString(), FLOWS.resolve("syntax-error.mjs").toString());
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("syntax-error.mjs:4").contains("SyntaxError");
  }

  @Test
  void aFileOfAnUnknownKindIsAUsageError(@TempDir Path dir) throws Exception {
    Path text = Files.writeString(dir.resolve("flows.txt"), "hello");
    String[] r = refused(text.toString());
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("flows.txt").contains("no workflow loader");
  }

  @Test
  void aMissingFileIsAUsageError() {
    String[] r = refused(FLOWS.resolve("nope.mjs").toString());
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("nope.mjs: no such readable file");
  }

  @Test
  void aNodeProcessServesTheWorkflowsOfItsFiles(@TempDir Path dir) throws Exception {
    var ports = LocalCluster.freeAddresses(2);
    String raft = ports.get(1L);
    String api = ports.get(2L);
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx512m",
        "-cp", System.getProperty("java.class.path"), "io.raftoral.cli.RaftoralCli", "node",
        "--raft-addr", raft, "--api-addr", api, "--bootstrap", "--data-dir", dir.resolve("data").toString(),
        "--workflows", FLOWS.resolve("order.mjs").toString(), "--workflows", FLOWS.resolve("order.py").toString());
    Process node = new ProcessBuilder(cmd).redirectError(dir.resolve("stderr.log").toFile()).start();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(node.getInputStream(), StandardCharsets.UTF_8))) {
      String line = out.readLine(); // "node 1 serving api ..." once it serves
      assertThat(line).as("stderr: %s", Files.readString(dir.resolve("stderr.log"))).startsWith("node 1 serving api");
      try (RaftoralClient client = RaftoralClient.connect(api)) {
        String order = "{\"orderId\":\"C-1\",\"items\":[{\"quantity\":1,\"unitPriceCents\":700}]}";
        var js = client.start("order-js", 1, order.getBytes(StandardCharsets.UTF_8), null);
        var py = client.start("order-py", 1, order.getBytes(StandardCharsets.UTF_8), null);
        ObjectMapper json = new ObjectMapper();
        assertThat(json.readTree(client.await(js.workflowId(), Duration.ofSeconds(60)).resultOrThrow()).get("total").asInt())
            .isEqualTo(700);
        assertThat(json.readTree(client.await(py.workflowId(), Duration.ofSeconds(60)).resultOrThrow()).get("total").asInt())
            .isEqualTo(700);
      }
      assertThat(Files.readString(dir.resolve("stderr.log"))).contains("order-js@v1").contains("order-py@v1");
    } finally {
      node.destroy(); // SIGTERM: the node closes cleanly, then its workflows
      assertThat(node.waitFor(60, TimeUnit.SECONDS)).isTrue();
    }
    assertThat(node.exitValue()).isIn(0, 143);
  }
}
