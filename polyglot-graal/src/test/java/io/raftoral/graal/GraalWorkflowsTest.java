package io.raftoral.graal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.common.WorkflowType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** JavaScript workflows on a one-node cluster: the API of the built-in module, the sandbox, the limits. */
class GraalWorkflowsTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Path FLOWS = Path.of("src/test/resources/flows");
  static GraalWorkflows js;
  static LocalCluster cluster;
  static RaftoralNode node;

  @BeforeAll
  static void start() {
    js = GraalWorkflows.load(java.util.List.of(FLOWS.resolve("order.mjs"), FLOWS.resolve("sandbox.mjs")),
        GraalOptions.builder().turnLimit(Duration.ofSeconds(2)).build());
    cluster = LocalCluster.start(1, null, (id, b) -> js.registerOn(b));
    node = cluster.node(1);
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
    if (js != null) {
      js.close();
    }
  }

  static JsonNode run(String type, String inputJson) throws Exception {
    var handle = node.start(type, 1, inputJson.getBytes(StandardCharsets.UTF_8), byte[].class);
    return JSON.readTree(handle.result(Duration.ofSeconds(60)));
  }

  static Errors.WorkflowFailedException failure(String type, String inputJson) {
    var handle = node.start(type, 1, inputJson.getBytes(StandardCharsets.UTF_8), byte[].class);
    try {
      handle.result(Duration.ofSeconds(60));
    } catch (Errors.WorkflowFailedException e) {
      return e;
    }
    throw new AssertionError(type + " did not fail");
  }

  @Test
  void anOrderRunsItsStepsAndItsModuleImportsItsNeighbour() throws Exception {
    JsonNode r = run("order-js", "{\"orderId\":\"A-1\",\"items\":[{\"quantity\":2,\"unitPriceCents\":1500},"
        + "{\"quantity\":3,\"unitPriceCents\":250}]}");
    assertThat(r.get("total").asInt()).isEqualTo(3750);
    assertThat(r.get("reservation").asText()).isEqualTo("rsv-A-1");
    assertThat(r.get("stage").asText()).isEqualTo("reserved");
    assertThat(r.get("owner").asText()).isEqualTo("boolean");
  }

  @Test
  void aThrownErrorFailsTheWorkflowWithItsName() {
    Errors.WorkflowFailedException e = failure("order-js", "{\"orderId\":\"A-2\",\"items\":[]}");
    assertThat(e.errorType()).isEqualTo("RangeError");
    assertThat(e.getMessage()).contains("order A-2 has no items");
  }

  @Test
  void repeatedWritesOfAKeyAreItsSequence() throws Exception {
    var handle = node.start("steps-js", 1, "5".getBytes(StandardCharsets.UTF_8), byte[].class);
    assertThat(new String(handle.result(Duration.ofSeconds(60)), StandardCharsets.UTF_8)).isEqualTo("[0,1,2,3,4]");
    assertThat(node.history(handle.workflowId(), "step")).extracting(h -> new String(h.value(), StandardCharsets.UTF_8))
        .containsExactly("0", "1", "2", "3", "4");
  }

  @Test
  void theClockAndRandomAreRefusedOutsideACompute() {
    for (String where : new String[] {"outside", "random", "new-date"}) {
      Errors.WorkflowFailedException e = failure("clock-js", "\"" + where + "\"");
      assertThat(e.errorType()).as(where).isEqualTo("DeterminismError");
      assertThat(e.getMessage()).as(where).contains("checkpointCompute");
    }
  }

  @Test
  void theClockMayBeReadInsideACompute() throws Exception {
    assertThat(run("clock-js", "\"inside\"").asText()).isEqualTo("number");
  }

  @Test
  void aRunawayLoopFailsItsWorkflowAndTheNodeGoesOn() throws Exception {
    Errors.WorkflowFailedException e = failure("spin-js", "null");
    assertThat(e.errorType()).isEqualTo("TimeLimitError");
    assertThat(e.getMessage()).contains("2000 ms");
    assertThat(run("steps-js", "2").toString()).isEqualTo("[0,1]");
  }

  @Test
  void aPromiseNothingCanSettleFailsTheWorkflowInsteadOfHanging() {
    Errors.WorkflowFailedException e = failure("hang-js", "null");
    assertThat(e.errorType()).isEqualTo("DeadlockError");
  }

  @Test
  void aCtxCallInsideAComputeIsRefused() throws Exception {
    assertThat(run("nested-js", "null").asText()).isEqualTo("INVALID_ARGUMENT");
  }

  @Test
  void timersFireInOrderAndClearedOnesNever() throws Exception {
    assertThat(run("timers-js", "20").toString()).isEqualTo("[\"early\",\"late\"]");
  }

  @Test
  void aFailedComputeLeavesItsPositionFreeAndTheCodeGetsItsOwnError() throws Exception {
    assertThat(run("compute-fails-js", "null").asInt()).isEqualTo(3);
  }

  @Test
  void anInvalidKeyIsATypedError() throws Exception {
    assertThat(run("bad-key-js", "null").asText()).isEqualTo("INVALID_ARGUMENT");
  }

  @Test
  void theSandboxOffersNoHostAccess() throws Exception {
    JsonNode r = run("sandbox-js", "null");
    r.fields().forEachRemaining(f -> assertThat(f.getValue().asText()).as(f.getKey()).isEqualTo("refused"));
  }

  @Test
  void aFinishedRunGivesItsContextBackToThePool() throws Exception {
    run("steps-js", "1");
    assertThat(js.idleContexts(new WorkflowType("steps-js", 1))).isGreaterThanOrEqualTo(1);
  }

  @Test
  void aSyntaxErrorNamesTheFileAndLine() {
    assertThatThrownBy(() -> GraalWorkflows.load(FLOWS.resolve("syntax-error.mjs")))
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("syntax-error.mjs:4")
        .hasMessageContaining("SyntaxError");
  }

  @Test
  void aModuleThatThrowsWhileLoadingIsRefused() {
    assertThatThrownBy(() -> GraalWorkflows.load(FLOWS.resolve("throws-on-load.mjs")))
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("throws-on-load.mjs:2")
        .hasMessageContaining("cannot start: no configuration");
  }

  @Test
  void aModuleWithoutWorkflowsIsRefused() {
    assertThatThrownBy(() -> GraalWorkflows.load(FLOWS.resolve("no-workflows.mjs")))
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("exports no workflow");
  }

  @Test
  void aModuleMayNotImportFilesOutsideItsDirectory() {
    assertThatThrownBy(() -> GraalWorkflows.load(FLOWS.resolve("escape.mjs")))
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("escape.mjs");
  }

  @Test
  void aMissingFileIsRefused() {
    assertThatThrownBy(() -> GraalWorkflows.load(FLOWS.resolve("missing.mjs")))
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("missing.mjs: no such readable file");
  }

  @Test
  void statusOfACompletedRun() throws Exception {
    var handle = node.start("steps-js", 1, "1".getBytes(StandardCharsets.UTF_8), byte[].class);
    handle.result(Duration.ofSeconds(60));
    assertThat(handle.describe().status()).isEqualTo(WorkflowStatus.COMPLETED);
  }
}
