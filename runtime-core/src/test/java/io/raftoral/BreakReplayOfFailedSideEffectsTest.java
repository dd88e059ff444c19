package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.common.Errors;
import io.raftoral.common.ReplayReport;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.workflow.WorkflowDefinition;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Review of issue 21's replay: the recorded runs below ended as their code says, and replaying
 * that very code (the definition registered on the node) must report no divergence. Each one
 * fails where the live run did something the replay does not redo: a checkpointCompute whose
 * function threw (no value committed), or a result the node refused to encode.
 */
class BreakReplayOfFailedSideEffectsTest {
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
}
