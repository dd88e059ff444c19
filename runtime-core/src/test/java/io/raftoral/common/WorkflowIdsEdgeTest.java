package io.raftoral.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.OptionalInt;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Break tests (issue 20) of the g<index>-<uuid> id form: edge indices and near-misses are caller-chosen ids. */
class WorkflowIdsEdgeTest {
  private static final String U = "0b9f6c1e-1234-4abc-8def-0123456789ab";

  @Test
  void mintedIdsRoundTripAtTheEdgesAndAreVersion4() {
    for (int i : new int[] {0, 1, 9, 10, 99_999}) {
      String id = WorkflowIds.mint(i);
      assertThat(WorkflowIds.groupOf(id)).isEqualTo(OptionalInt.of(i));
      UUID u = UUID.fromString(id.substring(id.indexOf('-') + 1));
      assertThat(u.version()).isEqualTo(4);
      assertThat(u.variant()).isEqualTo(2);
    }
    assertThatThrownBy(() -> WorkflowIds.mint(-1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> WorkflowIds.mint(100_000)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void nearMissesAreCallerChosen() {
    assertThat(WorkflowIds.groupOf("g0-" + U)).isEqualTo(OptionalInt.of(0));
    for (String id : new String[] {null, "", "g", "g-" + U, "g00-" + U, "g01-" + U, "g100000-" + U, "G1-" + U,
        "g1-" + U.toUpperCase(), "g1-" + U + "x", "g1-" + U.substring(1), "g1_" + U, "g+1-" + U, "g 1-" + U,
        "g1-" + U.replace('-', '_'), "g1--" + U.substring(1), "g١-" + U}) {
      assertThat(WorkflowIds.groupOf(id)).as("%s", id).isEmpty();
    }
  }
}
