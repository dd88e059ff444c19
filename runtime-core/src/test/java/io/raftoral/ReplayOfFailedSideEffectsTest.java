package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.common.Errors;
import io.raftoral.common.ReplayReport;
import io.raftoral.common.ReplayReport.NoteKind;
import io.raftoral.common.ReplayReport.Reason;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.workflow.WorkflowDefinition;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replay of runs whose side effect failed, or whose result the node refused: a failed
 * checkpointCompute commits nothing, so the history has no trace of it. The rule
 * (docs/ARCHITECTURE.md, "Replay"): a compute whose key#seq is nowhere in the history is taken as
 * one that failed in the recorded run; it throws ReplayedSideEffectFailure into the code (past
 * the history of a FAILED workflow, with the workflow's recorded error) and the report notes it
 * as ASSUMED_FAILED, not as a divergence; a key#seq the history has at a later step is still
 * KEY_ORDER. A result that cannot be encoded matches a FAILED run with that error type. So the
 * unchanged code replays clean; code that does not handle the stand-in is still reported.
 */
class ReplayOfFailedSideEffectsTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @TempDir static Path tmp;
  private static TestCluster cluster;

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1, tmp, (id, b) -> b
        .payloadLimitBytes(64 * 1024)
        // The side effect fails: the live run records no value for "charge" and the workflow FAILED.
        .register(WorkflowDefinition.of("chargeFails", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a", in);
          return ctx.checkpointCompute("charge", String.class, () -> {
            throw new IllegalStateException("card declined");
          });
        }))
        // The side effect fails and the code falls back: history is fallback#0 only; COMPLETED.
        .register(WorkflowDefinition.of("fallsBack", 1, String.class, String.class, (ctx, in) -> {
          try {
            return ctx.checkpointCompute("primary", String.class, () -> {
              throw new IllegalStateException("primary down");
            });
          } catch (IllegalStateException e) {
            return ctx.checkpoint("fallback", "fallback:" + in);
          }
        }))
        // The result is over the payload limit: the live run FAILED with PayloadTooLargeException.
        .register(WorkflowDefinition.of("bigResult", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a", in);
          return "x".repeat(128 * 1024);
        }))
        // Retries after a failed attempt: primary#0 failed, fallback#0, then primary#0 committed.
        .register(WorkflowDefinition.of("retries", 1, String.class, String.class, (ctx, in) -> {
          boolean[] first = {true};
          String got;
          try {
            got = ctx.checkpointCompute("primary", String.class, () -> {
              if (first[0]) {
                first[0] = false;
                throw new IllegalStateException("primary down");
              }
              return "p";
            });
          } catch (IllegalStateException e) {
            ctx.checkpoint("fallback", "f");
            got = ctx.checkpointCompute("primary", String.class, () -> "p");
          }
          return got;
        })));
    cluster.makeOwner(1);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  void aWorkflowFailedByItsSideEffectReplaysCleanWithItsOwnCode() {
    String id = cluster.node(1).start("chargeFails", 1, "in", String.class).workflowId();
    assertThatThrownBy(() -> cluster.node(1).handle(id, String.class).result(TIMEOUT))
        .isInstanceOf(Errors.WorkflowFailedException.class).hasMessageContaining("card declined");

    ReplayReport r = cluster.node(1).replay(id);

    assertThat(r.status()).isEqualTo(WorkflowStatus.FAILED);
    assertThat(r.matches()).as("replay of the unchanged code: %s", r).isTrue();
  }

  @Test
  void aSideEffectThatFailedAndFellBackReplaysCleanWithItsOwnCode() {
    String id = cluster.node(1).start("fallsBack", 1, "in", String.class).workflowId();
    assertThat(cluster.node(1).handle(id, String.class).result(TIMEOUT)).isEqualTo("fallback:in");

    ReplayReport r = cluster.node(1).replay(id);

    assertThat(r.status()).isEqualTo(WorkflowStatus.COMPLETED);
    assertThat(r.matches()).as("replay of the unchanged code: %s", r).isTrue();
  }

  @Test
  void aWorkflowFailedByItsOversizedResultReplaysCleanWithItsOwnCode() {
    String id = cluster.node(1).start("bigResult", 1, "in", String.class).workflowId();
    assertThatThrownBy(() -> cluster.node(1).handle(id, String.class).result(TIMEOUT))
        .isInstanceOf(Errors.WorkflowFailedException.class);

    ReplayReport r = cluster.node(1).replay(id);

    assertThat(r.status()).isEqualTo(WorkflowStatus.FAILED);
    assertThat(r.matches()).as("replay of the unchanged code: %s", r).isTrue();
  }

  @Test
  void theAssumedFailureIsANoteAndAChangedFailureIsStillADivergence() {
    String id = cluster.node(1).start("chargeFails", 1, "in", String.class).workflowId();
    assertThatThrownBy(() -> cluster.node(1).handle(id, String.class).result(TIMEOUT)).isInstanceOf(Errors.WorkflowFailedException.class);

    ReplayReport same = cluster.node(1).replay(id);
    assertThat(same.notes()).singleElement().satisfies(n -> {
      assertThat(n.kind()).isEqualTo(NoteKind.ASSUMED_FAILED);
      assertThat(n.step()).isEqualTo(2);
      assertThat(n.key()).isEqualTo("charge");
      assertThat(n.message()).contains("java.lang.IllegalStateException: card declined");
    });

    // New code that handles the failure differently fails with another error: reported.
    ReplayReport wrapped = cluster.node(1).replay(id, WorkflowDefinition.of("chargeFails", 2, String.class, String.class, (ctx, in) -> {
      ctx.checkpoint("a", in);
      try {
        return ctx.checkpointCompute("charge", String.class, () -> "never runs");
      } catch (IllegalStateException e) {
        throw new UnsupportedOperationException("refund " + e.getMessage());
      }
    }));
    assertThat(wrapped.divergence().reason()).isEqualTo(Reason.RESULT_DIFFERS);
    assertThat(wrapped.divergence().got()).isEqualTo("failed with java.lang.UnsupportedOperationException: refund card declined");

    // A plain checkpoint past the history is no side effect: still a missing step.
    ReplayReport extra = cluster.node(1).replay(id, WorkflowDefinition.of("chargeFails", 3, String.class, String.class, (ctx, in) -> {
      ctx.checkpoint("a", in);
      ctx.checkpoint("audit", in);
      return ctx.checkpointCompute("charge", String.class, () -> "never runs");
    }));
    assertThat(extra.divergence().reason()).isEqualTo(Reason.MISSING_STEP);
    assertThat(extra.divergence().got()).isEqualTo("audit#0");
  }

  @Test
  void aFallbackOfAnotherExceptionTypeIsReportedWhereTheCodeThrew() {
    String id = cluster.node(1).start("fallsBack", 1, "in", String.class).workflowId();
    assertThat(cluster.node(1).handle(id, String.class).result(TIMEOUT)).isEqualTo("fallback:in");

    // The original exception type is not recorded: a catch of another type does not take the stand-in.
    ReplayReport r = cluster.node(1).replay(id, WorkflowDefinition.of("fallsBack", 2, String.class, String.class, (ctx, in) -> {
      try {
        return ctx.checkpointCompute("primary", String.class, () -> "never runs");
      } catch (UnsupportedOperationException e) {
        return ctx.checkpoint("fallback", "fallback:" + in);
      }
    }));

    assertThat(r.divergence().reason()).isEqualTo(Reason.CODE_THREW);
    assertThat(r.divergence().got()).startsWith("threw io.raftoral.workflow.ReplayedSideEffectFailure");
    assertThat(r.divergence().message()).contains("stand-in for a side effect that failed");
    assertThat(r.notes()).extracting(ReplayReport.Note::kind).containsExactly(NoteKind.ASSUMED_FAILED);
  }

  @Test
  void aComputeTheHistoryHasLaterIsKeyOrderNotAnAssumedFailure() {
    String id = cluster.node(1).start("retries", 1, "in", String.class).workflowId();
    assertThat(cluster.node(1).handle(id, String.class).result(TIMEOUT)).isEqualTo("p");

    // The replay cannot tell a failed attempt of primary#0 from a reordered step: it reports KEY_ORDER, saying both.
    ReplayReport r = cluster.node(1).replay(id);

    assertThat(r.divergence().reason()).isEqualTo(Reason.KEY_ORDER);
    assertThat(r.divergence().step()).isEqualTo(1);
    assertThat(r.divergence().got()).isEqualTo("primary#0");
    assertThat(r.divergence().message()).contains("it has primary#0 at step 2").contains("attempt of this side effect failed");
    assertThat(r.notes()).isEmpty();
  }
}
