package io.raftoral.state;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.AdoptWorkflows;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.ExportedCheckpoint;
import io.raftoral.proto.raft.ExportedWorkflow;
import io.raftoral.proto.raft.PruneWorkflows;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.SetCheckpoint;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.storage.CheckpointInfo;
import io.raftoral.storage.CorruptStateException;
import io.raftoral.storage.StateStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checkpoint infos (committed-at, owner node and term) as the state applies them into a real
 * RocksDB store, and the history read back from it: one key, all keys, pages, an old-format
 * checkpoint without info, the digest of a reloaded replica.
 */
class CheckpointInfoStoreTest {
  static final long OWNER = 7;
  static final long TERM = 3;
  static final String WF = "wf-history";

  @TempDir Path dir;
  StateStore store;
  WorkflowState state;
  long index;

  @BeforeEach
  void ownedGroupWithOneWorkflow() throws Exception {
    store = StateStore.open(dir.resolve("store"));
    state = new WorkflowState();
    apply(WorkflowStateTest.ownerChange(OWNER, TERM));
    apply(WorkflowStateTest.start(WF, "order", 1, "in"));
  }

  @AfterEach
  void close() throws Exception {
    store.close();
  }

  // Each applied checkpoint stores the proposer's time from the command and the group's owner and term.
  @Test
  void appliedCheckpointStoresCommittedAtAndOwner() throws Exception {
    apply(checkpoint("a", 0, 5_000));

    List<ExportedCheckpoint> history = store.history(WF, "a", null, 10, 1 << 20).entries();

    assertThat(history).singleElement().satisfies(e -> {
      assertThat(e.getValue().toStringUtf8()).isEqualTo("a0");
      assertThat(e.getCommittedAtMillis()).isEqualTo(5_000);
      assertThat(e.getOwnerNode()).isEqualTo(OWNER);
      assertThat(e.getOwnerTerm()).isEqualTo(TERM);
    });
  }

  // One key reads in seq order; all keys in commit order, whatever the clocks said (two values
  // in one millisecond, and a clock that went back).
  @Test
  void oneKeyBySeqAllKeysInCommitOrder() throws Exception {
    apply(checkpoint("b", 0, 100));
    apply(checkpoint("a", 0, 300));
    apply(checkpoint("b", 1, 300));
    apply(checkpoint("a", 1, 200));

    assertThat(positions(store.history(WF, "b", null, 10, 1 << 20).entries())).containsExactly("b0", "b1");
    List<ExportedCheckpoint> all = store.history(WF, null, null, 10, 1 << 20).entries();
    assertThat(positions(all)).containsExactly("b0", "a0", "b1", "a1");
    assertThat(all).extracting(ExportedCheckpoint::getCommitOrdinal).containsExactly(0L, 1L, 2L, 3L);
  }

  // Pages of one entry each cover the history once, without gap or repeat, in both orders.
  @Test
  void pagesFollowTheCursorWithoutGapOrRepeat() throws Exception {
    for (int i = 0; i < 5; i++) {
      apply(checkpoint("k" + (i % 2), i / 2, 1_000 + i));
    }

    assertThat(positions(readAll("k0"))).containsExactly("k00", "k01", "k02");
    assertThat(positions(readAll(null))).containsExactly("k00", "k10", "k01", "k11", "k02");
    // A page token written before more values were committed goes on where it stopped.
    assertThat(positions(store.history(WF, null, new StateStore.HistoryPosition(1, "k1", 0), 10, 1 << 20).entries()))
        .containsExactly("k01", "k11", "k02");
  }

  // A page holds at least one entry, and past the first no more than max_bytes of values.
  @Test
  void pageStopsAtMaxBytes() throws Exception {
    apply(checkpoint("k", 0, 1));
    apply(checkpoint("k", 1, 2));
    apply(checkpoint("k", 2, 3));

    StateStore.HistorySlice slice = store.history(WF, null, null, 10, 3);

    assertThat(positions(slice.entries())).containsExactly("k0");
    assertThat(slice.more()).isTrue();
  }

  // A checkpoint stored before infos existed (no info key) reads back with committed-at 0 and no owner.
  @Test
  void oldFormatCheckpointReadsWithUnknownInfo() throws Exception {
    try (StateStore.Batch batch = store.batch()) {
      batch.putCheckpoint(WF, "old", 0, ByteString.copyFromUtf8("v"), CheckpointInfo.UNKNOWN);
      store.commit(batch, TERM, ++index);
    }
    state = load(store); // as a replica that restarted on that store
    apply(checkpoint("new", 0, 9_000));

    List<ExportedCheckpoint> history = store.history(WF, null, null, 10, 1 << 20).entries();

    assertThat(positions(history)).containsExactly("old0", "new0");
    assertThat(history.getFirst().getCommittedAtMillis()).isZero();
    assertThat(history.getFirst().getOwnerNode()).isZero();
    assertThat(history.getFirst().getOwnerTerm()).isZero();
    assertThat(history.getLast().getCommitOrdinal()).as("counted after the old one").isEqualTo(1);
    // A cursor on the old checkpoint (ordinal -1) continues with the new ones.
    assertThat(positions(store.history(WF, null, new StateStore.HistoryPosition(-1, "old", 0), 10, 1 << 20).entries()))
        .containsExactly("new0");
    assertThat(store.checkpoints(WF)).extracting(ExportedCheckpoint::getCommittedAtMillis).containsExactly(9_000L, 0L);
  }

  // A replica loaded from the store has the digest of the one that applied the commands; a
  // different committed-at gives a different digest, so the digest covers the infos.
  @Test
  void reloadedStateHasTheSameDigestAndInfosCount() throws Exception {
    apply(checkpoint("a", 0, 10));
    apply(checkpoint("a", 1, 20));

    assertThat(load(store).digest()).isEqualTo(state.digest());

    WorkflowState other = new WorkflowState();
    other.apply(WorkflowStateTest.ownerChange(OWNER, TERM), TERM);
    other.apply(WorkflowStateTest.start(WF, "order", 1, "in"), TERM);
    other.apply(checkpoint("a", 0, 10), TERM);
    other.apply(checkpoint("a", 1, 21), TERM);
    assertThat(other.digest()).isNotEqualTo(state.digest());
  }

  // A merge carries the infos: the adopting group stores the source's time, owner and term, not its own.
  @Test
  void adoptionKeepsTheSourceInfos() throws Exception {
    apply(checkpoint("a", 0, 10));
    StateStore.HistorySlice source = store.history(WF, null, null, 10, 1 << 20);
    ExportedWorkflow exported = ExportedWorkflow.newBuilder().setRecord(state.get(WF).toRecord().toBuilder().setWorkflowId("adopted"))
        .addAllCheckpoints(store.checkpoints(WF)).build();
    try (StateStore target = StateStore.open(dir.resolve("target")); StateStore.Batch batch = target.batch()) {
      WorkflowState adopting = new WorkflowState();
      adopting.apply(WorkflowStateTest.ownerChange(OWNER + 1, TERM + 1), TERM + 1);
      Command adopt = Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder().setFromGroup("g").addWorkflows(exported)).build();
      assertThat(adopting.apply(adopt, TERM + 1, new StoreChanges(batch)).getCode()).isEqualTo(ResultCode.APPLIED);
      target.commit(batch, TERM + 1, 1);

      assertThat(target.history("adopted", null, null, 10, 1 << 20).entries()).isEqualTo(source.entries());
      assertThat(source.entries().getFirst().getOwnerNode()).isEqualTo(OWNER);
    }
  }

  // Pruning a workflow removes its infos with its values.
  @Test
  void pruneRemovesInfos() throws Exception {
    apply(checkpoint("a", 0, 10));
    apply(WorkflowStateTest.endWithResult(WF, "done", TERM));
    apply(Command.newBuilder().setPruneWorkflows(PruneWorkflows.newBuilder().setEndedBeforeMillis(Long.MAX_VALUE).setOwnerTerm(TERM)).build());

    assertThat(state.get(WF)).isNull();
    assertThat(store.history(WF, null, null, 10, 1 << 20).entries()).isEmpty();
    List<String> infos = new ArrayList<>();
    store.load(new StateStore.Visitor() {
      @Override
      public void owner(long node, long term) {}

      @Override
      public void workflow(WorkflowRecord record) {}

      @Override
      public void checkpoint(String workflowId, String key, long seq, ByteString value) {}

      @Override
      public void checkpointInfo(String workflowId, String key, long seq, CheckpointInfo info) {
        infos.add(workflowId + "/" + key + "/" + seq);
      }
    });
    assertThat(infos).isEmpty();
  }

  private List<ExportedCheckpoint> readAll(String key) throws CorruptStateException {
    List<ExportedCheckpoint> all = new ArrayList<>();
    StateStore.HistoryPosition after = null;
    while (true) {
      StateStore.HistorySlice slice = store.history(WF, key, after, 1, 1 << 20);
      all.addAll(slice.entries());
      if (!slice.more()) {
        return all;
      }
      ExportedCheckpoint last = slice.entries().getLast();
      after = new StateStore.HistoryPosition(StateStore.commitOrder(last), last.getKey(), last.getSeq());
    }
  }

  private static List<String> positions(List<ExportedCheckpoint> entries) {
    return entries.stream().map(e -> e.getKey() + e.getSeq()).toList();
  }

  private void apply(Command c) {
    try (StateStore.Batch batch = store.batch()) {
      assertThat(state.apply(c, TERM, new StoreChanges(batch)).getCode()).isEqualTo(ResultCode.APPLIED);
      store.commit(batch, TERM, ++index);
    }
  }

  private static Command checkpoint(String key, long seq, long committedAtMillis) {
    return Command.newBuilder().setSetCheckpoint(SetCheckpoint.newBuilder().setWorkflowId(WF).setKey(key).setSeq(seq)
        .setValue(ByteString.copyFromUtf8(key + seq)).setOwnerTerm(TERM).setCommittedAtMillis(committedAtMillis)).build();
  }

  /** Loads a state the way a restarting replica does. */
  private static WorkflowState load(StateStore store) throws CorruptStateException {
    WorkflowState loaded = new WorkflowState();
    store.load(new StateStore.Visitor() {
      @Override
      public void owner(long node, long term) {
        loaded.restoreOwner(node, term);
      }

      @Override
      public void workflow(WorkflowRecord record) {
        loaded.restoreWorkflow(record);
      }

      @Override
      public void checkpoint(String workflowId, String key, long seq, ByteString value) {
        assertThat(loaded.restoreCheckpoint(workflowId, key, seq, value)).isTrue();
      }

      @Override
      public void checkpointInfo(String workflowId, String key, long seq, CheckpointInfo info) {
        loaded.restoreCheckpointInfo(workflowId, key, seq, info);
      }
    });
    return loaded;
  }
}
