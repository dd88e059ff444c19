package io.raftoral.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.config.NodeOptions;
import io.raftoral.raft.RaftSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The node options reach Raft's settings: Launch is the one place where they become them. */
class LaunchSettingsTest {
  @Test
  void theSnapshotOptionsReachRaftSettings(@TempDir Path dir) {
    NodeOptions options = NodeOptions.builder().raftAddress("127.0.0.1:7001").snapshotThreshold(77)
        .electionTimeout(Duration.ofMillis(400)).snapshotTransferRate(5_000_000).snapshotChunkBytes(131072).build();
    RaftSettings s = new Launch(options, "127.0.0.1:7001", NodeHome.of(dir), null, null, null, null, null)
        .raftSettings(3, Map.of(3L, "127.0.0.1:7001"));
    assertThat(List.of(s.snapshotThreshold(), s.snapshotTransferRate(), (long) s.snapshotChunkBytes()))
        .containsExactly(77L, 5_000_000L, 131072L);
    assertThat(List.of(s.electionTimeoutMin(), s.electionTimeoutMax())).containsExactly(Duration.ofMillis(400), Duration.ofMillis(800));
    assertThat(List.of(s.storageDir(), s.stateDir())).containsExactly(dir.resolve("raft"), dir.resolve("state"));

    RaftSettings defaults = new Launch(NodeOptions.builder().raftAddress("127.0.0.1:7001").build(), "127.0.0.1:7001",
        NodeHome.of(dir), null, null, null, null, null).raftSettings(1, Map.of(1L, "127.0.0.1:7001"));
    assertThat(List.of(defaults.snapshotTransferRate(), (long) defaults.snapshotChunkBytes()))
        .containsExactly(RaftSettings.DEFAULT_SNAPSHOT_TRANSFER_RATE, (long) RaftSettings.DEFAULT_SNAPSHOT_CHUNK_BYTES);
  }
}
