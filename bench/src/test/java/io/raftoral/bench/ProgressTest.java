package io.raftoral.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The terminal progress line of a row: the phase and its seconds, the workflows ended and their rate. */
class ProgressTest {
  private static final long S = 1_000_000_000L;

  @Test
  void duringTheWarmUpTheLineCountsTheWarmUpsSeconds() {
    assertThat(Progress.line("seq10 C=64", 3 * S, 0, 10 * S, 30 * S, 1234, 410.6, 0))
        .isEqualTo("seq10 C=64 warm-up 3/10 s: 1,234 workflows ended, 411/s, 0 errors");
  }

  @Test
  void thenItCountsTheMeasuredSecondsAndNeverPassesTheirEnd() {
    assertThat(Progress.line("seq10 C=64", 17 * S, 0, 10 * S, 30 * S, 20_000, 1500, 2))
        .isEqualTo("seq10 C=64 measuring 7/20 s: 20,000 workflows ended, 1,500/s, 2 errors");
    assertThat(Progress.line("x", 31 * S, 0, 10 * S, 30 * S, 1, 0, 0)).startsWith("x measuring 20/20 s");
  }

  @Test
  void notOnATerminalNothingIsPainted() {
    // The test JVM's stderr is a file or a pipe: start paints nothing and close erases nothing.
    try (Progress p = Progress.start("x", 0, 0, () -> 0, () -> 0)) {
      assertThat(p).isNotNull();
    }
  }
}
