package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.raft.GroupId;
import io.raftoral.raft.GroupStats;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** What a replica far behind its leader logs as it catches up: nothing while it keeps up, progress and rate, then once that it caught up. */
class CatchUpLogTest {
  private static final GroupId G = GroupId.of(UUID.nameUUIDFromBytes(new byte[] {1}));
  private static final long S = 1_000_000_000L;

  private static GroupStats follower(long applied, long leaderCommit) {
    return new GroupStats(3, 1, false, Math.min(applied + 10, leaderCommit), applied, 0, applied + 10, -1,
        Map.of(1L, leaderCommit, 2L, applied));
  }

  @Test
  void aReplicaThatKeepsUpLogsNothing() {
    Map<GroupId, CatchUpLog.Seen> seen = new HashMap<>();
    assertThat(CatchUpLog.line(G, follower(5_000, 5_200), seen, 0)).isNull();
    assertThat(seen).isEmpty();
  }

  @Test
  void aReplicaFarBehindLogsItsProgressAndRateThenOnceThatItCaughtUp() {
    Map<GroupId, CatchUpLog.Seen> seen = new HashMap<>();
    assertThat(CatchUpLog.line(G, follower(10_000, 100_000), seen, 0))
        .isEqualTo("group " + G + ": catching up with its leader (node 1): applied 10,000 of 100,000 (10.0%)");
    assertThat(CatchUpLog.line(G, follower(60_000, 100_000), seen, 5 * S))
        .isEqualTo("group " + G + ": catching up with its leader (node 1): applied 60,000 of 100,000 (60.0%), 10,000 entries/s");
    assertThat(CatchUpLog.line(G, follower(99_900, 100_000), seen, 10 * S))
        .isEqualTo("group " + G + ": caught up with its leader (node 1) at index 99,900");
    assertThat(CatchUpLog.line(G, follower(99_950, 100_000), seen, 15 * S)).isNull();
  }

  @Test
  void theLeaderAndAReplicaWithoutALeaderLogNothing() {
    Map<GroupId, CatchUpLog.Seen> seen = new HashMap<>();
    GroupStats leader = new GroupStats(3, 2, true, 100_000, 10, 0, 100_000, -1, Map.of());
    GroupStats leaderless = new GroupStats(3, 0, false, 100_000, 10, 0, 100_000, -1, Map.of());
    assertThat(CatchUpLog.line(G, leader, seen, 0)).isNull();
    assertThat(CatchUpLog.line(G, leaderless, seen, 0)).isNull();
  }
}
