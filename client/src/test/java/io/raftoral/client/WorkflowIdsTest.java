package io.raftoral.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.common.WorkflowIds;
import java.util.HashSet;
import java.util.OptionalInt;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The id format that names a workflow's execution group, and what it never mistakes for one. */
class WorkflowIdsTest {
  @Test
  void aMintedIdNamesItsGroupAndIsUnique() {
    Set<String> seen = new HashSet<>();
    for (int group : new int[] {0, 1, 7, 42, WorkflowIds.MAX_GROUP_INDEX}) {
      for (int i = 0; i < 100; i++) {
        String id = WorkflowIds.mint(group);
        assertThat(WorkflowIds.groupOf(id)).isEqualTo(OptionalInt.of(group));
        assertThat(seen.add(id)).isTrue();
        UUID uuid = UUID.fromString(id.substring(id.indexOf('-') + 1));
        assertThat(uuid.version()).isEqualTo(4);
        assertThat(uuid.variant()).isEqualTo(2);
      }
    }
  }

  @Test
  void groupsOutOfRangeCannotBeMinted() {
    assertThatThrownBy(() -> WorkflowIds.mint(-1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> WorkflowIds.mint(WorkflowIds.MAX_GROUP_INDEX + 1)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void anythingElseIsACallerChosenId() {
    String uuid = "0b9f6c1e-3d2a-4c5b-8e7f-1a2b3c4d5e6f";
    assertThat(WorkflowIds.groupOf("g3-" + uuid)).isEqualTo(OptionalInt.of(3));
    for (String other : new String[] {
        null, "", "g", "g3-", uuid, "order-17", "g-" + uuid, "g03-" + uuid, "G3-" + uuid, "g3-" + uuid.toUpperCase(),
        "g3-" + uuid + "x", "g3_" + uuid, "g123456-" + uuid, "g3-" + uuid.replace('-', '_'), "g3 " + uuid, "gx-" + uuid,
        "g3--" + uuid.substring(1), "g\u0663-" + uuid}) {
      assertThat(WorkflowIds.groupOf(other)).as(String.valueOf(other)).isEmpty();
    }
  }
}
