package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.workflow.WorkflowDefinition;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code raftoral history} against a real node over gRPC: the timeline text, the JSON with every
 * field (JSON values as JSON, other bytes as base64), one key, following pages, --limit, and the
 * exit codes of an unknown id and bad arguments.
 */
class HistoryCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static RaftoralNode node;
  private static String id;
  private static Instant startedAt;

  @BeforeAll
  static void startNodeAndRunAWorkflow() {
    var addresses = TestCluster.freeAddresses(2);
    node = RaftoralNode.builder().nodeId(1).raftAddress(addresses.get(1L)).apiAddress(addresses.get(2L))
        .electionTimeout(Duration.ofMillis(500))
        .register(WorkflowDefinition.of("story", 1, Integer.class, String.class, (ctx, n) -> {
          for (int i = 0; i < n; i++) {
            ctx.checkpoint("step", i);
          }
          ctx.checkpoint("raw", new byte[] {(byte) 0xff, 0, 1});
          return ctx.checkpoint("note", "line one\nline two, long enough to be cut in the timeline's preview");
        }))
        .start();
    startedAt = Instant.now();
    id = node.start("story", 1, 150, String.class).workflowId();
    node.handle(id, String.class).result(Duration.ofSeconds(60));
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  @Test
  void theTimelineShowsSeqKeyPreviewSizeTimeAndOwner() {
    Result r = cli("history", id, "--key", "note");

    assertThat(r.exit).isZero();
    List<String> lines = r.out.lines().toList();
    assertThat(lines.getFirst()).contains("SEQ", "KEY", "VALUE", "SIZE", "COMMITTED AT", "OWNER");
    assertThat(lines).hasSize(2);
    assertThat(lines.get(1)).startsWith("0     note").contains("\"line one\\nline two, long enough to b...")
        .contains(" B").contains("node 1 (term ").doesNotContain("more:");
  }

  @Test
  void jsonHasEveryFieldAndFollowsEveryPage() throws Exception {
    JsonNode all = JSON.readTree(cli("history", id, "--output", "json").out);

    assertThat(all.path("workflowId").asText()).isEqualTo(id);
    assertThat(all.path("nextPageToken").isNull()).isTrue();
    JsonNode entries = all.path("entries");
    assertThat(entries).hasSize(152); // more than one page of the default 100
    JsonNode first = entries.get(0);
    assertThat(first.path("key").asText()).isEqualTo("step");
    assertThat(first.path("seq").asLong()).isZero();
    assertThat(first.path("value").asInt()).isZero();
    assertThat(first.path("size").asInt()).isEqualTo(1);
    assertThat(first.path("ownerNode").asLong()).isEqualTo(1);
    assertThat(first.path("ownerTerm").asLong()).isPositive();
    assertThat(Instant.parse(first.path("committedAt").asText())).isAfterOrEqualTo(startedAt.minusSeconds(1));
    assertThat(first.path("committedAtMillis").asLong()).isEqualTo(Instant.parse(first.path("committedAt").asText()).toEpochMilli());
    List<JsonNode> raw = new ArrayList<>();
    entries.forEach(e -> {
      if (e.path("key").asText().equals("raw")) {
        raw.add(e);
      }
    });
    // A byte[] checkpoint is stored as its raw bytes: not JSON, so base64.
    assertThat(raw).singleElement().satisfies(e -> {
      assertThat(e.path("value").isNull()).isTrue();
      assertThat(e.path("valueBase64").asText()).isEqualTo("/wAB");
      assertThat(e.path("size").asInt()).isEqualTo(3);
    });
  }

  @Test
  void limitPrintsOnePageAndItsTokenWhichReadsTheNext() throws Exception {
    JsonNode page = JSON.readTree(cli("history", id, "--key", "step", "--limit", "100", "--output", "json").out);
    assertThat(page.path("entries")).hasSize(100);
    String token = page.path("nextPageToken").asText();
    assertThat(token).isNotEmpty();

    JsonNode rest = JSON.readTree(cli("history", id, "--key", "step", "--limit", "100", "--page-token", token, "--output", "json").out);
    assertThat(rest.path("entries")).hasSize(50);
    assertThat(rest.path("entries").get(0).path("seq").asLong()).isEqualTo(100);
    assertThat(rest.path("nextPageToken").isNull()).isTrue();

    assertThat(cli("history", id, "--key", "step", "--limit", "2").out).contains("more: --page-token ");
  }

  @Test
  void unknownIdFailsAndBadArgumentsAreUsageErrors() {
    Result unknown = cli("history", "no-such-workflow");
    assertThat(unknown.exit).isEqualTo(ExitCode.FAILED);
    assertThat(unknown.err).contains("no-such-workflow");
    assertThat(cli("history", id, "--limit", "0").exit).isEqualTo(ExitCode.USAGE);
    assertThat(cli("history", id, "--limit", "1001").exit).isEqualTo(ExitCode.USAGE);
    assertThat(cli("history", id, "--page-token", "garbage!").exit).isEqualTo(ExitCode.USAGE);
    assertThat(cli("history", id, "--key", "").exit).isEqualTo(ExitCode.USAGE);
  }

  @Test
  void aValueThatIsNotJsonIsBase64() {
    byte[] notJson = {(byte) 0xff, 0, 1};
    var entry = new io.raftoral.common.HistoryEntry("k", 0, notJson, Instant.EPOCH, 0, 0);
    JsonNode json = io.raftoral.api.WorkflowJson.historyEntry(entry);
    assertThat(json.path("value").isNull()).isTrue();
    assertThat(json.path("valueBase64").asText()).isEqualTo("/wAB");
    assertThat(json.path("committedAt").isNull()).isTrue();
    assertThat(Printer.historyText("w", List.of(entry), null)).contains("(binary)").contains("3 B");
  }

  private record Result(int exit, String out, String err) {}

  private static Result cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = RaftoralCli.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int exit = cli.execute(Stream.concat(Stream.of(args), Stream.of("--api", node.apiAddress())).toArray(String[]::new));
    return new Result(exit, out.toString(), err.toString());
  }
}
