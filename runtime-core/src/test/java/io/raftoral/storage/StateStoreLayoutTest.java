package io.raftoral.storage;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.proto.raft.WorkflowStatusCode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.DBOptions;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksIterator;

/**
 * The state store keeps checkpoint values in a column family of their own; a store written
 * before that family existed (everything in the default family) opens with its values moved
 * there, and reads the same.
 */
class StateStoreLayoutTest {
  @TempDir Path dir;

  @Test
  void aStoreWrittenBeforeTheCheckpointFamilyOpensWithItsValuesMovedThere() throws Exception {
    WorkflowRecord record = WorkflowRecord.newBuilder().setWorkflowId("wf").setType("t").setVersion(1)
        .setStatus(WorkflowStatusCode.RUNNING).build();
    CheckpointInfo info = new CheckpointInfo(1_000, 7, 1, 0);
    try (Options options = new Options().setCreateIfMissing(true); RocksDB old = RocksDB.open(options, dir.toString())) {
      old.put(StateKeys.APPLIED_KEY, StateKeys.longs(1, 42));
      old.put(StateKeys.OWNER_KEY, StateKeys.longs(7, 1));
      old.put(StateKeys.workflow("wf"), record.toByteArray());
      old.put(StateKeys.checkpoint("wf", "a", 0), "x".getBytes());
      old.put(StateKeys.checkpoint("wf", "a", 1), "y".getBytes());
      old.put(StateKeys.checkpointInfo("wf", "a", 0), StateKeys.info(info));
    }

    for (int open = 0; open < 2; open++) { // the second open finds nothing left to move
      try (StateStore store = StateStore.open(dir)) {
        assertThat(store.applied()).isEqualTo(new StateStore.Applied(1, 42));
        List<String> loaded = new ArrayList<>();
        store.load(new StateStore.Visitor() {
          @Override
          public void owner(long node, long term) {
            loaded.add("owner " + node + "/" + term);
          }

          @Override
          public void workflow(WorkflowRecord r) {
            loaded.add("workflow " + r.getWorkflowId());
          }

          @Override
          public void checkpoint(String workflowId, String key, long seq, ByteString value) {
            loaded.add(workflowId + " " + key + "#" + seq + "=" + value.toStringUtf8());
          }

          @Override
          public void checkpointInfo(String workflowId, String key, long seq, CheckpointInfo i) {
            loaded.add("info " + key + "#" + seq + " node " + i.ownerNode());
          }
        });
        assertThat(loaded).containsExactly("owner 7/1", "workflow wf", "wf a#0=x", "wf a#1=y", "info a#0 node 7");
        assertThat(store.checkpointValue("wf", "a", 1)).isEqualTo(ByteString.copyFromUtf8("y"));
        assertThat(store.checkpointValue("wf", "a", 2)).isNull();
        assertThat(store.history("wf", "a", null, 10, 1 << 20).entries()).extracting(e -> e.getValue().toStringUtf8())
            .containsExactly("x", "y");
      }
    }
    assertThat(defaultFamilyKinds()).as("no checkpoint left in the default family")
        .doesNotContain((int) StateKeys.CHECKPOINT, (int) StateKeys.CHECKPOINT_INFO).contains((int) StateKeys.WORKFLOW);
  }

  // A trim removes the trimmed positions' values, infos and commit-order entries, nothing else.
  @Test
  void aTrimRemovesTheCommitOrderEntriesOfWhatItTrims() throws Exception {
    try (StateStore store = StateStore.open(dir)) {
      StateStore.Batch batch = store.batch();
      for (int seq = 0; seq < 5; seq++) {
        batch.putCheckpoint("wf", "a", seq, ByteString.copyFromUtf8("a" + seq), new CheckpointInfo(1_000, 7, 1, 2L * seq));
        batch.putCheckpoint("wf", "b", seq, ByteString.copyFromUtf8("b" + seq), new CheckpointInfo(1_000, 7, 1, 2L * seq + 1));
      }
      store.commit(batch, 1, 1);
      StateStore.Batch trim = store.batch();
      trim.trimCheckpoints("wf", "a", 3);
      store.commit(trim, 1, 2);

      assertThat(store.checkpointValue("wf", "a", 2)).isNull();
      assertThat(store.checkpointValue("wf", "a", 3)).isEqualTo(ByteString.copyFromUtf8("a3"));
      assertThat(store.history("wf", null, null, 100, 1 << 20).entries()).extracting(e -> e.getKey() + e.getSeq())
          .containsExactly("b0", "b1", "b2", "a3", "b3", "a4", "b4");
    }
    List<Long> ordinals = familyKeys(1).stream().filter(k -> k[0] == StateKeys.COMMIT_ORDER).map(StateKeys::commitOrdinal).toList();
    assertThat(ordinals).containsExactly(1L, 3L, 5L, 6L, 7L, 8L, 9L);
  }

  private List<Integer> defaultFamilyKinds() throws Exception {
    return familyKeys(0).stream().map(k -> (int) k[0]).toList();
  }

  /** Every key of a family of the closed store: 0 the default one, 1 the checkpoints. */
  private List<byte[]> familyKeys(int family) throws Exception {
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    List<byte[]> keys = new ArrayList<>();
    try (DBOptions options = new DBOptions();
        RocksDB db = RocksDB.open(options, dir.toString(), List.of(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY),
            new ColumnFamilyDescriptor(StateStore.CHECKPOINTS.getBytes())), handles)) {
      try (RocksIterator it = db.newIterator(handles.get(family))) {
        for (it.seekToFirst(); it.isValid(); it.next()) {
          keys.add(it.key());
        }
      }
      handles.forEach(ColumnFamilyHandle::close);
    }
    return keys;
  }
}
