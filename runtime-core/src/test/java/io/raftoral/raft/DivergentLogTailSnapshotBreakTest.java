package io.raftoral.raft;

import static io.raftoral.raft.TestReplicas.checkpoint;
import static io.raftoral.raft.TestReplicas.owner;
import static io.raftoral.raft.TestReplicas.start;
import static io.raftoral.raft.TransferPeers.reloaded;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.raft.TestReplicas.Replica;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Break test of "never backwards" ({@code SnapshotFetcher.heldThrough}: the Raft log's last
 * index). The end of a follower's log is not what it shares with the leader: entries past its
 * commit index may be a deposed leader's, never committed, that the new leader's log does not
 * have. Ratis 3.2's leader walks such a follower's next index down entry by entry (each append's
 * previous entry has another term there) until it falls below the leader's first log index, and
 * then notifies it to install a snapshot, with the leader's first entry's term and index.
 *
 * <p>Answering "unavailable" there leaves the follower behind for good: the leader (GrpcLogAppender,
 * SNAPSHOT_UNAVAILABLE) keeps the follower's next index, walks it down again and notifies again,
 * and the answer stays "unavailable" until some peer holds a snapshot at or past the end of the
 * follower's divergent tail, which in an idle group never comes. The follower's log does not
 * reach the leader's first entry: its entry at that index has another term (Raft's log matching:
 * the logs differ from there on, and the leader's appends truncate the tail, so installing the
 * leader's snapshot cannot move a log Ratis keeps back).
 *
 * <p>Here: entries 1..20 committed in term 1 on both; the new leader (term 2) appended 21..60,
 * snapshotted at 60 and purged its log up to it (first entry (t:2, i:61)). The follower applied
 * 20 (its commit index) and its log holds 21..100 from term 1, a deposed leader's tail. The
 * follower's division is a stand-in that answers what Ratis's log answers (next index,
 * commit index, the term of each entry).
 */
class DivergentLogTailSnapshotBreakTest {
  @TempDir Path tmp;
  private final TransferPeers peers = new TransferPeers();

  @AfterEach
  void stop() {
    peers.close();
  }

  @Test
  void aFollowerWhoseLogTailIsADeposedLeadersStillInstallsTheLeadersSnapshot() throws Exception {
    try (TestReplicas replicas = new TestReplicas(tmp)) {
      Replica leader = replicas.replica("n1");
      leader.apply(1, 1, owner(1));
      leader.apply(2, 1, start("wf-0"));
      for (long i = 3; i <= 20; i++) {
        leader.apply(i, 1, checkpoint("wf-0", "k" + i, 0, "v" + i));
      }
      for (long i = 21; i <= 60; i++) {
        leader.apply(i, 2, checkpoint("wf-0", "k" + i, 0, "leader-" + i));
      }
      assertThat(leader.machine.takeSnapshot()).isEqualTo(60);
      String leaderDigest = leader.machine.state().digest();

      long committed = 20;
      long logEnd = 100; // entries 21..100 of term 1: a deposed leader's, never committed
      Replica follower = followerWithLog(replicas, "n3", committed, logEnd, 1);
      follower.apply(1, 1, owner(1));
      follower.apply(2, 1, start("wf-0"));
      for (long i = 3; i <= committed; i++) {
        follower.apply(i, 1, checkpoint("wf-0", "k" + i, 0, "v" + i));
      }

      TermIndex firstInLeaderLog = TermIndex.valueOf(2, 61);
      TermIndex at;
      try (SnapshotFetcher fetcher = new SnapshotFetcher(3)) {
        at = fetcher.fetchFrom(follower.machine, List.of(peers.serve(1, leader, 64 << 10, 0)), firstInLeaderLog)
            .get(60, TimeUnit.SECONDS);
      }
      assertThat(at)
          .as("the follower's log has (t:1, i:61) where the leader's first entry is (t:2, i:61): it does not reach "
              + "the leader's log, so only the leader's snapshot lets it catch up (\"unavailable\" loops forever)")
          .isEqualTo(TermIndex.valueOf(2, 60));
      assertThat(reloaded(follower)).isEqualTo(leaderDigest);
    }
  }

  /**
   * A replica like {@link TestReplicas#replica} whose server has a division whose Raft log
   * holds entries up to {@code logEnd}, all of term {@code tailTerm}, committed up to {@code committed}.
   */
  private Replica followerWithLog(TestReplicas replicas, String name, long committed, long logEnd, long tailTerm)
      throws Exception {
    RaftLog log = (RaftLog) Proxy.newProxyInstance(RaftLog.class.getClassLoader(), new Class<?>[] {RaftLog.class},
        (proxy, method, args) -> switch (method.getName()) {
          case "getNextIndex" -> logEnd + 1;
          case "getLastCommittedIndex" -> committed;
          case "getFlushIndex" -> logEnd;
          case "getStartIndex" -> 0L;
          case "getSnapshotIndex" -> -1L;
          case "getLastEntryTermIndex" -> TermIndex.valueOf(tailTerm, logEnd);
          case "getTermIndex" -> {
            long i = (Long) args[0];
            yield i >= 0 && i <= logEnd ? TermIndex.valueOf(i <= committed ? 1 : tailTerm, i) : null;
          }
          case "contains" -> {
            TermIndex ti = (TermIndex) args[0];
            yield ti.getIndex() >= 0 && ti.getIndex() <= logEnd
                && ti.getTerm() == (ti.getIndex() <= committed ? 1 : tailTerm);
          }
          case "toString" -> "the Raft log of " + name;
          case "hashCode" -> System.identityHashCode(proxy);
          case "equals" -> proxy == args[0];
          default -> throw new UnsupportedOperationException("RaftLog." + method.getName());
        });
    RaftServer.Division division = (RaftServer.Division) Proxy.newProxyInstance(RaftServer.Division.class.getClassLoader(),
        new Class<?>[] {RaftServer.Division.class}, (proxy, method, args) -> switch (method.getName()) {
          case "getRaftLog" -> log;
          case "toString" -> "the division of " + name;
          case "hashCode" -> System.identityHashCode(proxy);
          case "equals" -> proxy == args[0];
          default -> throw new UnsupportedOperationException("Division." + method.getName());
        });
    RaftServer server = (RaftServer) Proxy.newProxyInstance(RaftServer.class.getClassLoader(), new Class<?>[] {RaftServer.class},
        (proxy, method, args) -> switch (method.getName()) {
          case "getId" -> RaftPeerId.valueOf(name);
          case "getDivision" -> division;
          case "toString" -> "server " + name;
          case "hashCode" -> System.identityHashCode(proxy);
          case "equals" -> proxy == args[0];
          default -> throw new UnsupportedOperationException(method.getName());
        });
    return replicas.replica(name, server);
  }
}
