package io.raftoral.graal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Python workflows (GraalPy) on a one-node cluster: the API of the built-in module, the sandbox, the limits. */
class GraalPythonTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Path FLOWS = Path.of("src/test/resources/flows");
  static GraalWorkflows workflows;
  static LocalCluster cluster;
  static RaftoralNode node;

  @BeforeAll
  static void start() {
    workflows = GraalWorkflows.load(List.of(FLOWS.resolve("order.py")),
        GraalOptions.builder().turnLimit(Duration.ofSeconds(3)).build());
    cluster = LocalCluster.start(1, null, (id, b) -> workflows.registerOn(b));
    node = cluster.node(1);
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
    if (workflows != null) {
      workflows.close();
    }
  }

  static String run(String type, String inputJson) {
    var handle = node.start(type, 1, inputJson.getBytes(StandardCharsets.UTF_8), byte[].class);
    return new String(handle.result(Duration.ofSeconds(60)), StandardCharsets.UTF_8);
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
    JsonNode r = JSON.readTree(run("order-py", "{\"orderId\":\"P-1\",\"items\":[{\"quantity\":2,\"unitPriceCents\":1500},"
        + "{\"quantity\":3,\"unitPriceCents\":250}]}"));
    assertThat(r.get("total").asInt()).isEqualTo(3750);
    assertThat(r.get("reservation").asText()).isEqualTo("rsv-P-1");
    assertThat(r.get("stage").asText()).isEqualTo("reserved");
    assertThat(r.get("owner").asText()).isEqualTo("bool");
  }

  @Test
  void aRaisedExceptionFailsTheWorkflowWithItsClassName() {
    Errors.WorkflowFailedException e = failure("order-py", "{\"orderId\":\"P-2\",\"items\":[]}");
    assertThat(e.errorType()).isEqualTo("ValueError");
    assertThat(e.getMessage()).contains("order P-2 has no items");
  }

  @Test
  void repeatedWritesOfAKeyAreItsSequence() {
    var handle = node.start("steps-py", 1, "4".getBytes(StandardCharsets.UTF_8), byte[].class);
    assertThat(new String(handle.result(Duration.ofSeconds(60)), StandardCharsets.UTF_8)).isEqualTo("[0,1,2,3]");
    assertThat(node.history(handle.workflowId(), "step")).extracting(h -> new String(h.value(), StandardCharsets.UTF_8))
        .containsExactly("0", "1", "2", "3");
  }

  @Test
  void theClockAndRandomnessAreRefusedOutsideACompute() {
    for (String where : new String[] {"time", "random", "now", "uuid"}) {
      Errors.WorkflowFailedException e = failure("clock-py", "\"" + where + "\"");
      assertThat(e.errorType()).as(where).isEqualTo("DeterminismError");
      assertThat(e.getMessage()).as(where).contains("checkpoint_compute");
    }
  }

  @Test
  void theClockMayBeReadInsideACompute() {
    assertThat(run("clock-py", "\"inside\"")).isEqualTo("\"float\"");
  }

  @Test
  void aRunawayLoopFailsItsWorkflowAndTheNodeGoesOn() {
    Errors.WorkflowFailedException e = failure("spin-py", "null");
    assertThat(e.errorType()).isEqualTo("TimeLimitError");
    assertThat(e.getMessage()).contains("3000 ms");
    assertThat(run("steps-py", "2")).isEqualTo("[0,1]");
  }

  @Test
  void aRunawayComputeFunctionFailsItsWorkflowWithTheTimeLimitError() {
    // The compute function itself is the code that runs over the limit: the run still ends with
    // the watchdog's error, not with the engine's "Context execution was cancelled".
    Errors.WorkflowFailedException e = failure("spin-in-compute-py", "null");
    assertThat(e.errorType()).isEqualTo("TimeLimitError");
    assertThat(e.getMessage()).contains("3000 ms");
    assertThat(run("steps-py", "2")).isEqualTo("[0,1]");
  }

  @Test
  void codeThatSleepsIsNotStoppedByTheTurnLimit() {
    // The limit counts the CPU time of the run's thread: a run that sleeps, or waits for a CPU on
    // a busy machine, is not a runaway (the conformance suite's 3 s compute failed under load).
    assertThat(run("sleepy-py", "null")).isEqualTo("\"rested\"");
  }

  @Test
  void aFailedComputeLeavesItsPositionFreeAndTheCodeGetsItsOwnException() {
    assertThat(run("compute-fails-py", "null")).isEqualTo("3");
  }

  @Test
  void anInvalidKeyIsATypedError() {
    assertThat(run("bad-key-py", "null")).isEqualTo("\"INVALID_ARGUMENT\"");
  }

  @Test
  void theSandboxOffersNoHostAccess() throws Exception {
    JsonNode r = JSON.readTree(run("sandbox-py", "null"));
    r.fields().forEachRemaining(f -> assertThat(f.getValue().asText()).as(f.getKey()).isEqualTo("refused"));
  }

  @Test
  void startingAThreadFailsTheWorkflowClearly() {
    Errors.WorkflowFailedException e = failure("thread-py", "null");
    assertThat(e.getMessage()).contains("Creating threads is not allowed");
    assertThat(run("steps-py", "1")).isEqualTo("[0]");
  }

  @Test
  void aRunThatMonkeypatchesAModuleDoesNotChangeLaterRuns() {
    assertThat(run("poison-py", "\"poison\"")).isEqualTo("\"poisoned\"");
    assertThat(run("poison-py", "\"plain\"")).isEqualTo("1");
    assertThat(run("poison-py", "\"plain\"")).isEqualTo("1");
  }

  @Test
  void aFinishedRunGivesItsContextBackToThePool() {
    run("steps-py", "1");
    assertThat(workflows.idleContexts(new WorkflowType("steps-py", 1))).isGreaterThanOrEqualTo(1);
  }

  @Test
  void aSyntaxErrorNamesTheFileAndLine() {
    assertThatThrownBy(() -> GraalWorkflows.load(FLOWS.resolve("syntax_error.py")))
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("syntax_error.py")
        .hasMessageContaining("line 6")
        .hasMessageContaining("SyntaxError");
  }
}
