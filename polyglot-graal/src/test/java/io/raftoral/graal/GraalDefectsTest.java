package io.raftoral.graal;

import static io.raftoral.graal.BreakFixture.BREAK;
import static io.raftoral.graal.BreakFixture.HANG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftoral.common.Errors;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Defects of polyglot-graal found by the break review, now fixed: each test states what should
 * happen and failed on the code as reviewed (wip-break, c87df88; the report said how each failed).
 * A hang shows as Errors.TimeoutException after {@link BreakFixture#HANG}.
 */
class GraalDefectsTest {
  static BreakFixture f;

  @BeforeAll
  static void start() {
    f = new BreakFixture(1, GraalOptions.builder(), BREAK.resolve("break.mjs"), BREAK.resolve("import-order.mjs"));
  }

  @AfterAll
  static void stop() {
    if (f != null) {
      f.close();
    }
  }

  // ---- the determinism guard ----

  /** new Date.prototype.constructor() is the unguarded Date: the clock outside a compute. */
  @Test
  void theDateConstructorReachedThroughAnInstanceIsGuarded() throws Exception {
    assertThat(f.runCase("clock-proto-ctor").path("threw").asText()).isEqualTo("DeterminismError");
    assertThat(f.runCase("clock-instance-ctor").path("threw").asText()).isEqualTo("DeterminismError");
  }

  /** Intl.DateTimeFormat().format() and formatToParts() without a date read the clock. */
  @Test
  void intlDateTimeFormatWithoutADateIsGuarded() throws Exception {
    assertThat(f.runCase("clock-intl-parts").path("threw").asText()).isEqualTo("DeterminismError");
    assertThat(f.runCase("clock-intl").path("threw").asText()).isEqualTo("DeterminismError");
  }

  /** loadWithNewGlobal (a Nashorn extension, on by default) evaluates in a fresh realm with the real Date and Math.random. */
  @Test
  void aNewGlobalHasNoUnguardedClockOrRandom() throws Exception {
    assertThat(f.runCase("new-global-clock").path("ok").asText()).as("Date.now() in a new global").isNotEqualTo("number");
    assertThat(f.runCase("new-global-random").path("ok").asText()).as("Math.random() in a new global").isNotEqualTo("number");
  }

  /**
   * A module imported before "raftoral" is evaluated before the built-in module guards the clock
   * and removes the host object from the global scope: it keeps the real Date.now, Date,
   * Math.random and the ModuleHost.
   */
  @Test
  void aModuleImportedBeforeRaftoralGetsNoUnguardedClockAndNoHostObject() throws Exception {
    JsonNode r = f.run("grab-js", "null");
    assertThat(r.path("now").asText()).as("Date.now captured first").isEqualTo("DeterminismError");
    assertThat(r.path("newDate").asText()).as("Date captured first").isEqualTo("DeterminismError");
    assertThat(r.path("random").asText()).as("Math.random captured first").isEqualTo("DeterminismError");
    assertThat(r.path("host").asText()).as("globalThis.__raftoralHost captured first").isEqualTo("undefined");
  }

  /**
   * While a compute function awaits, any other code of the run (a Promise.all branch, a timer)
   * may read the clock: the guard asks only whether some compute is pending. On the other nodes
   * the compute does not run and the same code throws, so the nodes diverge.
   */
  @Test
  void codeBesideAPendingComputeMayNotReadTheClock() throws Exception {
    assertThat(f.runCase("clock-beside-compute").path("threw").asText()).isEqualTo("DeterminismError");
  }

  /** The same hole for compute-only host functions: called outside the compute, on the owner only, result not committed. */
  @Test
  void aComputeOnlyHostFunctionBesideAPendingComputeIsRefused() throws Exception {
    assertThat(f.runCase("host-beside-compute").path("threw").asText()).isEqualTo("DeterminismError");
    assertThat(f.touched).doesNotContainKey("beside");
  }

  // ---- errors ----

  /**
   * A compute function that throws an object errorName cannot convert (no toString, or a name
   * getter that throws) hangs its run: failedWith() settles the compute's bookkeeping, then
   * errorName() throws before the future completes, so the caller thread waits forever and the
   * loop thinks a call is being made.
   */
  @Test
  void aComputeThatThrowsAnUnprintableObjectSettles() throws Exception {
    assertThat(f.runCase("compute-throw-null-proto").asText()).isEqualTo("the same object");
    assertThat(f.runCase("compute-throw-getter").asText()).isEqualTo("the same object");
  }

  /** The same values thrown by the workflow function fail it with the Java class name org.graalvm.polyglot.PolyglotException. */
  @Test
  void aWorkflowThatThrowsAnUnprintableObjectFailsWithAJavaScriptErrorType() {
    for (String c : List.of("throw-null-proto", "throw-getter")) {
      Errors.WorkflowFailedException e = f.failCase(c);
      assertThat(e.errorType()).as(c).isEqualTo("Error");
    }
  }

  /** A compute function that can never settle reaches the code as RaftoralError WORKFLOW_FAILED "DeadlockError: ...". */
  @Test
  void aComputeThatNeverSettlesIsADeadlockError() throws Exception {
    assertThat(f.runCase("compute-never").path("threw").asText()).isEqualTo("DeadlockError");
    assertThat(f.failCase("compute-never-uncaught").errorType()).isEqualTo("DeadlockError");
  }

  /** An error thrown in a timer fails the workflow with its message prefixed by its type ("RangeError: from a timer"). */
  @Test
  void anErrorThrownInATimerKeepsItsMessage() {
    Errors.WorkflowFailedException e = f.failCase("timer-throws");
    assertThat(e.errorType()).isEqualTo("RangeError");
    assertThat(e.errorMessage()).isEqualTo("from a timer");
  }

  /**
   * A ctx call inside a compute function is refused only once the loop is idle with nothing
   * pending: with any timer pending (here a timeout raced beside it) the run hangs until the
   * timer fires. WorkflowContext's contract: such a call throws INVALID_ARGUMENT.
   */
  @Test
  void aCtxCallInsideAComputeIsRefusedWhileATimerIsPending() throws Exception {
    assertThat(f.runCase("compute-ctx-beside-timer").path("code").asText()).isEqualTo("INVALID_ARGUMENT");
  }

  /** clearTimeout(1.5), clearTimeout(NaN) and clearTimeout(2 ** 64) throw a TypeError (a long conversion); in JS they do nothing. */
  @Test
  void clearTimeoutOfAnyNumberDoesNothing() throws Exception {
    for (String c : List.of("clear-fraction", "clear-nan", "clear-huge")) {
      assertThat(f.runCase(c).path("ok").asText()).as(c).isEqualTo("no-op");
    }
  }

  // ---- isolation of runs sharing a pooled context ----

  /**
   * A run that replaces a built-in the module "raftoral" uses at run time (JSON.parse here) breaks
   * every later run of its type on that context, whatever its workflow: the built-in module reads
   * JSON.parse, JSON.stringify, Promise and Promise.prototype.then from the global scope per call.
   */
  @Test
  void aRunThatReplacesJsonParseDoesNotBreakLaterRuns() throws Exception {
    assertThat(f.run("poison-json-js", "{\"case\":\"poison-json\"}").asText()).isEqualTo("poisoned");
    assertThat(f.run("poison-json-js", "{\"case\":\"plain\"}").asInt()).isEqualTo(1);
  }

  /** Likewise Promise.prototype.then: a later run of another workflow returns 666 instead of its own result 1. */
  @Test
  void aRunThatReplacesPromiseThenDoesNotChangeLaterRunsResults() throws Exception {
    assertThat(f.run("poison-promise-js", "{\"case\":\"poison-promise\"}").asText()).isEqualTo("poisoned");
    assertThat(f.run("poison-promise-js", "{\"case\":\"plain\"}").asInt()).isEqualTo(1);
  }

  // ---- loading ----

  /** Module code runs at load with no turn limit: a module that spins hangs GraalWorkflows.load (and raftoral node's start). */
  @Test
  void moduleCodeThatRunsLongerThanTheTurnLimitIsRefusedAtLoad() {
    assertThatThrownBy(() -> GraalWorkflows.load(List.of(BREAK.resolve("slow-load.mjs")),
        GraalOptions.builder().loadLimit(java.time.Duration.ofSeconds(1)).build()).close())
        .isInstanceOf(Errors.InvalidArgumentException.class);
  }

  /**
   * An error thrown by the built-in module while a module loads (a bad version here) is reported
   * at the built-in module's temporary file ("/tmp/raftoral-js-.../raftoral.mjs:40:11"), not at
   * the user's file and line as README promises ("file:line:column: message").
   */
  @Test
  void aLoadErrorRaisedByTheBuiltinModuleNamesTheUsersFileAndLine() {
    assertThatThrownBy(() -> GraalWorkflows.load(BREAK.resolve("bad-version.mjs")).close())
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("bad-version.mjs:4");
  }

  // ---- closing ----

  /**
   * GraalWorkflows.close() says runs still going are cancelled; a run waiting on a timer (or a
   * host call) is not in a turn, so checkTurn leaves it alone, the timer executor is shut down,
   * and the run's loop polls forever with its workflow RUNNING.
   */
  @Test
  void closingTheWorkflowsEndsARunWaitingOnATimer() throws Exception {
    BreakFixture own = new BreakFixture(1, GraalOptions.builder(), BREAK.resolve("break.mjs"));
    try {
      var handle = own.start("b-js", "{\"case\":\"wait-hour\"}");
      own.awaitCheckpoint(handle.workflowId(), "sleeping");
      Thread.sleep(500); // the answer to that write was posted before it committed: let the loop take it and go idle
      own.js.close();
      Throwable ended = null;
      try {
        handle.result(HANG);
      } catch (RuntimeException e) {
        ended = e;
      }
      assertThat(ended).as("the run ends (FAILED or otherwise final), it does not stay RUNNING")
          .isNotInstanceOf(Errors.TimeoutException.class);
    } finally {
      own.close();
    }
  }
}
