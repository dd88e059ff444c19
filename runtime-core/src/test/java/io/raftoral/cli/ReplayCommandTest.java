package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.TestCluster;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.Errors;
import io.raftoral.common.ReplayReport;
import io.raftoral.common.WorkflowType;
import io.raftoral.workflow.WorkflowDefinition;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code Replay} over gRPC (the Java client) and {@code raftoral replay} against three real nodes,
 * each serving the API: the node replays with the code it has registered, which the test
 * "redeploys" by switching the registered function to a changed key order; the exit code of a
 * divergence, the JSON, and the typed errors (unknown id, a type the answering node lacks).
 */
class ReplayCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  // The code the nodes have now: false as recorded, true after the "new deployment".
  private static final AtomicBoolean NEW_CODE = new AtomicBoolean();
  private static final AtomicInteger SIDE_EFFECTS = new AtomicInteger();
  // The probe workflow's code: without a side effect as recorded, with one after.
  private static final AtomicBoolean PROBING = new AtomicBoolean();
  private static String probeId;

  @TempDir static Path tmp;
  private static TestCluster cluster;
  private static Map<Long, String> api;
  private static String orderId;
  private static String otherId;

  @BeforeAll
  static void startAndRecord() throws Exception {
    api = TestCluster.freeAddresses(3);
    cluster = TestCluster.start(3, tmp, (id, b) -> {
      b.apiAddress(api.get(id)).register(WorkflowDefinition.of("order", 1, Integer.class, String.class, (ctx, n) -> {
        int charged = ctx.checkpointCompute("charge", Integer.class, () -> {
          SIDE_EFFECTS.incrementAndGet();
          return n * 10;
        });
        if (NEW_CODE.get()) {
          int shipped = ctx.checkpoint("ship", charged + 1);
          return ctx.checkpoint("status", "charged") + ":" + shipped;
        }
        String status = ctx.checkpoint("status", "charged");
        return status + ":" + ctx.checkpoint("ship", charged + 1);
      }));
      b.register(WorkflowDefinition.of("probe", 1, String.class, String.class, (ctx, in) -> {
        if (PROBING.get()) {
          try {
            ctx.checkpointCompute("probe", String.class, () -> "probed");
          } catch (IllegalStateException failed) {
            // as a failed side effect leaves it: go on without
          }
        }
        return ctx.checkpoint("a", in);
      }));
      if (id != 3) {
        b.register(WorkflowDefinition.of("other", 1, String.class, String.class, (ctx, in) -> ctx.checkpoint("a", in)));
      }
    });
    cluster.makeOwner(1);
    orderId = cluster.node(1).start("order", 1, 4, String.class).workflowId();
    assertThat(cluster.node(1).handle(orderId, String.class).result(Duration.ofSeconds(60))).isEqualTo("charged:41");
    probeId = cluster.node(1).start("probe", 1, "p", String.class).workflowId();
    cluster.node(1).handle(probeId, String.class).result(Duration.ofSeconds(60));
    otherId = cluster.node(1).start("other", 1, "x", String.class).workflowId();
    cluster.node(1).handle(otherId, String.class).result(Duration.ofSeconds(60));
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  void theClientAndTheCliReportAMatchThenTheDivergenceOfTheNewCode() throws Exception {
    try (RaftoralClient client = RaftoralClient.connect(api.get(2L))) {
      ReplayReport same = client.replay(orderId);
      assertThat(same.matches()).as("report %s", same).isTrue();
      assertThat(same.stepsReplayed()).isEqualTo(3);
      assertThat(same.type()).isEqualTo(new WorkflowType("order", 1));
      assertThat(same).isEqualTo(cluster.node(2).replay(orderId));

      Result text = cli("replay", orderId);
      assertThat(text.exit).isEqualTo(ExitCode.OK);
      assertThat(text.out).startsWith("matches: 3 steps replayed of 3 recorded, workflow " + orderId + " (order@v1, COMPLETED)");

      NEW_CODE.set(true);
      try {
        ReplayReport changed = client.replay(orderId);
        assertThat(changed.divergence()).isEqualTo(new ReplayReport.Divergence(2, ReplayReport.Reason.KEY_ORDER, "status", 0,
            "status#0", "ship#0", "the code asks for ship#0 at step 2 but the history has status#0 there (it has ship#0 at step 3)"));
        assertThat(changed.stepsReplayed()).isEqualTo(1);

        Result diverged = cli("replay", orderId);
        assertThat(diverged.exit).isEqualTo(ExitCode.DIVERGED).isEqualTo(5);
        assertThat(diverged.out).contains("diverges at step 2 (KEY_ORDER) at status#0").contains("expected: status#0")
            .contains("got:      ship#0").contains("1 steps replayed of 3 recorded");

        JsonNode json = JSON.readTree(cli("replay", orderId, "--output", "json").out);
        assertThat(json.path("matches").asBoolean()).isFalse();
        assertThat(json.path("status").asText()).isEqualTo("COMPLETED");
        assertThat(json.path("stepsReplayed").asLong()).isEqualTo(1);
        assertThat(json.path("recordedSteps").asLong()).isEqualTo(3);
        assertThat(json.path("divergence").path("step").asLong()).isEqualTo(2);
        assertThat(json.path("divergence").path("reason").asText()).isEqualTo("KEY_ORDER");
        assertThat(json.path("divergence").path("key").asText()).isEqualTo("status");
        assertThat(json.path("divergence").path("seq").asLong()).isZero();
        assertThat(json.path("divergence").path("expected").asText()).isEqualTo("status#0");
        assertThat(json.path("divergence").path("got").asText()).isEqualTo("ship#0");
      } finally {
        NEW_CODE.set(false);
      }
    }
    assertThat(SIDE_EFFECTS.get()).as("side effects: the recorded run's only").isEqualTo(1);
  }

  // A side effect the history has no trace of is taken as one that failed: a note, over gRPC
  // and in the CLI's text and JSON, not a divergence.
  @Test
  void notesOfAssumedFailuresReachTheClientAndTheCli() throws Exception {
    PROBING.set(true);
    try (RaftoralClient client = RaftoralClient.connect(api.get(2L))) {
      ReplayReport report = client.replay(probeId);
      assertThat(report.matches()).as("report %s", report).isTrue();
      assertThat(report).isEqualTo(cluster.node(2).replay(probeId));
      assertThat(report.notes()).singleElement().satisfies(n -> {
        assertThat(n.kind()).isEqualTo(ReplayReport.NoteKind.ASSUMED_FAILED);
        assertThat(n.step()).isEqualTo(1);
        assertThat(n.key() + "#" + n.seq()).isEqualTo("probe#0");
      });

      Result text = cli("replay", probeId);
      assertThat(text.exit).isEqualTo(ExitCode.OK);
      assertThat(text.out).contains("note at step 1 (ASSUMED_FAILED) at probe#0: ");
      JsonNode json = JSON.readTree(cli("replay", probeId, "--output", "json").out);
      assertThat(json.path("notes")).hasSize(1);
      assertThat(json.path("notes").get(0).path("kind").asText()).isEqualTo("ASSUMED_FAILED");
      assertThat(json.path("notes").get(0).path("key").asText()).isEqualTo("probe");
    } finally {
      PROBING.set(false);
    }
    try (RaftoralClient client = RaftoralClient.connect(api.get(2L))) {
      assertThat(client.replay(probeId).notes()).isEmpty();
    }
  }

  @Test
  void unknownIdsAndTypesTheNodeLacksAreTypedErrors() {
    try (RaftoralClient client = RaftoralClient.connect(api.get(3L))) {
      assertThatThrownBy(() -> client.replay("no-such-workflow")).isInstanceOf(Errors.WorkflowNotFoundException.class);
      assertThatThrownBy(() -> client.replay(otherId)).isInstanceOf(Errors.NotRegisteredException.class)
          .satisfies(e -> assertThat(((Errors.NotRegisteredException) e).workflowType()).isEqualTo(new WorkflowType("other", 1)));
    }
    try (RaftoralClient client = RaftoralClient.connect(api.get(1L))) {
      assertThat(client.replay(otherId).matches()).isTrue();
    }
    Result unknown = cli("replay", "no-such-workflow");
    assertThat(unknown.exit).isEqualTo(ExitCode.FAILED);
    assertThat(unknown.err).contains("no-such-workflow");
    Result notRegistered = cli("replay", otherId, "--api", api.get(3L));
    assertThat(notRegistered.exit).isEqualTo(ExitCode.FAILED);
    assertThat(notRegistered.err).contains("other@v1 is not registered");
    assertThat(cli("replay", " ").exit).isEqualTo(ExitCode.USAGE);
  }

  private record Result(int exit, String out, String err) {}

  private static Result cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = RaftoralCli.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    String[] all = Stream.of(args).anyMatch("--api"::equals) ? args
        : Stream.concat(Stream.of(args), Stream.of("--api", api.get(2L))).toArray(String[]::new);
    int exit = cli.execute(all);
    return new Result(exit, out.toString(), err.toString());
  }
}
