package io.raftoral.raft;

import static io.raftoral.raft.TestReplicas.checkpoint;
import static io.raftoral.raft.TransferPeers.reloaded;
import static io.raftoral.raft.TransferPeers.writeAndSnapshot;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.raft.SnapshotFetcher.Source;
import io.raftoral.raft.SnapshotFetcher.Stats;
import io.raftoral.raft.TestReplicas.Replica;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.server.protocol.TermIndex;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fetching side of out-of-band snapshots against real {@link SnapshotTransferService}s on
 * real sockets, serving real replicas' snapshots (no Ratis division around them: the sources are
 * given). A snapshot two peers hold with the same bytes is fetched from both at once; when one
 * source dies half way, the other finishes it without fetching the verified bytes again.
 */
class SnapshotFetcherTest {
  @TempDir Path tmp;
  private final TransferPeers peers = new TransferPeers();

  @AfterEach
  void stop() {
    peers.close();
  }

  @Test
  void aSnapshotTwoPeersHoldIsFetchedFromBothAtOnceAndLoads() throws Exception {
    try (TestReplicas replicas = new TestReplicas(tmp)) {
      Replica leader = replicas.replica("n1");
      String digest = writeAndSnapshot(leader, 8);
      Replica second = replicas.replica("n2");
      second.installFrom(leader); // the same files: the same snapshot id, two holders
      Replica follower = replicas.replica("n3");

      List<Source> sources = List.of(peers.serve(1, leader, 64 << 10, 0), peers.serve(2, second, 64 << 10, 0));
      Stats stats;
      try (SnapshotFetcher fetcher = new SnapshotFetcher(3)) {
        TermIndex at = fetcher.fetchFrom(follower.machine, sources, TermIndex.valueOf(1, 0)).get(60, TimeUnit.SECONDS);
        assertThat(at.getIndex()).isEqualTo(leader.machine.getStateMachineStorage().latest().index());
        stats = fetcher.lastTransfer(follower.machine.group());
      }
      assertThat(stats.bytesBySource()).as("bytes by source").containsOnlyKeys(1L, 2L);
      assertThat(stats.bytesBySource().values()).allSatisfy(bytes -> assertThat(bytes).isPositive());
      assertThat(stats.fetchedBytes()).isEqualTo(stats.totalBytes());
      assertThat(stats.resumedBytes()).isZero();
      assertThat(stats.refetchedBytes()).isZero();

      // Ratis then pauses the follower and reloads it: the fetched snapshot is its state.
      assertThat(reloaded(follower)).isEqualTo(digest);
    }
  }

  @Test
  void whenOneSourceDiesHalfWayTheOtherFinishesWithoutRefetchingVerifiedBytes() throws Exception {
    try (TestReplicas replicas = new TestReplicas(tmp)) {
      Replica leader = replicas.replica("n1");
      String digest = writeAndSnapshot(leader, 4);
      Replica second = replicas.replica("n2");
      second.installFrom(leader);
      Replica follower = replicas.replica("n3");

      // Both slow (100 KB/s each) so that source 1 dies in the middle of its files.
      Source first = peers.serve(1, leader, 64 << 10, 100_000);
      Source slow = peers.serve(2, second, 64 << 10, 100_000);
      Stats stats;
      try (SnapshotFetcher fetcher = new SnapshotFetcher(3)) {
        var transfer = fetcher.fetchFrom(follower.machine, List.of(first, slow), TermIndex.valueOf(1, 0));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (sentBy(fetcher, follower, 1L) == 0) {
          assertThat(System.nanoTime()).as("source 1 sends a chunk").isLessThan(deadline);
          assertThat(transfer).isNotDone();
          Thread.sleep(5);
        }
        peers.kill(first);
        transfer.get(120, TimeUnit.SECONDS);
        stats = fetcher.lastTransfer(follower.machine.group());
      }
      assertThat(stats.bytesBySource().get(1L)).isPositive();
      assertThat(stats.bytesBySource().get(2L)).isPositive();
      assertThat(stats.failedStreams()).as("streams from source 1 cut by its death").isPositive();
      // Every byte came once: what source 1 sent before it died was kept.
      assertThat(stats.fetchedBytes()).isEqualTo(stats.totalBytes());
      assertThat(stats.refetchedBytes()).isZero();

      assertThat(reloaded(follower)).isEqualTo(digest);
    }
  }

  /**
   * Ratis (3.2) asks for a snapshot when the leader's log starts past the replica's last
   * snapshot, even when the replica's log already holds the entries up to the leader's first
   * one. A peer's snapshot older than what the replica applied must not be installed then: Ratis
   * would move its log back to that index and its next write would stop the replica. The answer
   * is "none": the leader's log goes on from the replica's own.
   */
  @Test
  void aReplicaWhoseLogReachesTheLeadersInstallsNoOlderSnapshot() throws Exception {
    try (TestReplicas replicas = new TestReplicas(tmp)) {
      Replica leader = replicas.replica("n1");
      writeAndSnapshot(leader, 2); // snapshot at 83: the leader's log starts at 84
      long leaderSnapshot = leader.machine.getStateMachineStorage().latest().index();
      Replica follower = replicas.replica("n3");
      writeAndSnapshot(follower, 1); // its own snapshot at 42
      long ownSnapshot = follower.machine.getStateMachineStorage().latest().index();
      long index = ownSnapshot;
      for (int k = 0; k < 60; k++) {
        follower.apply(++index, 1, checkpoint("wf-0", "late-" + k, 0, "v" + k)); // applied past 83, no newer snapshot
      }
      String before = follower.machine.state().digest();
      assertThat(index).isGreaterThan(leaderSnapshot);

      try (SnapshotFetcher fetcher = new SnapshotFetcher(3)) {
        TermIndex at = fetcher.fetchFrom(follower.machine, List.of(peers.serve(1, leader, 64 << 10, 0)),
            TermIndex.valueOf(1, leaderSnapshot + 1)).get(60, TimeUnit.SECONDS);
        assertThat(at).as("no snapshot: the replica replays the leader's log from its own").isNull();
      }
      assertThat(snapshotsOnDisk(follower)).as("its snapshots on disk").containsExactly(ownSnapshot);
      assertThat(follower.machine.appliedIndex()).isEqualTo(index);
      assertThat(follower.machine.state().digest()).isEqualTo(before);
    }
  }

  /**
   * The replica's log can grow while a snapshot is fetched (a new leader whose log goes on from
   * it): once it has passed the snapshot's index, installing the snapshot would move it back, so
   * the transfer ends without installing it.
   */
  @Test
  void aSnapshotTheReplicasLogPassedWhileItWasFetchedIsNotInstalled() throws Exception {
    try (TestReplicas replicas = new TestReplicas(tmp)) {
      Replica leader = replicas.replica("n1");
      writeAndSnapshot(leader, 4);
      long leaderSnapshot = leader.machine.getStateMachineStorage().latest().index();
      Replica follower = replicas.replica("n3");
      follower.apply(1, 1, TestReplicas.owner(1));

      Source slow = peers.serve(1, leader, 64 << 10, 100_000);
      try (SnapshotFetcher fetcher = new SnapshotFetcher(3)) {
        var transfer = fetcher.fetchFrom(follower.machine, List.of(slow), TermIndex.valueOf(1, leaderSnapshot + 1));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (sentBy(fetcher, follower, 1L) == 0) {
          assertThat(System.nanoTime()).as("the source sends a chunk").isLessThan(deadline);
          Thread.sleep(5);
        }
        // Meanwhile the replica's log reaches past the snapshot (the entries a leader appended).
        for (long i = 2; i <= leaderSnapshot + 5; i++) {
          follower.apply(i, 1, checkpoint("wf-x", "k" + i, 0, "v" + i));
        }
        assertThat(transfer).failsWithin(120, TimeUnit.SECONDS).withThrowableThat()
            .withMessageContaining("passed");
      }
      assertThat(snapshotsOnDisk(follower)).as("nothing installed").isEmpty();
      assertThat(follower.machine.appliedIndex()).isEqualTo(leaderSnapshot + 5);
    }
  }

  /** The indexes of the complete snapshots in the replica's directory, newest first (what a reload would find). */
  private static List<Long> snapshotsOnDisk(Replica replica) throws Exception {
    io.raftoral.storage.CheckpointSnapshots files = new io.raftoral.storage.CheckpointSnapshots();
    files.init(replica.storage.getStorageDir().getStateMachineDir().toPath());
    return files.all().stream().map(io.raftoral.storage.CheckpointSnapshots.Snapshot::index).toList();
  }

  private static long sentBy(SnapshotFetcher fetcher, Replica follower, long node) {
    Stats s = fetcher.lastTransfer(follower.machine.group());
    return s == null ? 0 : s.bytesBySource().getOrDefault(node, 0L);
  }
}
