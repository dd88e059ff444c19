package io.raftoral.raft;

import io.raftoral.storage.IncomingSnapshot;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.LifeCycle;

/**
 * What both kinds of group's state machine share with Ratis: the lifecycle (start, pause before
 * an installed snapshot, reopen after it), the applied position, taking a snapshot only past the
 * last one, fetching a snapshot out of band when behind, and the translation of entries, queries
 * and leader changes into our types. A
 * subclass sees term, index and bytes only; what it applies is {@code state}'s business.
 */
public abstract class GroupStateMachine extends BaseStateMachine {
  private volatile GroupId group;
  private volatile SnapshotFetcher fetcher;
  private volatile boolean closed;
  private volatile Path snapshotDirectory;
  private volatile java.util.function.LongConsumer snapshotTaken = nanos -> {};
  private final AppliedIndexWaiters appliedWaiters = new AppliedIndexWaiters(this::lastAppliedIndex);

  /**
   * The longest a query waits for this replica to apply what the group had committed when it
   * came: below the Ratis client's request timeout (3 s), which would otherwise send it again.
   */
  static final Duration QUERY_CATCH_UP_LIMIT = Duration.ofSeconds(2);
  // Answers that waited run here, never on the apply thread that released them (nor on the
  // common pool, one thread on two cores, which every group's answers would share).
  private static final java.util.concurrent.Executor DEFERRED_ANSWERS =
      java.util.concurrent.Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("raftoral-query-", 0).factory());

  @Override
  public final void initialize(RaftServer server, RaftGroupId groupId, RaftStorage storage) throws IOException {
    super.initialize(server, groupId, storage);
    group = GroupId.of(groupId);
    snapshotDirectory = storage.getStorageDir().getStateMachineDir().toPath();
    getStateMachineStorage().init(storage);
    checkLog(storage.getStorageDir().getCurrentDir().toPath());
    getLifeCycle().startAndTransition(this::open, IOException.class);
  }

  /**
   * Ratis closes the replica: the group was removed, the server stops, or Ratis cannot go on
   * with the division (a failed log write) and closes it without removing it.
   */
  @Override
  public void close() throws IOException {
    closed = true;
    super.close();
  }

  /** Whether Ratis closed this replica ({@link #close}): it applies nothing more. */
  public final boolean isClosed() {
    return closed;
  }

  /** Ratis is about to install a snapshot from the leader into {@code sm/} (or starts paused). */
  @Override
  public final void pause() {
    LifeCycle lifeCycle = getLifeCycle();
    if (lifeCycle.getCurrentState() != LifeCycle.State.RUNNING) {
      return; // Ratis pauses once per received chunk
    }
    lifeCycle.transition(LifeCycle.State.PAUSING);
    paused();
    lifeCycle.transition(LifeCycle.State.PAUSED);
  }

  /** After {@link #pause}: the state is reloaded, from the snapshot Ratis installed when that is ahead. */
  @Override
  public final void reinitialize() throws IOException {
    getLifeCycle().transition(LifeCycle.State.STARTING);
    reopen();
    getLifeCycle().transition(LifeCycle.State.RUNNING);
  }

  /** A snapshot at the last applied entry, unless the newest one already covers it. Called on the apply thread. */
  @Override
  public final long takeSnapshot() throws IOException {
    TermIndex last = getLastAppliedTermIndex();
    if (last == null || last.getIndex() < 0) {
      return RaftLog.INVALID_LOG_INDEX;
    }
    var prior = getLatestSnapshot();
    long began = System.nanoTime();
    long index = snapshot(last.getTerm(), last.getIndex());
    if (index > (prior == null ? -1 : prior.getIndex())) {
      snapshotTaken.accept(System.nanoTime() - began);
    }
    return index;
  }

  /** Told how long each new snapshot this replica takes took (ns): the node's metrics. Must not block. */
  public final void onSnapshotTaken(java.util.function.LongConsumer listener) {
    snapshotTaken = listener;
  }

  @Override
  public final TransactionContext startTransaction(RaftClientRequest request) throws IOException {
    TransactionContext.Builder trx = TransactionContext.newBuilder().setStateMachine(this).setClientRequest(request);
    byte[] replaced = admit(request.getMessage().getContent().asReadOnlyByteBuffer());
    if (replaced != null) {
      trx.setLogData(UnsafeByteOperations.unsafeWrap(replaced));
    }
    return trx.build();
  }

  @Override
  public final CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    try {
      return CompletableFuture.completedFuture(message(
          apply(entry.getTerm(), entry.getIndex(), entry.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer())));
    } catch (Exception e) {
      // A committed entry that cannot be applied: Ratis reports it to the entry's caller.
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Answers a query (Ratis asks the leader) once this replica has applied every entry the group
   * had committed when the query came ({@link #caughtUpWithCommits}), so it sees whatever any member
   * had applied before: a leader's apply can lag a follower's, and a workflow read RUNNING here
   * after a follower had returned its result (conformance payload-limit, once in CI;
   * {@code ReadsAfterCommitTest}). Queries about the group rather than its state do not wait.
   */
  @Override
  public final CompletableFuture<Message> query(Message request) {
    ByteBuffer query = request.getContent().asReadOnlyByteBuffer();
    CompletableFuture<Void> caughtUp = readsAppliedState(query.duplicate())
        ? caughtUpWithCommits()
        : CompletableFuture.completedFuture(null);
    if (caughtUp.isDone() && !caughtUp.isCompletedExceptionally()) {
      return answer(query).thenApply(GroupStateMachine::message);
    }
    return caughtUp.thenComposeAsync(x -> answer(query), DEFERRED_ANSWERS).thenApply(GroupStateMachine::message);
  }

  /**
   * Completes once this replica has applied the commit index its division knows now (at once when
   * it has); fails with a {@link StateMachineException} after {@link #QUERY_CATCH_UP_LIMIT}. On
   * the leader, a read of this replica made after it sees everything any member had applied.
   */
  public final CompletableFuture<Void> caughtUpWithCommits() {
    long committed = committedIndex();
    if (committed <= lastAppliedIndex()) {
      return CompletableFuture.completedFuture(null);
    }
    // No cause: Ratis sends a cause's message in its place, and a timeout's is null (the reply then
    // fails to build, the stream breaks and the client sends the query again, over and over).
    return appliedWaiters.await(committed, QUERY_CATCH_UP_LIMIT).exceptionallyCompose(e -> CompletableFuture.failedFuture(
        new StateMachineException(getId() + "@" + group + " had not applied the group's commit index " + committed
            + " within " + QUERY_CATCH_UP_LIMIT.toSeconds() + " s (applied: " + lastAppliedIndex() + ")")));
  }

  /** Whether answering {@code query} reads the applied state (and so waits for it to catch up); true unless overridden. */
  protected boolean readsAppliedState(ByteBuffer query) {
    return true;
  }

  /** The group's commit index as this division knows it, or -1 when it has none. */
  private long committedIndex() {
    RaftServer server = getServer().getNow(null);
    if (server == null) {
      return -1;
    }
    try {
      return server.getDivision(getGroupId()).getRaftLog().getLastCommittedIndex();
    } catch (IOException e) {
      return -1; // the division is gone (closing)
    }
  }

  @Override
  protected final boolean updateLastAppliedTermIndex(long term, long index) {
    boolean moved = super.updateLastAppliedTermIndex(term, index);
    appliedWaiters.advanced();
    return moved;
  }

  @Override
  protected final boolean updateLastAppliedTermIndex(TermIndex termIndex) {
    boolean moved = super.updateLastAppliedTermIndex(termIndex);
    appliedWaiters.advanced();
    return moved;
  }

  @Override
  protected final void setLastAppliedTermIndex(TermIndex termIndex) {
    super.setLastAppliedTermIndex(termIndex);
    if (appliedWaiters != null) { // null while BaseStateMachine's constructor sets the initial position
      appliedWaiters.advanced();
    }
  }

  @Override
  public final void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
    SnapshotFetcher f = fetcher;
    if (f != null) {
      f.leaderChanged(this);
    }
    leaderChanged(PeerIds.nodeId(newLeaderId));
  }

  /**
   * The leader has purged the entries this replica needs next (or this is a new member): the
   * snapshot comes out of band, from any peer that holds one ({@link SnapshotFetcher}). Called
   * under the division's lock: returns at once, the transfer runs on its own threads.
   */
  @Override
  public final CompletableFuture<TermIndex> notifyInstallSnapshotFromLeader(RoleInfoProto role, TermIndex firstInLeaderLog) {
    SnapshotFetcher f = fetcher;
    if (f == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("group " + group + ": no snapshot transfer on this node"));
    }
    return f.attach(this, role, firstInLeaderLog);
  }

  /** Where this replica's snapshots come from when it is behind: set by the host before Ratis starts the group. */
  final void useFetcher(SnapshotFetcher fetcher) {
    this.fetcher = fetcher;
    fetcher.register(this);
  }

  private static Message message(byte[] bytes) {
    return Message.valueOf(UnsafeByteOperations.unsafeWrap(bytes));
  }

  // --- for subclasses ---

  /** The group this state machine belongs to; set when Ratis initializes it. */
  protected final GroupId group() {
    return group;
  }

  /** The log index of the last entry applied (or skipped as already held); -1 before the first. */
  protected final long lastAppliedIndex() {
    TermIndex last = getLastAppliedTermIndex();
    return last == null ? -1 : last.getIndex();
  }

  /** Records that the entry at (term, index) is applied: Ratis resumes after it and snapshots up to it. */
  protected final void markApplied(long term, long index) {
    updateLastAppliedTermIndex(term, index);
  }

  /** Sets the applied position after loading state: a snapshot's position, or none ({@code index} -1). */
  protected final void restoredTo(long term, long index) {
    setLastAppliedTermIndex(index < 0 ? TermIndex.INITIAL_VALUE : TermIndex.valueOf(term, index));
  }

  /**
   * Before the state is opened: refuse a replica whose Raft log (in {@code logDir}) cannot
   * follow its snapshots.
   */
  protected void checkLog(Path logDir) throws IOException {}

  /** Loads the state (from storage and the newest snapshot) when Ratis starts the group. */
  protected abstract void open() throws IOException;

  /** Releases what an installed snapshot is about to replace. */
  protected void paused() {}

  /** Loads the state again after {@link #paused}. */
  protected abstract void reopen() throws IOException;

  /** Takes a snapshot at (term, index), the last applied entry; returns the index the newest snapshot covers. */
  protected abstract long snapshot(long term, long index) throws IOException;

  /**
   * On the leader, before an entry is appended: the entry to append instead of {@code entry},
   * or null to append it as it is.
   */
  protected byte[] admit(ByteBuffer entry) throws IOException {
    return null;
  }

  /** Applies the committed entry at (term, index); returns the reply to its caller. Throwing fails the entry. */
  protected abstract byte[] apply(long term, long index, ByteBuffer entry) throws Exception;

  /** How far one member's log is known to match the leader's, and when the leader last heard from it. */
  protected record MemberProgress(long node, long matchIndex, long millisSinceContact) {}

  /** The leader's view of the group's replication: its own node, its commit index and each other member's progress. */
  protected record LeaderProgress(long leaderNode, long commitIndex, java.util.List<MemberProgress> followers) {}

  /**
   * This division's view of the group's replication when it leads the group (followers and
   * listeners alike), else null (not leading, or not started).
   */
  protected final LeaderProgress leaderProgress() {
    RaftServer server = getServer().getNow(null);
    if (server == null) {
      return null;
    }
    try {
      RaftServer.Division division = server.getDivision(getGroupId());
      var info = division.getInfo();
      var role = info.getRoleInfoProto();
      if (!role.hasLeaderInfo()) {
        return null;
      }
      // Match indices come in the order the role info lists the followers (both are the leader's
      // log appenders); a configuration change between the two reads shows as a length mismatch.
      long[] match = info.getFollowerMatchIndices();
      var followers = role.getLeaderInfo().getFollowerInfoList();
      boolean aligned = match.length == followers.size();
      java.util.List<MemberProgress> members = new java.util.ArrayList<>();
      for (int i = 0; i < followers.size(); i++) {
        var f = followers.get(i);
        // Unknown (not aligned): 0, i.e. shown as behind by the whole log, never as caught up.
        members.add(new MemberProgress(PeerIds.nodeId(RaftPeerId.valueOf(f.getId().getId())),
            aligned ? Math.max(0, match[i]) : 0, f.getLastRpcElapsedTimeMs()));
      }
      return new LeaderProgress(PeerIds.nodeId(server.getId()), division.getRaftLog().getLastCommittedIndex(), members);
    } catch (IOException e) {
      return null; // the division is gone (closing)
    }
  }

  /** The directory this replica's snapshots live in ({@code sm/}); fetched snapshots are staged there too. */
  protected final Path snapshotDirectory() {
    return snapshotDirectory;
  }

  /** The complete snapshots this replica can send to a peer, newest first. */
  protected abstract List<SnapshotTransferService.Served> servedSnapshots() throws IOException;

  /** Keeps {@code snapshot} from cleanup for {@code ttl}: peer {@code holder} fetches it. */
  protected void holdSnapshot(SnapshotTransferService.Served snapshot, long holder, Duration ttl) {}

  /** Ends {@code holder}'s {@link #holdSnapshot}. */
  protected void releaseSnapshot(SnapshotTransferService.Served snapshot, long holder) {}

  /**
   * Checks a snapshot fetched from a peer and makes it this replica's newest on disk,
   * atomically (a crash leaves either the old snapshots or the new one whole), without loading
   * it: Ratis pauses the state machine next, then {@link #reopen} loads it.
   */
  protected abstract void installFetched(IncomingSnapshot staged, long term, long index) throws IOException;

  /** Answers a read-only query. */
  protected CompletableFuture<byte[]> answer(ByteBuffer query) {
    return CompletableFuture.failedFuture(new UnsupportedOperationException(getClass().getSimpleName() + " answers no queries"));
  }

  /** The group's leader changed to {@code node} (0: none known); called on a Ratis thread, must not block. */
  protected void leaderChanged(long node) {}
}
