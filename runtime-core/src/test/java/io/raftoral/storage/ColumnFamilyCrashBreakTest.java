package io.raftoral.storage;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.proto.raft.WorkflowStatusCode;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A SIGKILL of a process whose state store wrote both column families with the RocksDB WAL off:
 * what survives must be one consistent prefix of the committed batches. RocksDB flushes each
 * family on its own when its memtable fills, unless atomic flush is on, so without it the two
 * families survive at different points (the Raft log cannot mend that: the store's applied
 * position, in the default family, decides which entries are replayed).
 */
class ColumnFamilyCrashBreakTest {
  @TempDir
  Path tmp;

  // The records family fills and flushes alone: the applied position survives past a checkpoint
  // that was lost with the checkpoint family's memtable.
  @Test
  void aCheckpointCommittedBeforeTheDurableAppliedPositionSurvivesASigkill() throws Exception {
    Path dir = tmp.resolve("store");
    crashAfter("records-ahead", dir);
    try (StateStore store = StateStore.open(dir)) {
      assertThat(store.applied().index()).as("the durable applied position").isGreaterThanOrEqualTo(1);
      assertThat(store.checkpointValue("wf", "a", 0))
          .as("the checkpoint of entry 1, below the applied position %s", store.applied().index())
          .isEqualTo(ByteString.copyFromUtf8("v0"));
    }
  }

  // The checkpoint family fills and flushes alone: its values survive while the record of their
  // workflow (started after the last flush of the records) is lost; loading refuses the store.
  @Test
  void everyStoredCheckpointHasItsWorkflowAfterASigkill() throws Exception {
    Path dir = tmp.resolve("store");
    crashAfter("checkpoints-ahead", dir);
    try (StateStore store = StateStore.open(dir)) {
      Set<String> workflows = new HashSet<>();
      List<String> orphans = new ArrayList<>();
      store.load(new StateStore.Visitor() {
        @Override
        public void owner(long node, long term) {}

        @Override
        public void workflow(WorkflowRecord record) {
          workflows.add(record.getWorkflowId());
        }

        @Override
        public void checkpoint(String workflowId, String key, long seq, ByteString value) {
          if (!workflows.contains(workflowId)) {
            orphans.add(workflowId + "/" + key + "/" + seq);
          }
        }
      });
      assertThat(orphans).as("checkpoints whose workflow record is not stored (applied position %s)", store.applied().index())
          .isEmpty();
    }
  }

  private void crashAfter(String scenario, Path dir) throws Exception {
    Path out = tmp.resolve("child.txt");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child = new ProcessBuilder(List.of(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), ColumnFamilyCrashBreakTest.class.getName(), scenario,
        dir.toString())).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      File f = out.toFile();
      while (!(f.exists() && Files.readString(out).contains("READY"))) {
        assertThat(child.isAlive()).as("child output: %s", f.exists() ? Files.readString(out) : "").isTrue();
        assertThat(System.nanoTime()).as("child output: %s", f.exists() ? Files.readString(out) : "").isLessThan(deadline);
        Thread.sleep(50);
      }
    } finally {
      child.destroyForcibly(); // SIGKILL: no close, no flush
      child.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** The child: writes as the state machine does (one batch per Raft entry), then waits to be killed. */
  public static void main(String[] args) throws Exception {
    String scenario = args[0];
    Path dir = Path.of(args[1]);
    StateStore store = StateStore.open(dir);
    long index = 1;
    if (scenario.equals("records-ahead")) {
      StateStore.Batch b = store.batch();
      b.putWorkflow(running("wf", 16));
      b.putCheckpoint("wf", "a", 0, ByteString.copyFromUtf8("v0"), new CheckpointInfo(1, 1, 1, 0));
      store.commit(b, 1, index++);
      // Workflows with large inputs: the records family passes its 8 MiB memtable and flushes.
      for (int i = 0; i < 48; i++) {
        StateStore.Batch s = store.batch();
        s.putWorkflow(running("big-" + i, 256 << 10));
        store.commit(s, 1, index++);
      }
    } else {
      StateStore.Batch b = store.batch();
      b.putOwner(1, 1);
      store.commit(b, 1, index++);
      store.flush(); // both families durable up to here
      StateStore.Batch s = store.batch();
      s.putWorkflow(running("late", 16));
      store.commit(s, 1, index++);
      byte[] value = new byte[4096];
      new java.util.Random(1).nextBytes(value);
      // 4 KiB values: the checkpoint family passes its 8 MiB memtable and flushes.
      for (int seq = 0; seq < 3000; seq++) {
        StateStore.Batch c = store.batch();
        c.putCheckpoint("late", "a", seq, ByteString.copyFrom(value), new CheckpointInfo(1, 1, 1, seq));
        store.commit(c, 1, index++);
      }
    }
    awaitTableFiles(store, dir, scenario.equals("records-ahead") ? 1 : 2);
    System.out.println("READY");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }

  private static WorkflowRecord running(String id, int inputBytes) {
    return WorkflowRecord.newBuilder().setWorkflowId(id).setType("t").setVersion(1).setStatus(WorkflowStatusCode.RUNNING)
        .setInput(ByteString.copyFrom(new byte[inputBytes])).build();
  }

  // The background flush of the full memtable has written its table file and finished (the
  // explicit flush of the second scenario wrote one already).
  private static void awaitTableFiles(StateStore store, Path dir, int atLeast) throws Exception {
    java.lang.reflect.Field field = StateStore.class.getDeclaredField("db");
    field.setAccessible(true);
    org.rocksdb.RocksDB db = (org.rocksdb.RocksDB) field.get(store);
    for (int i = 0; i < 600; i++) {
      try (Stream<Path> files = Files.list(dir)) {
        if (files.filter(p -> p.toString().endsWith(".sst")).count() >= atLeast
            && db.getLongProperty("rocksdb.num-running-flushes") == 0) {
          return;
        }
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("no flush happened");
  }
}
