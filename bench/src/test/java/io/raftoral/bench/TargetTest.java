package io.raftoral.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TargetTest {
  /** jcmd reads another JVM's live heap; this test's JVM is one (jcmd attaches from its own process). */
  @Test
  void liveHeapOfARunningJvmIsReadAndAGoneProcessReadsZero() throws Exception {
    long self = ProcessHandle.current().pid();
    assertThat(Target.liveHeapMb(self)).isPositive();

    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    assertThat(Target.liveHeapMb(gone.pid())).isZero();
  }
}
