package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The generated id format {@code g<index>-<uuid>}: what carries an index and what never does. */
class WorkflowIdsTest {
  private static final String U = "123e4567-e89b-12d3-a456-426614174000";

  @Test
  void generatedIdsCarryTheirIndex() {
    for (int index : new int[] {0, 1, 9, 10, 42, 999, WorkflowIds.MAX_INDEX}) {
      String id = WorkflowIds.generate(index);
      assertThat(id).startsWith("g" + index + "-");
      assertThat(WorkflowIds.groupIndex(id)).as(id).isEqualTo(index);
    }
    assertThat(WorkflowIds.groupIndex("g3-" + U)).isEqualTo(3);
    assertThat(WorkflowIds.groupIndex("g0-" + UUID.randomUUID())).isZero();
  }

  @Test
  void anythingElseCarriesNoIndex() {
    for (String id : new String[] {
        null, "", "g", "g1", "g1-", "order-17", U, "G1-" + U, "g-" + U, "g01-" + U, "g00-" + U, "g+1-" + U, "g-1-" + U,
        "g1x-" + U, "g1-" + U.toUpperCase(), "g1-" + U + "0", "g1-" + U.substring(1), "g1_" + U,
        "g1-123e4567_e89b-12d3-a456-426614174000", "g1-123e4567-e89b-12d3-a456-42661417400g", "g1234567-" + U,
        "gg1-" + U, "x1-" + U, "g١-" + U, "g1--" + U.substring(1), " g1-" + U, "g 1-" + U}) {
      assertThat(WorkflowIds.groupIndex(id)).as("index of %s", id).isEqualTo(-1);
    }
  }

  @Test
  void generateRefusesIndicesOutOfRange() {
    assertThatThrownBy(() -> WorkflowIds.generate(-1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> WorkflowIds.generate(WorkflowIds.MAX_INDEX + 1)).isInstanceOf(IllegalArgumentException.class);
  }
}
