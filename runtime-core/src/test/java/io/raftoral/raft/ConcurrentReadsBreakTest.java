package io.raftoral.raft;

import static io.raftoral.raft.TestReplicas.checkpoint;
import static io.raftoral.raft.TestReplicas.owner;
import static io.raftoral.raft.TestReplicas.start;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.state.WorkflowEntry;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Readers of committed positions while entries that write the same key several times are applied. */
class ConcurrentReadsBreakTest {
  @TempDir
  Path tmp;

  private TestReplicas replicas;

  @AfterEach
  void closeAll() throws Exception {
    if (replicas != null) {
      replicas.close();
    }
  }

  // Every position a reader finds committed (below the count it read) reads as its value, never
  // null and never another, while entries of three writes of one key are applied, snapshots taken,
  // and the ended workflow is released.
  @Test
  void everyCommittedPositionReadsItsValueWhileTheKeyIsWritten() throws Exception {
    replicas = new TestReplicas(tmp);
    TestReplicas.Replica r = replicas.replica("n1");
    r.apply(1, 1, owner(1));
    r.apply(2, 1, start("wf"));
    WorkflowEntry entry = r.machine.state().get("wf");
    AtomicBoolean done = new AtomicBoolean();
    AtomicLong reads = new AtomicLong();
    ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
    List<Thread> readers = List.of(1, 2).stream().map(i -> new Thread(() -> {
      while (!done.get() && wrong.isEmpty()) {
        WorkflowRecord rec = entry.toRecord();
        long count = rec.getCheckpointCount();
        if (count == 0) {
          continue;
        }
        long seq = i == 1 ? count - 1 - ThreadLocalRandom.current().nextLong(Math.min(count, 4)) : ThreadLocalRandom.current().nextLong(count);
        ByteString v = entry.checkpoint("a", seq);
        reads.incrementAndGet();
        if (v == null || !v.toStringUtf8().equals("v" + seq)) {
          wrong.add("seq " + seq + " of count " + count + ": " + (v == null ? null : v.toStringUtf8()));
        }
      }
    })).toList();
    readers.forEach(Thread::start);
    long index = 3;
    long seq = 0;
    for (int e = 0; e < 1500 && wrong.isEmpty(); e++) {
      r.apply(index++, 1, checkpoint("wf", "a", seq, "v" + seq), checkpoint("wf", "a", seq + 1, "v" + (seq + 1)),
          checkpoint("wf", "a", seq + 2, "v" + (seq + 2)));
      seq += 3;
      if (e % 500 == 499) {
        r.machine.takeSnapshot();
      }
    }
    done.set(true);
    for (Thread t : readers) {
      t.join(30_000);
    }
    assertThat(wrong).as("after %s reads", reads.get()).isEmpty();
    assertThat(reads.get()).isPositive();
  }
}
