package io.raftoral.graal;

import static io.raftoral.graal.BreakFixture.BREAK;
import static io.raftoral.graal.BreakFixture.HANG;
import static io.raftoral.graal.BreakFixture.JSON;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile inputs that polyglot-graal handles right (GraalDefectsTest holds the ones it does not):
 * pinned so that a fix elsewhere does not break them.
 */
class GraalBreakTest {
  static BreakFixture f;

  @BeforeAll
  static void start() {
    f = new BreakFixture(1, GraalOptions.builder().turnLimit(Duration.ofSeconds(2)).terminationGrace(Duration.ofSeconds(1)),
        BREAK.resolve("break.mjs"));
  }

  @AfterAll
  static void stop() {
    if (f != null) {
      f.close();
    }
  }

  // ---- the determinism guard and the sandbox ----

  @Test
  void theDirectRoutesToTheClockAreRefused() throws Exception {
    for (String c : List.of("clock-date-call", "clock-reflect", "clock-subclass", "clock-bound")) {
      assertThat(f.runCase(c).path("threw").asText()).as(c).isEqualTo("DeterminismError");
    }
    // load() is not there at all (js.load=false): no script, no new global with the real clock.
    assertThat(f.runCase("load-script-clock").path("threw").asText()).isEqualTo("ReferenceError");
    assertThat(f.runCase("clock-undefined-arg").path("ok").asText()).isEqualTo("NaN");
    assertThat(f.runCase("clock-fixed-arg").path("ok").asText()).isEqualTo("1970-01-01T00:00:00.000Z");
    assertThat(f.runCase("clock-inside-async-compute").path("ok").asText()).as("after an await inside the compute").isEqualTo("number");
  }

  @Test
  void aComputeOnlyHostFunctionOutsideAComputeIsRefusedAndNotCalled() throws Exception {
    assertThat(f.runCase("host-outside-compute").path("threw").asText()).isEqualTo("DeterminismError");
    assertThat(f.touched).doesNotContainKey("outside");
  }

  @Test
  void noJavaNoHostObjectNoProcessNoExit() throws Exception {
    assertThat(f.runCase("java-type").path("threw").asText()).isEqualTo("TypeError");
    // The Java package globals are not there at all (js.java-package-globals=false).
    for (String c : List.of("packages", "packages-system")) {
      assertThat(f.runCase(c).path("threw").asText()).as(c).isEqualTo("ReferenceError");
    }
    JsonNode globals = f.runCase("globals");
    for (String absent : List.of("__raftoralHost", "Polyglot", "process", "require", "fetch", "quit", "exit", "read",
        "readbuffer", "readline", "performance")) {
      assertThat(globals.path(absent).asText()).as(absent).isEqualTo("undefined");
    }
    assertThat(f.runCase("quit").asText()).isEqualTo("no quit");
    assertThat(f.runCase("java-host-members").path("ok").asText())
        .isEqualTo("workflowId,type,version,isOwner,isTerminated,checkpoint,checkpointCompute,var");
  }

  @Test
  void aDynamicImportOutsideTheModuleDirectoriesIsRefusedInsideIsAllowed() throws Exception {
    for (String path : List.of("../flows/lib.mjs", "/etc/hostname", "../../../../pom.xml", "file:///etc/passwd")) {
      JsonNode r = f.run("b-js", JSON.writeValueAsString(java.util.Map.of("case", "dynamic-import", "path", path)));
      assertThat(r.has("threw")).as(path + ": " + r).isTrue();
    }
    JsonNode inside = f.run("b-js", "{\"case\":\"dynamic-import\",\"path\":\"./grab-first.mjs\"}");
    assertThat(inside.has("ok")).as(inside.toString()).isTrue();
  }

  @Test
  void symlinksOutOfTheModuleDirectoryAreRefusedAtLoad(@TempDir Path tmp) throws Exception {
    Path outside = Files.createDirectories(tmp.resolve("outside"));
    Files.writeString(outside.resolve("secret.mjs"), "export const secret = 's3cret';\n");
    Path root = Files.createDirectories(tmp.resolve("root"));
    Files.createSymbolicLink(root.resolve("file-link.mjs"), outside.resolve("secret.mjs"));
    Files.createSymbolicLink(root.resolve("dir-link"), outside);
    Files.writeString(root.resolve("inside.mjs"), "export const inside = 'in';\n");
    Files.createSymbolicLink(root.resolve("inside-link.mjs"), root.resolve("inside.mjs"));
    String head = "import { workflow } from \"raftoral\";\n";
    String tail = "export const w = workflow(\"link-js\", 1, async () => v);\n";
    Files.writeString(root.resolve("via-file.mjs"), head + "import { secret as v } from \"./file-link.mjs\";\n" + tail);
    Files.writeString(root.resolve("via-dir.mjs"), head + "import { secret as v } from \"./dir-link/secret.mjs\";\n" + tail);
    Files.writeString(root.resolve("via-dotdot.mjs"), head + "import { secret as v } from \"./../outside/secret.mjs\";\n" + tail);
    Files.writeString(root.resolve("via-inside.mjs"), head + "import { inside as v } from \"./inside-link.mjs\";\n" + tail);
    for (String m : List.of("via-file.mjs", "via-dir.mjs", "via-dotdot.mjs")) {
      assertThatThrownBy(() -> GraalWorkflows.load(root.resolve(m)).close()).as(m)
          .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining(m);
    }
    GraalWorkflows.load(root.resolve("via-inside.mjs")).close();
  }

  @Test
  void loadChecks(@TempDir Path tmp) throws Exception {
    String head = "import { workflow, hostModule } from \"raftoral\";\n";
    Path dup = Files.writeString(tmp.resolve("dup.mjs"), head + "const w = workflow(\"dup\", 1, async () => 1);\nexport const a = w;\nexport const b = w;\n");
    assertThatThrownBy(() -> GraalWorkflows.load(dup).close()).isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("export b declares dup@v1, which another export declares already");
    Path one = Files.writeString(tmp.resolve("one.mjs"), head + "export const a = workflow(\"twice\", 1, async () => 1);\n");
    Path two = Files.writeString(tmp.resolve("two.mjs"), head + "export const a = workflow(\"twice\", 1, async () => 2);\n");
    assertThatThrownBy(() -> GraalWorkflows.load(List.of(one, two), GraalOptions.defaults()).close())
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining("twice@v1");
    Path timer = Files.writeString(tmp.resolve("timer.mjs"), head + "export const a = workflow(\"t\", 1, async () => 1);\nsetTimeout(() => {}, 1);\n");
    assertThatThrownBy(() -> GraalWorkflows.load(timer).close()).isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("only available while a workflow runs");
    Path host = Files.writeString(tmp.resolve("host.mjs"), head + "export const a = workflow(\"h\", 1, async () => 1);\nhostModule(\"nope\");\n");
    assertThatThrownBy(() -> GraalWorkflows.load(host).close()).isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("no host module named \"nope\"");
    Path def = Files.writeString(tmp.resolve("def.mjs"), head + "export default workflow(\"def\", 1, async () => 1);\n");
    try (GraalWorkflows js = GraalWorkflows.load(def)) {
      assertThat(js.definitions()).extracting(d -> d.type().toString()).containsExactly("def@v1");
    }
  }

  // ---- what the code throws and returns ----

  @Test
  void thrownValuesThatAreNotErrorsFailWithTypeError() {
    assertFailed("throw-string", "Error", "a plain string");
    assertFailed("throw-null", "Error", "null");
    assertFailed("throw-undefined", "Error", "undefined");
    assertFailed("throw-number", "Error", "42");
    assertFailed("then-throws", "SyntaxError", "in a then callback");
    assertFailed("stack-overflow", "RangeError", "Maximum call stack size exceeded");
    assertFailed("timer-throws-string", "Error", "plain from a timer");
    assertThat(f.failCase("timer-throws").errorType()).isEqualTo("RangeError");
  }

  @Test
  void aComputeFunctionsThrownValueReachesTheCodeAsItself() throws Exception {
    assertThat(f.runCase("compute-throw-string").toString()).isEqualTo("{\"threwValue\":\"plain\",\"type\":\"string\"}");
    assertThat(f.runCase("compute-throw-undefined").toString()).isEqualTo("{\"threwValue\":\"undefined\",\"type\":\"undefined\"}");
    assertThat(f.runCase("compute-stack-overflow").path("threw").asText()).isEqualTo("RangeError");
  }

  @Test
  void resultsThatAreNotJson() throws Exception {
    assertThat(f.runCase("ret-undefined").isNull()).isTrue();
    assertThat(f.runCase("ret-function").isNull()).isTrue();
    assertThat(f.runCase("ret-symbol").isNull()).isTrue();
    assertThat(f.failCase("ret-bigint").errorType()).isEqualTo("TypeError");
    assertThat(f.failCase("ret-cyclic").errorType()).isEqualTo("TypeError");
    assertThat(f.failCase("result-deep").errorType()).isEqualTo("RangeError");
    assertThat(f.runCase("checkpoint-bigint").path("code").asText()).isEqualTo("CODEC");
    assertThat(f.runCase("checkpoint-cyclic").path("code").asText()).isEqualTo("CODEC");
  }

  @Test
  void valuesAboveThePayloadLimitAreTypedErrorsAndTheNodeGoesOn() throws Exception {
    assertThat(f.runCase("checkpoint-huge").path("code").asText()).isEqualTo("PAYLOAD_TOO_LARGE");
    assertThat(f.runCase("compute-huge").path("code").asText()).isEqualTo("PAYLOAD_TOO_LARGE");
    assertThat(f.failCase("result-huge").errorType()).contains("PayloadTooLarge");
    assertThat(f.runCase("plain").asInt()).isEqualTo(1);
  }

  @Test
  void inputThatIsNotJsonFailsWithSyntaxError() {
    assertThat(f.failure("echo-js", "not json").errorType()).isEqualTo("SyntaxError");
    assertThat(f.failure("echo-js", "").errorType()).isEqualTo("SyntaxError");
  }

  @Test
  void aWorkflowFunctionThatIsNotAsync() throws Exception {
    assertThat(f.run("sync-return-js", "null").asInt()).isEqualTo(42);
    Errors.WorkflowFailedException e = f.failure("sync-throw-js", "null");
    assertThat(e.errorType()).isEqualTo("TypeError");
    assertThat(e.errorMessage()).isEqualTo("thrown synchronously");
  }

  @Test
  void keysThatAreNotNonEmptyWellFormedStringsAreRefused() throws Exception {
    JsonNode codes = f.runCase("keys");
    assertThat(codes).hasSize(18);
    codes.forEach(c -> assertThat(c.asText()).isEqualTo("INVALID_ARGUMENT"));
  }

  @Test
  void anUnhandledRejectionIsIgnored() throws Exception {
    assertThat(f.runCase("unhandled-rejection").asInt()).isEqualTo(1);
  }

  // ---- timers ----

  @Test
  void oddDelaysFireAtOnceAndManyTimersFireInOrder() throws Exception {
    assertThat(f.runCase("timer-odd-delays").toString()).isEqualTo("[0,1,2,3,4,5,6]");
    assertThat(f.runCase("timer-many").toString()).isEqualTo("{\"count\":5000,\"inOrder\":true}");
    assertThat(f.runCase("timer-args").toString()).isEqualTo("[\"x\",2]");
    assertThat(f.runCase("clear-foreign").asText()).isEqualTo("ok");
  }

  // ---- order of concurrent calls ----

  @Test
  void concurrentWritesOfOneKeyTakeTheirPositionsInCallOrderAndReplay() throws Exception {
    var handle = f.start("b-js", "{\"case\":\"same-key-all\"}");
    JsonNode r = JSON.readTree(handle.result(HANG));
    List<Integer> expected = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      expected.add(i);
    }
    assertThat(r.get("values")).extracting(JsonNode::asInt).containsExactlyElementsOf(expected);
    assertThat(r.get("v").asInt()).isEqualTo(20);
    assertThat(f.node.history(handle.workflowId(), "k")).extracting(h -> Integer.parseInt(new String(h.value(), StandardCharsets.UTF_8)))
        .containsExactlyElementsOf(expected);
    assertThat(f.node.replay(handle.workflowId()).matches()).isTrue();
  }

  @Test
  void callsMadeAfterTheFunctionReturnedAreStillMadeBeforeItEnds() throws Exception {
    var handle = f.start("b-js", "{\"case\":\"after-return\"}");
    assertThat(new String(handle.result(HANG), StandardCharsets.UTF_8)).isEqualTo("\"returned\"");
    assertThat(f.node.history(handle.workflowId(), "x")).hasSize(1);
    assertThat(f.node.history(handle.workflowId(), "y")).hasSize(1);
  }

  @Test
  void fiftyRunsAtOnceOfOneType() throws Exception {
    List<io.raftoral.api.WorkflowHandle<byte[]>> handles = new ArrayList<>();
    for (int n = 0; n < 50; n++) {
      handles.add(f.start("conc-js", Integer.toString(n)));
    }
    for (int n = 0; n < 50; n++) {
      JsonNode r = JSON.readTree(handles.get(n).result(HANG));
      assertThat(r.toString()).as("run %d", n).isEqualTo("[" + n + "," + 2 * n + "," + (n + 1) + "," + 3 * (n + 1) + "]");
    }
    assertThat(f.js.idleContexts(new WorkflowType("conc-js", 1))).isBetween(1, GraalOptions.DEFAULT_MAX_IDLE_CONTEXTS);
  }

  // ---- limits and termination ----

  @Test
  void aTurnLimitHitInsideAComputeFailsTheRunAndTheNodeGoesOn() throws Exception {
    assertThat(f.failCase("spin-in-compute").errorType()).isEqualTo("TimeLimitError");
    assertThat(f.runCase("plain").asInt()).isEqualTo(1);
  }

  @Test
  void terminatingARunWhoseComputeWaitsEndsItAndTheTypeRunsOn() throws Exception {
    var handle = f.start("b-js", "{\"case\":\"terminate-in-compute\"}");
    assertThat(f.latch(handle.workflowId()).await(HANG.toSeconds(), TimeUnit.SECONDS)).isTrue();
    f.node.terminate(handle.workflowId(), "break test");
    assertThatThrownBy(() -> handle.result(HANG)).isInstanceOf(Errors.WorkflowTerminatedException.class);
    assertThat(f.node.history(handle.workflowId(), "hold")).isEmpty();
    assertThat(f.runCase("plain").asInt()).isEqualTo(1);
  }

  // ---- three nodes ----

  @Test
  void everyNodeOfAGroupSeesTheSameValuesForConcurrentCallsAndComputes() throws Exception {
    try (BreakFixture three = new BreakFixture(3, GraalOptions.builder(), BREAK.resolve("break.mjs"))) {
      var handle = three.start("det-js", "null");
      JsonNode r = JSON.readTree(handle.result(HANG));
      assertThat(r.toString()).isEqualTo("[\"a\",\"b\",\"c\",1,\"d\",2,45]");
      assertThat(three.records.get(handle.workflowId())).as("what each node's run saw").hasSize(3)
          .allSatisfy(seen -> assertThat(seen).isEqualTo(r.toString()));
      assertThat(three.node.replay(handle.workflowId()).matches()).isTrue();
    }
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES) // a hang guard, not a timing
  void closingTheNodeWhileAJsRunWaitsOnATimerReturns() throws Exception {
    BreakFixture own = new BreakFixture(1, GraalOptions.builder(), BREAK.resolve("break.mjs"));
    try {
      var handle = own.start("b-js", "{\"case\":\"wait-hour\"}");
      own.awaitCheckpoint(handle.workflowId(), "sleeping");
      Thread.sleep(500); // the answer to that write was posted before it committed: let the loop take it and go idle
    } finally {
      own.close();
    }
  }

  private static void assertFailed(String c, String type, String message) {
    Errors.WorkflowFailedException e = f.failCase(c);
    assertThat(e.errorType()).as(c).isEqualTo(type);
    assertThat(e.errorMessage()).as(c).isEqualTo(message);
  }
}
