package io.raftoral.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The soak harness end to end on the smallest run (3 node processes, one kill and restart, a few
 * workflows), so `bench/run --soak` does not rot. Outcome only: every check passes.
 */
class SoakTest {
  @Test
  @Timeout(300)
  void oneKillAndRestartRoundLosesNothing() throws Exception {
    Soak soak = new Soak();
    soak.workflows = 4;
    soak.rounds = 1;
    soak.nodeCount = 3;
    soak.steps = 3;
    soak.stepMillis = 200;
    soak.maxDownMillis = 500;
    soak.snapshotEvery = 20;
    soak.seed = 7L;
    assertThat(soak.call()).as("%s", soak.summary).isZero();
    assertThat(soak.summary.workflows()).isEqualTo(4);
    assertThat(soak.summary.kills()).isEqualTo(1);
    assertThat(soak.summary.problems()).isEmpty();
  }
}
