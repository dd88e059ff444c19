package io.raftoral.raft;

import com.google.protobuf.InvalidProtocolBufferException;
import io.raftoral.proto.raft.AwaitWorkflow;
import io.raftoral.proto.raft.BatchResult;
import io.raftoral.proto.raft.ListWorkflows;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandBatch;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.ExportWorkflows;
import io.raftoral.proto.raft.ExportedWorkflow;
import io.raftoral.proto.raft.GroupStatus;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.Refused;
import io.raftoral.state.CommittedValues;
import io.raftoral.state.StoreChanges;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.state.WorkflowState;
import io.raftoral.storage.CheckpointSnapshots;
import io.raftoral.storage.CheckpointSnapshots.Snapshot;
import io.raftoral.storage.CorruptStateException;
import io.raftoral.storage.IncomingSnapshot;
import io.raftoral.storage.StateStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Ratis adapter of one execution group's state machine: decodes each committed entry (a {@link
 * CommandBatch}), applies its commands to {@link WorkflowState} and publishes what it applied.
 * It never calls into the runtime; the runtime subscribes through {@link Listener}.
 *
 * <p>Durability: the state is kept in memory for reads and written through to a {@link
 * StateStore} (RocksDB in {@code <state root>/<group id>/}), each entry's changes in one batch
 * with the entry's position. On start the store is loaded; entries Ratis replays that the
 * store already holds are skipped, so replay is idempotent. A snapshot is a checkpoint of the
 * store in the group's Ratis {@code sm/} directory ({@link CheckpointSnapshots}); when Ratis
 * installs one from the leader it replaces {@code sm/} and calls {@link #reinitialize}, which
 * restores the store from it. The lifecycle glue is {@link GroupStateMachine}'s.
 */
public final class WorkflowStateMachine extends GroupStateMachine {
  private static final Logger LOG = LoggerFactory.getLogger(WorkflowStateMachine.class);

  /** What the state machine publishes. Called on Ratis threads: implementations must not block. */
  public interface Listener {
    /** One command of the entry at {@code index} was applied with {@code result}. */
    void applied(long index, Command command, CommandResult result);

    /** Ratis reports a new leader of the group (possibly this node): its node id, 0 when none is known. */
    void leaderChanged(long newLeaderNode);

    /**
     * The state was loaded from storage or replaced by an installed snapshot, without {@link
     * #applied} calls for what it contains: runs may need starting or waking.
     */
    void restored();
  }

  /**
   * Checks each command on the leader before its entry is appended: a start of a type the leader
   * cannot run, or whose input that type cannot decode (SPEC §2), and an ownership claim that is
   * not this leader's own for its current term, are refused. The refusal takes the command's
   * place in the batch ({@link #admit}), so it answers that command alone.
   */
  public interface Admission {
    /** Null to admit {@code command}; otherwise the refusal written in its place. */
    Refused check(Command command);
  }

  // The committed values a replica's entries do not hold in memory: this group's store.
  private final CommittedValues storedValues = new CommittedValues() {
    @Override
    public com.google.protobuf.ByteString read(String workflowId, String key, long seq) {
      return storedValue(workflowId, key, seq);
    }

    @Override
    public void forEachStored(String workflowId, Stored consumer) {
      synchronized (storeLock) { // held already on the apply thread, which alone calls this
        if (store == null) {
          throw new CommittedValues.Unavailable("group " + group() + ": the state store is closed", null);
        }
        try {
          store.forEachCheckpoint(workflowId, consumer::accept);
        } catch (CorruptStateException e) {
          throw new CommittedValues.Unavailable(e.getMessage(), e);
        }
      }
    }
  };
  private final WorkflowState state = new WorkflowState(storedValues);
  private final Path stateRoot;
  private final CheckpointSnapshotStorage snapshots = new CheckpointSnapshotStorage();
  // Guards the store: Ratis pauses (closes it) on an install thread while the apply thread may run.
  private final Object storeLock = new Object();
  private StateStore store;
  // The position of the last entry the store held when it was opened: replayed entries up to it are skipped.
  private volatile long loadedIndex = -1;
  // Await queries of remote callers, answered when their workflow ends.
  private final ConcurrentHashMap<String, Set<CompletableFuture<byte[]>>> awaiting = new ConcurrentHashMap<>();
  private final Admission admission;
  private volatile Listener listener;
  private final Object appliedMonitor = new Object();
  private volatile long appliedIndex;
  // Set when an entry could not be applied (its store closed or failing): later entries are not
  // applied either, so the store never skips one; the replica must be reopened to go on.
  // Written under storeLock; volatile so the health check reads it without waiting for an apply.
  private volatile Exception halted;
  // Set by close: a read waiting for the store to reopen gives up.
  private volatile boolean closed;

  /** @param stateRoot the directory holding one state store per group */
  public WorkflowStateMachine(Admission admission, Path stateRoot) {
    this.admission = admission;
    this.stateRoot = stateRoot;
  }

  @Override
  public CheckpointSnapshotStorage getStateMachineStorage() {
    return snapshots;
  }

  /**
   * Ratis replays the log from the entry after its newest snapshot. A log that starts later (a
   * snapshot directory was deleted after the log was purged up to it) would leave the group
   * waiting forever for entries that no longer exist: refuse it instead.
   */
  @Override
  protected void checkLog(Path current) throws IOException {
    long firstLogIndex = io.raftoral.storage.RaftLogFiles.firstIndex(current);
    Snapshot snapshot = snapshots.latest();
    long replayFrom = snapshot == null ? 0 : snapshot.index() + 1;
    if (firstLogIndex > replayFrom) {
      throw new CorruptStateException("the Raft log in " + current + " starts at index " + firstLogIndex + " but "
          + (snapshot == null ? "there is no snapshot" : "the newest snapshot ends at index " + snapshot.index())
          + " in " + snapshots.directory() + ": the entries between are gone (was a snapshot directory deleted?); refusing "
          + "to start this replica. Restore the snapshot, or start the node with an empty data directory to join the "
          + "cluster again as a new node");
    }
  }

  @Override
  protected List<SnapshotTransferService.Served> servedSnapshots() throws IOException {
    List<SnapshotTransferService.Served> served = new ArrayList<>();
    for (Snapshot s : snapshots.all()) {
      try {
        served.add(new SnapshotTransferService.Served(s.term(), s.index(), s.directory(), CheckpointSnapshots.manifest(s)));
      } catch (java.nio.file.NoSuchFileException deletedMeanwhile) {
        // cleanup removed it after the listing: not offered
      } catch (CorruptStateException e) {
        LOG.warn("group {}: not offering snapshot {} to peers: {}", group(), s.directory(), e.getMessage());
      }
    }
    return served;
  }

  @Override
  protected void holdSnapshot(SnapshotTransferService.Served snapshot, long holder, Duration ttl) {
    snapshots.hold(snapshot.directory(), holder, ttl);
  }

  @Override
  protected void releaseSnapshot(SnapshotTransferService.Served snapshot, long holder) {
    snapshots.release(snapshot.directory(), holder);
  }

  @Override
  protected void installFetched(IncomingSnapshot staged, long term, long index) throws IOException {
    snapshots.installFetched(staged, term, index);
  }

  /** Ratis is about to load a snapshot fetched into {@code sm/}: the store closes. */
  @Override
  protected void paused() {
    synchronized (storeLock) {
      closeStore();
    }
  }

  /** Reopens the store, restoring it from the snapshot fetched into {@code sm/} when that is ahead. */
  @Override
  protected void reopen() throws IOException {
    snapshots.refresh();
    open();
  }

  @Override
  protected void open() throws IOException {
    Path live = stateRoot.resolve(group().uuid().toString());
    Snapshot snapshot = snapshots.latest();
    if (snapshot != null) {
      CheckpointSnapshots.verify(snapshot);
    }
    synchronized (storeLock) {
      StateStore opened = StateStore.open(live);
      try {
        if (snapshot != null && snapshot.index() > opened.applied().index()) {
          // Installed from the leader (or the store lost files): the snapshot is the newer state.
          LOG.info("group {}: restoring the state store from snapshot {} (store was at index {})",
              group(), position(snapshot.term(), snapshot.index()), opened.applied().index());
          opened.close();
          StateStore.restore(snapshot.directory(), snapshot.databaseFiles(), live);
          opened = StateStore.open(live);
        }
        WorkflowState loaded = load(opened);
        state.replaceWith(loaded);
      } catch (IOException | RuntimeException e) {
        opened.close();
        throw e;
      }
      store = opened;
      storeLock.notifyAll(); // reads waiting for the store (storedValue)
      halted = null;
      loadedIndex = opened.applied().index();
      // Ratis resumes applying after its snapshot index; the store may already hold later entries.
      if (snapshot != null) {
        restoredTo(snapshot.term(), snapshot.index());
      } else {
        restoredTo(0, -1);
      }
      LOG.info("group {}: state store {} holds {} workflows up to index {}",
          group(), live, state.size(), loadedIndex);
    }
    synchronized (appliedMonitor) {
      appliedIndex = Math.max(appliedIndex, Math.max(loadedIndex, lastAppliedIndex()));
      appliedMonitor.notifyAll();
    }
    Listener l = listener;
    if (l != null) {
      l.restored();
    }
  }

  /** How long a read of a stored value waits for a store that is closed (a snapshot being installed) to reopen. */
  private static final long STORE_REOPEN_WAIT_MS = 60_000;

  /**
   * A committed value from the store, for a run that needs one memory does not hold. Under the
   * store's lock, so an entry being applied (its values in memory already) is written before the
   * read; while a snapshot is installed (the store closed) the read waits for it to reopen.
   */
  private com.google.protobuf.ByteString storedValue(String workflowId, String key, long seq) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(STORE_REOPEN_WAIT_MS);
    synchronized (storeLock) {
      while (store == null) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0 || closed) {
          throw new CommittedValues.Unavailable("group " + group() + ": the state store is closed; checkpoint (" + workflowId
              + ", " + key + ", " + seq + ") cannot be read", null);
        }
        try {
          storeLock.wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new CommittedValues.Unavailable("interrupted while waiting for the state store of group " + group(), e);
        }
      }
      try {
        return store.checkpointValue(workflowId, key, seq);
      } catch (CorruptStateException e) {
        throw new CommittedValues.Unavailable(e.getMessage(), e);
      }
    }
  }

  private WorkflowState load(StateStore store) throws CorruptStateException {
    WorkflowState loaded = new WorkflowState(storedValues);
    store.load(new StateStore.Visitor() {
      @Override
      public void owner(long node, long term) {
        loaded.restoreOwner(node, term);
      }

      @Override
      public void placement(long groups) {
        loaded.restorePlacement(groups);
      }

      @Override
      public void sealed(String mergeTarget) {
        loaded.restoreSealed(mergeTarget);
      }

      @Override
      public void adoptionDone(String fromGroup) {
        loaded.restoreAdoptionDone(fromGroup);
      }

      @Override
      public void workflow(io.raftoral.proto.raft.WorkflowRecord record) {
        loaded.restoreWorkflow(record);
      }

      @Override
      public void checkpoint(String workflowId, String key, long seq, com.google.protobuf.ByteString value)
          throws CorruptStateException {
        if (!loaded.restoreCheckpoint(workflowId, key, seq, value)) {
          throw new CorruptStateException("the state store " + store.directory() + " is corrupted: checkpoint (" + workflowId
              + ", " + key + ", " + seq + ") does not follow the stored ones. Delete that directory to rebuild this replica "
              + "from its latest snapshot and Raft log");
        }
      }

      @Override
      public void checkpointInfo(String workflowId, String key, long seq, io.raftoral.storage.CheckpointInfo info) {
        loaded.restoreCheckpointInfo(workflowId, key, seq, info);
      }
    });
    return loaded;
  }

  private void closeStore() {
    if (store != null) {
      try {
        store.close();
      } catch (IOException e) {
        LOG.warn("group {}: closing the state store failed", group(), e);
      }
      store = null;
    }
  }

  /**
   * A checkpoint of the store at the last entry Ratis handed to this state machine. Called on
   * the apply thread (no entry is applied meanwhile). The store may hold a few later entries
   * (skipped during a replay); their position is inside the store, so a replica restored from
   * this snapshot skips them too.
   */
  @Override
  protected long snapshot(long term, long index) throws IOException {
    synchronized (storeLock) {
      Snapshot latest = snapshots.latest();
      if (store == null || halted != null) {
        // Nothing to capture (paused), or a position beyond an entry that was not applied.
        return latest == null ? -1 : latest.index();
      }
      if (latest != null && latest.index() >= index) {
        return latest.index();
      }
      StateStore s = store;
      if (s.applied().index() < index) {
        // The last entries carried no commands (elections, configurations): record the
        // position anyway, so the snapshot and the store agree on where they are.
        s.commit(s.batch(), term, index);
      }
      snapshots.create(term, index, s::checkpointTo);
    }
    LOG.info("group {}: snapshot at {} ({} workflows)", group(), position(term, index), state.size());
    return index;
  }

  /** A position as Ratis logs it. */
  private static String position(long term, long index) {
    return "(t:" + term + ", i:" + index + ")";
  }

  @Override
  public void close() throws IOException {
    synchronized (storeLock) {
      closed = true;
      closeStore();
      storeLock.notifyAll(); // reads waiting for a paused store give up: nothing reopens it now
    }
    super.close();
  }

  public WorkflowState state() {
    return state;
  }

  public void setListener(Listener listener) {
    this.listener = listener;
  }

  public long appliedIndex() {
    return appliedIndex;
  }

  /** Waits until this replica has applied {@code index}; returns whether it has. */
  public boolean awaitApplied(long index, long deadlineNanos) throws InterruptedException {
    synchronized (appliedMonitor) {
      while (appliedIndex < index) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        appliedMonitor.wait(Math.max(1, left / 1_000_000));
      }
      return true;
    }
  }

  @Override
  protected byte[] admit(ByteBuffer entry) throws IOException {
    CommandBatch batch = CommandBatch.parseFrom(entry);
    CommandBatch admitted = admit(batch, admission);
    return admitted == batch ? null : admitted.toByteArray();
  }

  /**
   * The batch to append: {@code batch} itself when every command is admitted, else a copy in
   * which each refused command is replaced by its {@link Refused}, in the same place.
   */
  static CommandBatch admit(CommandBatch batch, Admission admission) {
    CommandBatch.Builder rewritten = null;
    for (int i = 0; i < batch.getCommandsCount(); i++) {
      Refused refused = admission.check(batch.getCommands(i));
      if (refused != null) {
        if (rewritten == null) {
          rewritten = batch.toBuilder();
        }
        rewritten.setCommands(i, Command.newBuilder().setRefused(refused));
      }
    }
    return rewritten == null ? batch : rewritten.build();
  }

  @Override
  protected byte[] apply(long term, long index, ByteBuffer entry) throws Exception {
    // A committed entry we cannot read means a bug or corruption: Ratis stops this server.
    CommandBatch batch = CommandBatch.parseFrom(entry);
    BatchResult.Builder results = BatchResult.newBuilder();
    Listener l = listener;
    synchronized (storeLock) {
      if (index <= loadedIndex) {
        // Already in the store (replay after a restart): applying it again would apply it twice.
        applied(term, index);
        return results.build().toByteArray();
      }
      if (store == null || halted != null) {
        // Not applied, so not marked applied: Ratis moves past a failed entry, but neither a
        // snapshot nor the store's position may ever cover it. Reopening the store replays it.
        throw new IllegalStateException("group " + group() + ": entry "
            + index + " not applied: " + (halted != null ? "an earlier entry failed: " + halted : "the state store is closed"));
      }
      try {
        StateStore.Batch writes = store.batch();
        WorkflowState.Changes changes = new StoreChanges(writes);
        for (Command command : batch.getCommandsList()) {
          results.addResults(state.apply(command, term, changes));
        }
        store.commit(writes, term, index);
      } catch (Exception e) {
        // The memory may now be ahead of the store: nothing more is applied until the replica is
        // reopened from the store (its durable position) and replays the log from there.
        halted = e;
        LOG.error("group {}: applying entry {} failed; this replica stops applying until it is reopened",
            group(), index, e);
        throw e;
      }
    }
    for (int i = 0; i < batch.getCommandsCount(); i++) {
      Command command = batch.getCommands(i);
      CommandResult result = results.getResults(i);
      if (result.getCode() == ResultCode.APPLIED && (command.hasWorkflowEnd() || command.hasWorkflowTerminate())) {
        finished(command.hasWorkflowEnd() ? command.getWorkflowEnd().getWorkflowId() : command.getWorkflowTerminate().getWorkflowId());
      }
      if (l != null) {
        l.applied(index, command, result);
      }
    }
    applied(term, index);
    return results.build().toByteArray();
  }

  /** Why this replica stopped applying entries, or null while it applies them. */
  public Exception halted() {
    return halted;
  }

  @Override
  public void notifyTermIndexUpdated(long term, long index) {
    synchronized (storeLock) {
      if (halted != null) {
        return; // past an entry that was not applied: the position must not move beyond it
      }
    }
    // Entries without state machine data (elections, configuration) advance the index too.
    applied(term, index);
  }

  private void applied(long term, long index) {
    markApplied(term, index);
    synchronized (appliedMonitor) {
      if (index > appliedIndex) {
        appliedIndex = index;
      }
      appliedMonitor.notifyAll();
    }
  }

  @Override
  protected boolean readsAppliedState(ByteBuffer request) {
    try {
      // A status is the group's replication as the leader sees it now; a ping only asks for an answer.
      Query.KindCase kind = Query.parseFrom(request).getKindCase();
      return kind != Query.KindCase.STATUS && kind != Query.KindCase.PING && kind != Query.KindCase.KIND_NOT_SET;
    } catch (InvalidProtocolBufferException e) {
      return false; // answer() reports it
    }
  }

  @Override
  protected CompletableFuture<byte[]> answer(ByteBuffer request) {
    Query query;
    try {
      query = Query.parseFrom(request);
    } catch (InvalidProtocolBufferException e) {
      return CompletableFuture.failedFuture(e);
    }
    return switch (query.getKindCase()) {
      case DESCRIBE_WORKFLOW_ID -> CompletableFuture.completedFuture(describe(query.getDescribeWorkflowId()));
      case AWAIT -> await(query.getAwait());
      case LIST -> CompletableFuture.completedFuture(reply(list(query.getList())));
      case PING, KIND_NOT_SET -> CompletableFuture.completedFuture(reply(QueryReply.newBuilder()));
      case STATUS -> CompletableFuture.completedFuture(reply(QueryReply.newBuilder().setStatus(status())));
      case EXPORT -> {
        try {
          yield CompletableFuture.completedFuture(reply(export(query.getExport())));
        } catch (IOException | RuntimeException e) {
          yield CompletableFuture.failedFuture(e);
        }
      }
      case HISTORY -> {
        try {
          yield CompletableFuture.completedFuture(reply(history(query.getHistory())));
        } catch (IOException | RuntimeException e) {
          yield CompletableFuture.failedFuture(e);
        }
      }
    };
  }

  /** About 1 MiB of keys and values ({@link StateStore#pageBytes}): a history page stays well inside a query reply. */
  static final long DEFAULT_HISTORY_BYTES = 1 << 20;

  /**
   * A page of one workflow's committed checkpoints with their infos, read from the state store
   * (which holds every value, an ended workflow's too, until the workflow is pruned). Not found
   * when the workflow is not in this group. The limit is checked by the caller; a page holds at
   * least one entry when any follows the cursor.
   */
  public QueryReply.Builder history(io.raftoral.proto.raft.HistoryQuery q) throws CorruptStateException {
    if (q.getLimit() < 1) {
      throw new IllegalArgumentException("a history query needs a limit of at least 1, got " + q.getLimit());
    }
    synchronized (storeLock) {
      if (store == null) {
        throw new IllegalStateException("group " + group() + ": the state store is closed (a snapshot is being installed); ask again");
      }
      if (state.get(q.getWorkflowId()) == null) {
        return QueryReply.newBuilder().setFound(false);
      }
      StateStore.HistoryPosition after = q.getHasCursor()
          ? new StateStore.HistoryPosition(q.getAfterCommitOrdinal(), q.getAfterKey(), q.getAfterSeq()) : null;
      StateStore.HistorySlice slice = store.history(q.getWorkflowId(), q.hasKey() ? q.getKey() : null, after, q.getLimit(),
          q.getMaxBytes() > 0 ? q.getMaxBytes() : DEFAULT_HISTORY_BYTES);
      return QueryReply.newBuilder().setFound(true).addAllHistory(slice.entries()).setMore(slice.more());
    }
  }

  /**
   * The group as this replica sees it: its workflows, whether it is sealed, and, when it leads,
   * the commit index and each member's progress (Ratis's leader view). A non-leader answers with
   * commit index 0 and no members.
   */
  public GroupStatus status() {
    long running = 0;
    long total = 0;
    for (WorkflowEntry w : state.workflows()) {
      total++;
      if (w.isRunning()) {
        running++;
      }
    }
    GroupStatus.Builder status = GroupStatus.newBuilder().setRunningWorkflows(running).setWorkflows(total).setSealed(state.sealed());
    LeaderProgress progress = leaderProgress();
    if (progress != null) {
      long commit = progress.commitIndex();
      status.setLeaderNode(progress.leaderNode()).setCommitIndex(commit)
          .addMembers(io.raftoral.proto.raft.MemberProgress.newBuilder().setNodeId(progress.leaderNode()).setMatchIndex(commit));
      for (GroupStateMachine.MemberProgress m : progress.followers()) {
        status.addMembers(io.raftoral.proto.raft.MemberProgress.newBuilder().setNodeId(m.node())
            .setMatchIndex(m.matchIndex()).setLagEntries(Math.max(0, commit - m.matchIndex()))
            .setMillisSinceContact(m.millisSinceContact()));
      }
    }
    return status.build();
  }

  /** About 1 MiB: an AdoptWorkflows of one page stays well inside a Raft entry. */
  static final long DEFAULT_EXPORT_BYTES = 1 << 20;

  /**
   * A page of the group's workflows in id order strictly after the cursor, each with its
   * checkpoints and their infos, from the store (which alone keeps the infos, and an ended
   * workflow's values). Workflows are added while the page stays within {@code max_bytes} (at least
   * one); {@code more} when others follow. A workflow whose checkpoints do not fit a page comes
   * alone, a chunk of its checkpoints at a time ({@code chunk}), then whole ({@code continued}:
   * the rest of its checkpoints). Read under the store's lock, so no entry is applied
   * in between; on a sealed group the state no longer changes, so pages read one by one are final.
   */
  public QueryReply.Builder export(ExportWorkflows q) throws CorruptStateException {
    long maxBytes = q.getMaxBytes() > 0 ? q.getMaxBytes() : DEFAULT_EXPORT_BYTES;
    // Inside a workflow too big for one page, the page starts with the rest of its checkpoints.
    String inside = q.getInWorkflowId();
    String after = inside.isEmpty() ? q.getAfterWorkflowId() : inside;
    QueryReply.Builder reply = QueryReply.newBuilder();
    synchronized (storeLock) {
      if (store == null) {
        throw new IllegalStateException("group " + group() + ": the state store is closed (a snapshot is being installed); ask again");
      }
      java.util.List<WorkflowEntry> candidates = new java.util.ArrayList<>();
      if (!inside.isEmpty() && state.get(inside) != null) {
        candidates.add(state.get(inside));
      }
      state.workflows().stream().filter(w -> w.workflowId().compareTo(after) > 0)
          .sorted(Comparator.comparing(WorkflowEntry::workflowId)).forEach(candidates::add);
      long bytes = 0;
      for (WorkflowEntry w : candidates) {
        io.raftoral.proto.raft.WorkflowRecord record = w.toRecord();
        boolean continued = w.workflowId().equals(inside);
        long budget = Math.max(1, maxBytes - bytes - record.getSerializedSize());
        StateStore.HistorySlice checkpoints = continued
            ? store.checkpointsAfter(w.workflowId(), q.getAfterKey(), q.getAfterSeq(), budget)
            : store.checkpointsAfter(w.workflowId(), null, 0, budget);
        if (checkpoints.more()) {
          if (reply.getExportedCount() > 0) {
            return reply.setMore(true); // it starts the next page, alone
          }
          // Too big for any page: the next of its checkpoints, to be copied ahead of it.
          return reply.setChunk(true).setMore(true).addExported(ExportedWorkflow.newBuilder().setRecord(record)
              .addAllCheckpoints(checkpoints.entries()));
        }
        ExportedWorkflow exported = ExportedWorkflow.newBuilder().setRecord(record).setContinued(continued)
            .addAllCheckpoints(checkpoints.entries().stream()
                .sorted(Comparator.comparing(io.raftoral.proto.raft.ExportedCheckpoint::getKey)
                    .thenComparingLong(io.raftoral.proto.raft.ExportedCheckpoint::getSeq)).toList())
            .build();
        // Counted as the chunks are ({@link StateStore#pageBytes}), so a workflow that fits a chunk's budget fits here.
        long size = record.getSerializedSize()
            + exported.getCheckpointsList().stream().mapToLong(c -> StateStore.pageBytes(c.getKey(), c.getValue().toByteArray())).sum();
        if (reply.getExportedCount() > 0 && bytes + size > maxBytes) {
          return reply.setMore(true);
        }
        reply.addExported(exported);
        bytes += size;
      }
    }
    return reply.setMore(false);
  }

  private byte[] describe(String workflowId) {
    WorkflowEntry w = state.get(workflowId);
    return reply(w == null ? QueryReply.newBuilder() : QueryReply.newBuilder().setFound(true).setWorkflow(w.toRecord()));
  }

  /** Completes when the workflow is final (or unknown), else after the wait with its current record. */
  private CompletableFuture<byte[]> await(AwaitWorkflow await) {
    String id = await.getWorkflowId();
    CompletableFuture<byte[]> answer = new CompletableFuture<>();
    awaiting.computeIfAbsent(id, k -> ConcurrentHashMap.newKeySet()).add(answer);
    // Checked after registering, so a workflow that ends meanwhile is not missed.
    WorkflowEntry w = state.get(id);
    if (w == null || !w.isRunning()) {
      answer.complete(describe(id));
    } else {
      answer.completeOnTimeout(describe(id), Math.max(1, await.getWaitMillis()), TimeUnit.MILLISECONDS);
    }
    answer.whenComplete((m, e) -> {
      Set<CompletableFuture<byte[]>> waiting = awaiting.get(id);
      if (waiting != null) {
        waiting.remove(answer);
        awaiting.remove(id, Set.of());
      }
    });
    return answer;
  }

  private void finished(String workflowId) {
    Set<CompletableFuture<byte[]>> waiting = awaiting.remove(workflowId);
    if (waiting != null) {
      byte[] m = describe(workflowId);
      waiting.forEach(f -> f.complete(m));
    }
  }

  /** The matches after the cursor in (started-at, id) order, at most {@code limit}; a page of a list call. */
  public QueryReply.Builder list(ListWorkflows q) {
    Comparator<WorkflowEntry> order = Comparator.comparingLong(WorkflowEntry::startedAtMillis).thenComparing(WorkflowEntry::workflowId);
    List<WorkflowEntry> matches = state.workflows().stream()
        .filter(w -> q.getStatusesCount() == 0 || q.getStatusesList().contains(w.status()))
        .filter(w -> q.getType().isEmpty() || (q.getType().equals(w.type()) && (q.getVersion() == 0 || q.getVersion() == w.version())))
        .filter(w -> q.getStartedAfterMillis() == 0 || w.startedAtMillis() >= q.getStartedAfterMillis())
        .filter(w -> q.getStartedBeforeMillis() == 0 || w.startedAtMillis() < q.getStartedBeforeMillis())
        .filter(w -> !q.getHasCursor() || w.startedAtMillis() > q.getAfterStartedAtMillis()
            || (w.startedAtMillis() == q.getAfterStartedAtMillis() && w.workflowId().compareTo(q.getAfterWorkflowId()) > 0))
        .sorted(order)
        .limit(q.getLimit() + 1L)
        .toList();
    QueryReply.Builder reply = QueryReply.newBuilder().setMore(matches.size() > q.getLimit());
    matches.stream().limit(q.getLimit())
        .forEach(w -> reply.addWorkflows(w.toRecord().toBuilder().clearInput().clearResult()));
    return reply;
  }

  private static byte[] reply(QueryReply.Builder reply) {
    return reply.build().toByteArray();
  }

  @Override
  protected void leaderChanged(long node) {
    Listener l = listener;
    if (l != null) {
      l.leaderChanged(node);
    }
  }
}
