package io.raftoral.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The sleepers benchmark on its smallest run (3 embedded nodes, 200 sleepers), so `bench/run
 * --sleepers` does not rot. Outcome only: no run while they sleep, none woke before its time.
 */
class SleepersBenchTest {
  @Test
  @Timeout(300)
  void twoHundredSleepersHoldNoRunAndNoneWakesEarly() throws Exception {
    SleepersBench bench = new SleepersBench();
    bench.workflows = 200;
    bench.nodes = 3;
    bench.sleepSeconds = 30;
    bench.spreadSeconds = 2;
    bench.starters = 16;
    assertThat(bench.call()).isZero();
  }
}
