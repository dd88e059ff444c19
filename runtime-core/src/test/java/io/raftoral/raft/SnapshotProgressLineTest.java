package io.raftoral.raft;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A snapshot transfer's progress line: bytes held of the total, percent, rate. */
class SnapshotProgressLineTest {
  @Test
  void saysBytesPercentAndRate() {
    assertThat(SnapshotFetcher.progressLine(250_000_000, 1_000_000_000, 48_500_000))
        .isEqualTo("250,000,000 of 1,000,000,000 bytes (25.0%), 48.5 MB/s");
  }

  @Test
  void neverPassesAHundredPercentNorDividesByZero() {
    assertThat(SnapshotFetcher.progressLine(11, 10, 0)).contains("(100.0%)");
    assertThat(SnapshotFetcher.progressLine(0, 0, 0)).contains("(100.0%)");
  }
}
