package io.raftoral.workflow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.common.Errors;
import org.junit.jupiter.api.Test;

class WorkflowDefinitionTest {
  private static final WorkflowDefinition<String, String> PLAIN =
      WorkflowDefinition.of("t", 1, String.class, String.class, (ctx, in) -> in);

  @Test
  void aDefinitionKeepsItsWholeHistoryUnlessToldOtherwise() {
    assertThat(PLAIN.keepLastPerKey()).isZero();
    assertThat(WorkflowDefinition.ofBytes("b", 1, (ctx, in) -> in).keepLastPerKey()).isZero();
  }

  @Test
  void theRetentionAndTheModeSurviveEachOthersCopiers() {
    WorkflowDefinition<String, String> d = PLAIN.withKeepLastPerKey(5).withMode(ExecutionMode.OWNER_ONLY);
    assertThat(d.keepLastPerKey()).isEqualTo(5);
    assertThat(d.mode()).isEqualTo(ExecutionMode.OWNER_ONLY);
    assertThat(d.withKeepLastPerKey(0).keepLastPerKey()).isZero();
    assertThat(d.withKeepLastPerKey(0).mode()).isEqualTo(ExecutionMode.OWNER_ONLY);
  }

  @Test
  void aNegativeRetentionIsAnInvalidArgumentNamingTheType() {
    assertThatThrownBy(() -> PLAIN.withKeepLastPerKey(-1))
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("keepLastPerKey of t@v1 must be >= 0")
        .hasMessageContaining("-1");
    assertThatThrownBy(() -> PLAIN.withKeepLastPerKey(Long.MIN_VALUE)).isInstanceOf(Errors.InvalidArgumentException.class);
  }
}
