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

  private List<Integer> defaultFamilyKinds() throws Exception {
    List<ColumnFamilyHandle> handles = new ArrayList<>();
    List<Integer> kinds = new ArrayList<>();
    try (DBOptions options = new DBOptions();
        RocksDB db = RocksDB.open(options, dir.toString(), List.of(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY),
            new ColumnFamilyDescriptor(StateStore.CHECKPOINTS.getBytes())), handles)) {
      try (RocksIterator it = db.newIterator(handles.get(0))) {
        for (it.seekToFirst(); it.isValid(); it.next()) {
          kinds.add((int) it.key()[0]);
        }
      }
      handles.forEach(ColumnFamilyHandle::close);
    }
    return kinds;
  }
}
