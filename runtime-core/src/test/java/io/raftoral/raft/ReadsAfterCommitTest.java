package io.raftoral.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A query sees every entry committed before it began, whichever member asked it: the leader
 * answers only once its own replica has applied its commit index. The leader's apply may lag
 * its followers' (a large entry, a slow disk), so answering from whatever it had applied showed
 * a workflow RUNNING after {@code await} had returned its result on a follower (conformance
 * payload-limit, step 8, once in CI).
 */
class ReadsAfterCommitTest {
  private static final GroupId GROUP = GroupId.of(UUID.fromString("00000000-0000-0000-0000-0000000000a1"));

  @TempDir Path tmp;
  private final List<RaftHost> hosts = new ArrayList<>();
  private final Map<Long, Register> registers = new ConcurrentHashMap<>();

  @AfterEach
  void close() throws IOException {
    for (Register r : registers.values()) {
      r.gate.countDown();
    }
    for (RaftHost h : hosts.reversed()) {
      h.close();
    }
  }

  @Test
  void aQueryOnAFollowerSeesAnEntryItAppliedWhileTheLeadersApplyLags() throws Exception {
    Lagging g = leaderAppliesBehindAFollower();

    CompletableFuture<RaftReply> read = g.follower.query(GROUP, bytes("count"));
    Thread.sleep(300);
    assertThat(read).as("answered before the leader applied what was committed").isNotDone();
    g.leader.releaseApplies();

    RaftReply answer = read.get(30, TimeUnit.SECONDS);
    assertThat(answer.isSuccess()).isTrue();
    assertThat(text(answer)).isEqualTo("2");
    assertThat(g.written.get(30, TimeUnit.SECONDS).isSuccess()).isTrue();
  }

  // What the node's own reads on the leader (describe, list) wait for before reading its replica.
  @Test
  void theLeadersReplicaCatchesUpWithWhatWasCommittedBeforeItIsRead() throws Exception {
    Lagging g = leaderAppliesBehindAFollower();

    CompletableFuture<Void> caughtUp = g.leader.caughtUpWithCommits();
    Thread.sleep(300);
    assertThat(caughtUp).isNotDone();
    g.leader.releaseApplies();

    caughtUp.get(30, TimeUnit.SECONDS);
    assertThat(g.leader.applied).containsExactly("a", "b");
  }

  @Test
  void aQueryAboutTheGroupRatherThanItsStateDoesNotWait() throws Exception {
    Lagging g = leaderAppliesBehindAFollower();

    RaftReply answer = g.follower.query(GROUP, bytes("status")).get(30, TimeUnit.SECONDS);
    assertThat(text(answer)).isEqualTo("1");
    g.leader.releaseApplies();
  }

  @Test
  void aLeaderThatCannotCatchUpFailsTheQueryWithAStateMachineError() throws Exception {
    Lagging g = leaderAppliesBehindAFollower();

    assertThatThrownBy(() -> g.follower.query(GROUP, bytes("count")).get(30, TimeUnit.SECONDS))
        .isInstanceOf(java.util.concurrent.ExecutionException.class)
        .cause().isInstanceOfSatisfying(RaftError.class, e -> assertThat(e.kind()).isEqualTo(RaftError.Kind.STATE_MACHINE))
        .hasMessageContaining("had not applied the group's commit index");
    g.leader.releaseApplies();
    assertThat(g.follower.query(GROUP, bytes("count")).get(30, TimeUnit.SECONDS).isSuccess()).isTrue();
  }

  private record Lagging(Register leader, RaftHost follower, CompletableFuture<RaftReply> written) {}

  /** "a" applied everywhere, then "b" committed and applied on a follower while the leader's apply is held. */
  private Lagging leaderAppliesBehindAFollower() throws Exception {
    startGroupOf(3);
    long leaderNode = leader().leaderNode(GROUP);
    long followerNode = registers.keySet().stream().filter(n -> n != leaderNode).findFirst().orElseThrow();
    RaftHost follower = hosts.get((int) followerNode - 1);

    assertThat(follower.submit(GROUP, bytes("a")).get(30, TimeUnit.SECONDS).isSuccess()).isTrue();
    awaitApplied(followerNode, 1);

    Register leader = registers.get(leaderNode);
    leader.holdApplies();
    CompletableFuture<RaftReply> written = follower.submit(GROUP, bytes("b"));
    awaitApplied(followerNode, 2); // committed, applied there, not yet on the leader
    assertThat(leader.applied).containsExactly("a");
    return new Lagging(leader, follower, written);
  }

  private void startGroupOf(int n) throws Exception {
    Map<Long, String> members = new TreeMap<>();
    for (long id = 1; id <= n; id++) {
      members.put(id, "127.0.0.1:" + freePort());
    }
    for (long id = 1; id <= n; id++) {
      long node = id;
      RaftSettings settings = new RaftSettings(node, members, tmp.resolve("raft-" + node), tmp.resolve("state-" + node),
          100_000, Duration.ofMillis(300), Duration.ofMillis(600));
      RaftHost host = new RaftHost(settings, group -> registers.computeIfAbsent(node, k -> new Register()));
      hosts.add(host);
      host.start(List.of(RaftHost.group(GROUP, members)));
    }
    for (RaftHost h : hosts) {
      assertThat(h.awaitLeaders(List.of(GROUP), Duration.ofSeconds(30))).isTrue();
    }
  }

  private RaftHost leader() {
    return hosts.stream().filter(h -> h.isLeader(GROUP)).findFirst().orElseThrow();
  }

  private void awaitApplied(long node, int count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (registers.get(node).applied.size() < count) {
      assertThat(System.nanoTime()).as("node %d applies %d entries", node, count).isLessThan(deadline);
      Thread.sleep(10);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(RaftReply reply) {
    return text(reply.message());
  }

  private static String text(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return new String(out, StandardCharsets.UTF_8);
  }

  /** Keeps every applied entry as text; a query answers how many; applies can be held back. */
  private static final class Register extends GroupStateMachine {
    final List<String> applied = new CopyOnWriteArrayList<>();
    volatile CountDownLatch gate = new CountDownLatch(0);

    void holdApplies() {
      gate = new CountDownLatch(1);
    }

    void releaseApplies() {
      gate.countDown();
    }

    @Override
    protected void open() {}

    @Override
    protected void reopen() {}

    @Override
    protected long snapshot(long term, long index) {
      return -1;
    }

    @Override
    protected byte[] apply(long term, long index, ByteBuffer entry) throws Exception {
      byte[] data = new byte[entry.remaining()];
      entry.get(data);
      if (data.length > 0) { // not the new leader's empty entry
        gate.await();
        applied.add(new String(data, StandardCharsets.UTF_8));
      }
      markApplied(term, index);
      return data;
    }

    @Override
    protected boolean readsAppliedState(ByteBuffer query) {
      return !text(query).equals("status");
    }

    @Override
    protected CompletableFuture<byte[]> answer(ByteBuffer query) {
      return CompletableFuture.completedFuture(bytes(Integer.toString(applied.size())));
    }

    @Override
    protected List<SnapshotTransferService.Served> servedSnapshots() {
      return List.of();
    }

    @Override
    protected void installFetched(io.raftoral.storage.IncomingSnapshot staged, long term, long index) throws IOException {
      throw new IOException("this test sends no snapshots");
    }
  }
}
