package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Refusals are logged a few lines a second at most, and the next line says how many were left out. */
class RefusalLogTest {
  @Test
  void linesAreLetThroughAtMostEveryIntervalAndCountWhatWasLeftOut() throws Exception {
    RefusalLog log = new RefusalLog();
    assertThat(log.admit()).as("the first refusal is logged").isZero();
    assertThat(log.admit()).as("one right after is left out").isEqualTo(-1);
    assertThat(log.admit()).isEqualTo(-1);
    Thread.sleep(250); // past the 200 ms interval
    assertThat(log.admit()).as("the next line counts the two left out").isEqualTo(2);
    assertThat(RefusalLog.leftOut(2)).isEqualTo(" (and 2 refusals not logged since the last)");
    assertThat(RefusalLog.leftOut(0)).isEmpty();
  }
}
