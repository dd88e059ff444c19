package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.common.Errors;
import org.junit.jupiter.api.Test;

class RoleTest {
  @Test
  void anOperatorMayReadAndOperateButNotWork() {
    assertThat(Role.OPERATOR.permits(Role.READER)).isTrue();
    assertThat(Role.OPERATOR.permits(Role.OPERATOR)).isTrue();
    assertThat(Role.OPERATOR.permits(Role.WORKER)).isFalse();
  }

  @Test
  void aReaderMayOnlyRead() {
    assertThat(Role.READER.permits(Role.READER)).isTrue();
    assertThat(Role.READER.permits(Role.OPERATOR)).isFalse();
    assertThat(Role.READER.permits(Role.WORKER)).isFalse();
  }

  @Test
  void aWorkerMayOnlyWork() {
    assertThat(Role.WORKER.permits(Role.WORKER)).isTrue();
    assertThat(Role.WORKER.permits(Role.READER)).isFalse();
    assertThat(Role.WORKER.permits(Role.OPERATOR)).isFalse();
  }

  @Test
  void wireNamesAreLowerCaseAndParseBackInAnyCase() {
    assertThat(Role.READER.wireName()).isEqualTo("reader");
    assertThat(Role.OPERATOR.wireName()).isEqualTo("operator");
    assertThat(Role.WORKER.wireName()).isEqualTo("worker");
    for (Role role : Role.values()) {
      assertThat(Role.parse(role.wireName())).isEqualTo(role);
      assertThat(Role.parse(role.name())).isEqualTo(role);
    }
    assertThat(Role.parse("Operator")).isEqualTo(Role.OPERATOR);
  }

  @Test
  void anUnknownNameListsTheValidOnes() {
    assertThatThrownBy(() -> Role.parse("admin"))
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("admin")
        .hasMessageContaining("reader, operator, worker");
    assertThatThrownBy(() -> Role.parse(null)).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> Role.parse("")).isInstanceOf(Errors.InvalidArgumentException.class);
  }
}
