package io.raftoral.raft;

import static io.raftoral.raft.TestReplicas.checkpoint;
import static io.raftoral.raft.TestReplicas.owner;
import static io.raftoral.raft.TestReplicas.start;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftoral.state.CommittedValues;
import io.raftoral.state.WorkflowEntry;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs reading committed values that only the state store holds, while the store closes and reopens. */
class StoredValueReadsBreakTest {
  @TempDir
  Path tmp;

  private TestReplicas replicas;

  @AfterEach
  void closeAll() throws Exception {
    if (replicas != null) {
      replicas.close();
    }
  }

  // A run waiting for a store closed by a snapshot install must stop when the node closes the
  // replica instead: the close is final, nothing will reopen the store.
  @Test
  void closingTheReplicaStopsAReadWaitingForAPausedStore() throws Exception {
    replicas = new TestReplicas(tmp);
    TestReplicas.Replica r = replicas.replica("n1");
    r.apply(1, 1, owner(1));
    r.apply(2, 1, start("wf"), checkpoint("wf", "a", 0, "x"), checkpoint("wf", "a", 1, "y"));
    WorkflowEntry entry = r.machine.state().get("wf");
    r.machine.pause();

    CompletableFuture<Object> read = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try {
        read.complete(entry.checkpoint("a", 0));
      } catch (Throwable t) {
        read.complete(t);
      }
    }, "run-reading-old-value");
    reader.start();
    awaitWaiting(reader);

    r.close();
    Object outcome = read.completeOnTimeout("still waiting 15 s after the close", 15, TimeUnit.SECONDS).get();
    assertThat(outcome).isInstanceOf(CommittedValues.Unavailable.class);
  }

  // A run waiting through a snapshot install reads the installed store's value.
  @Test
  void aReadWaitingThroughASnapshotInstallGetsTheInstalledValue() throws Exception {
    replicas = new TestReplicas(tmp);
    TestReplicas.Replica leader = replicas.replica("n1");
    leader.apply(1, 1, owner(1));
    leader.apply(2, 1, start("wf"), checkpoint("wf", "a", 0, "x"), checkpoint("wf", "a", 1, "y"));
    leader.apply(3, 1, checkpoint("wf", "a", 2, "z"));
    assertThat(leader.machine.takeSnapshot()).isEqualTo(3);

    TestReplicas.Replica follower = replicas.replica("n2");
    follower.apply(1, 1, owner(1));
    follower.apply(2, 1, start("wf"), checkpoint("wf", "a", 0, "x"), checkpoint("wf", "a", 1, "y"));
    WorkflowEntry entry = follower.machine.state().get("wf");
    follower.machine.pause();
    CompletableFuture<Object> read = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try {
        read.complete(entry.checkpoint("a", 0));
      } catch (Throwable t) {
        read.complete(t);
      }
    });
    reader.start();
    awaitWaiting(reader);
    follower.installFrom(leader);
    follower.machine.reinitialize();
    assertThat(read.get(30, TimeUnit.SECONDS)).isEqualTo(ByteString.copyFromUtf8("x"));
    assertThat(entry.checkpoint("a", 1)).isEqualTo(ByteString.copyFromUtf8("y"));
    assertThat(entry.checkpoint("a", 2)).isEqualTo(ByteString.copyFromUtf8("z"));
    assertThat(follower.machine.state().digest()).isEqualTo(leader.machine.state().digest());
  }

  private static void awaitWaiting(Thread t) throws InterruptedException {
    for (int i = 0; i < 1000 && t.getState() != Thread.State.TIMED_WAITING; i++) {
      Thread.sleep(10);
    }
    assertThat(t.getState()).isEqualTo(Thread.State.TIMED_WAITING);
  }
}
