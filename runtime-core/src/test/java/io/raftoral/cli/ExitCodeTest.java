package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.common.Errors;
import org.junit.jupiter.api.Test;

/** A refused caller (no or unaccepted credentials, or a role that does not allow the call) exits 6. */
class ExitCodeTest {
  @Test
  void refusedCredentialsAndRolesExitDenied() {
    assertThat(ExitCode.DENIED).isEqualTo(6);
    assertThat(ExitCode.of(new Errors.UnauthenticatedException("node a:1: no bearer token"))).isEqualTo(ExitCode.DENIED);
    assertThat(ExitCode.of(new Errors.PermissionDeniedException("node a:1: role reader may not call Terminate")))
        .isEqualTo(ExitCode.DENIED);
    assertThat(ExitCode.of(new Errors.NodeRemovedException("removed"))).isEqualTo(ExitCode.FAILED);
  }
}
