package io.raftoral.raft;

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

  private static long sentBy(SnapshotFetcher fetcher, Replica follower, long node) {
    Stats s = fetcher.lastTransfer(follower.machine.group());
    return s == null ? 0 : s.bytesBySource().getOrDefault(node, 0L);
  }
}
