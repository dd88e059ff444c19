package io.raftoral.storage;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.ExportedCheckpoint;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.proto.raft.WorkflowStatusCode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;

/**
 * The all-keys history read page by page, through the commit-order index and through the sorting
 * path: every page size gives the same sequence as one big page, in commit order.
 */
class HistoryPathsBreakTest {
  @TempDir Path dir;

  // Written before the index (infos, no index), then checkpoints added with the index from
  // ordinal 3 on: the sorting path, cursor by cursor.
  @Test
  void aStoreWrittenBeforeTheIndexWithLaterCheckpointsPagesInCommitOrder() throws Exception {
    WorkflowRecord record = WorkflowRecord.newBuilder().setWorkflowId("wf").setType("t").setVersion(1)
        .setStatus(WorkflowStatusCode.RUNNING).build();
    try (Options options = new Options().setCreateIfMissing(true); RocksDB old = RocksDB.open(options, dir.toString())) {
      old.put(StateKeys.APPLIED_KEY, StateKeys.longs(1, 3));
      old.put(StateKeys.workflow("wf"), record.toByteArray());
      // A checkpoint from before infos, then b0, a1, bb0 with infos (ordinals 1..3).
      old.put(StateKeys.checkpoint("wf", "z", 0), "z0".getBytes());
      old.put(StateKeys.checkpoint("wf", "b", 0), "b0".getBytes());
      old.put(StateKeys.checkpointInfo("wf", "b", 0), StateKeys.info(new CheckpointInfo(1, 7, 1, 1)));
      old.put(StateKeys.checkpoint("wf", "a", 0), "a0".getBytes());
      old.put(StateKeys.checkpointInfo("wf", "a", 0), StateKeys.info(new CheckpointInfo(2, 7, 1, 2)));
      old.put(StateKeys.checkpoint("wf", "bb", 0), "bb0".getBytes());
      old.put(StateKeys.checkpointInfo("wf", "bb", 0), StateKeys.info(new CheckpointInfo(3, 7, 1, 3)));
    }
    try (StateStore store = StateStore.open(dir)) {
      StateStore.Batch b = store.batch();
      b.putCheckpoint("wf", "a", 1, ByteString.copyFromUtf8("a1"), new CheckpointInfo(4, 7, 2, 4));
      b.putCheckpoint("wf", "b", 1, ByteString.copyFromUtf8("b1"), new CheckpointInfo(5, 7, 2, 5));
      store.commit(b, 2, 4);
      List<String> expected = List.of("z0", "b0", "a0", "bb0", "a1", "b1");
      assertThat(values(store.history("wf", null, null, 100, 1 << 20).entries())).containsExactlyElementsOf(expected);
      for (int limit = 1; limit <= 4; limit++) {
        assertThat(paged(store, "wf", limit, 1 << 20)).as("pages of %s", limit).containsExactlyElementsOf(expected);
      }
      assertThat(paged(store, "wf", 100, 1)).as("pages of one entry by bytes").containsExactlyElementsOf(expected);
    }
  }

  // Indexed from ordinal 0 and trimmed at its end: the index keeps the trimmed positions, which
  // every page skips, and `more` is false once only trimmed ones follow.
  @Test
  void aTrimmedIndexedWorkflowPagesInCommitOrder() throws Exception {
    try (StateStore store = StateStore.open(dir)) {
      StateStore.Batch b = store.batch();
      b.putWorkflow(WorkflowRecord.newBuilder().setWorkflowId("wf").setStatus(WorkflowStatusCode.COMPLETED).build());
      String[] keys = {"a", "b", "a", "a", "c", "b", "a"};
      int[] seqs = new int[3];
      for (int ordinal = 0; ordinal < keys.length; ordinal++) {
        String k = keys[ordinal];
        int seq = seqs[k.charAt(0) - 'a']++;
        b.putCheckpoint("wf", k, seq, ByteString.copyFromUtf8(k + seq), new CheckpointInfo(10 + ordinal, 7, 1, ordinal));
      }
      b.trimCheckpoints("wf", "a", 3); // a0..a2 go, a3 stays
      b.trimCheckpoints("wf", "b", 1); // b0 goes
      store.commit(b, 1, 1);
      List<String> expected = List.of("c0", "b1", "a3");
      StateStore.HistorySlice all = store.history("wf", null, null, 100, 1 << 20);
      assertThat(values(all.entries())).containsExactlyElementsOf(expected);
      assertThat(all.more()).isFalse();
      StateStore.HistorySlice first = store.history("wf", null, null, 3, 1 << 20);
      assertThat(first.more()).as("nothing follows the third").isFalse();
      for (int limit = 1; limit <= 3; limit++) {
        assertThat(paged(store, "wf", limit, 1 << 20)).as("pages of %s", limit).containsExactlyElementsOf(expected);
      }
      assertThat(store.history("wf", "a", null, 10, 1 << 20).entries()).extracting(e -> e.getSeq()).containsExactly(3L);
    }
  }

  private static List<String> paged(StateStore store, String wf, int limit, long maxBytes) throws Exception {
    List<String> out = new ArrayList<>();
    StateStore.HistoryPosition after = null;
    for (int pages = 0; pages < 100; pages++) {
      StateStore.HistorySlice s = store.history(wf, null, after, limit, maxBytes);
      out.addAll(values(s.entries()));
      if (!s.more()) {
        return out;
      }
      ExportedCheckpoint last = s.entries().getLast();
      after = new StateStore.HistoryPosition(StateStore.commitOrder(last), last.getKey(), last.getSeq());
    }
    throw new AssertionError("no last page: " + out);
  }

  private static List<String> values(List<ExportedCheckpoint> entries) {
    return entries.stream().map(e -> e.getValue().toStringUtf8()).toList();
  }
}
