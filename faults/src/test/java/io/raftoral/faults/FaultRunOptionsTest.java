package io.raftoral.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** faults/run's options: what it takes, and a clear error for what it does not. */
class FaultRunOptionsTest {
  @Test
  void optionsAreReadAsGiven() {
    FaultRun.Options o = FaultRun.parse(new String[] {"--minutes", "2.5", "--seed", "7", "--nodes", "5", "--kinds",
        "pause-owner-at-commit, KILL_ONE", "--hold-ms", "100,900", "--clients", "4", "--out", "/tmp/x"});
    assertThat(o.minutes()).isEqualTo(2.5);
    assertThat(o.seed()).isEqualTo(7);
    assertThat(o.nodes()).isEqualTo(5);
    assertThat(o.kinds()).containsExactly(Nemesis.Kind.PAUSE_OWNER_AT_COMMIT, Nemesis.Kind.KILL_ONE);
    assertThat(o.holdMinMillis()).isEqualTo(100);
    assertThat(o.holdMaxMillis()).isEqualTo(900);
    assertThat(o.clients()).isEqualTo(4);
    assertThat(o.out()).isEqualTo(Path.of("/tmp/x"));
    assertThat(FaultRun.parse(new String[] {"--faults", "40", "--kinds", "kill-leader"}).faults()).isEqualTo(40);
  }

  @Test
  void badOptionsAreRefusedNamingTheOption() {
    for (List<String> bad : List.of(List.of("--nodes", "2"), List.of("--kinds", "nope"), List.of("--minutes"),
        List.of("--seed", "x"), List.of("--hold-ms", "9,1"), List.of("--clients", "0"), List.of("--faults", "-1"), List.of("--disk-mib", "5"),
        List.of("--snapshot-every", "0"), List.of("--election-timeout", "soon"), List.of("--frobnicate", "1"))) {
      assertThatThrownBy(() -> FaultRun.parse(bad.toArray(String[]::new))).as(bad.toString())
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(bad.getFirst()).hasMessageEndingWith("(faults/run --help)");
    }
  }
}
