package io.raftoral.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.AdoptWorkflows;
import io.raftoral.proto.raft.BatchResult;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.ExportWorkflows;
import io.raftoral.proto.raft.ExportedWorkflow;
import io.raftoral.proto.raft.GroupStatus;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.SealGroup;
import io.raftoral.proto.raft.OwnerChange;
import io.raftoral.proto.raft.PruneWorkflows;
import io.raftoral.proto.raft.SetCheckpoint;
import io.raftoral.proto.raft.WorkflowEnd;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.storage.CorruptStateException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import io.raftoral.raft.TestReplicas.Replica;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The durable side of an execution group's state machine, driven as Ratis drives it (initialize,
 * applyTransaction, takeSnapshot, pause, reinitialize, close) on real RocksDB and Ratis storage.
 */
class WorkflowStateMachineStorageTest {
  private static final RaftGroupId GROUP = RaftGroupId.valueOf(UUID.fromString("00000000-0000-0000-0000-00000000000a"));

  @TempDir
  Path tmp;

  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : List.copyOf(open).reversed()) {
      c.close();
    }
  }

  @Test
  void reopenedReplicaHoldsWhatItAppliedAndSkipsReplayedEntries() throws Exception {
    Replica first = replica("n1");
    first.apply(1, 1, owner(1));
    first.apply(2, 1, start("wf-1"), checkpoint("wf-1", "a", 0, "x", 1));
    first.apply(3, 1, checkpoint("wf-1", "a", 1, "y", 1), start("wf-2"));
    first.apply(4, 1, end("wf-2", 1, 1_000));
    first.apply(5, 1, prune(2_000));
    String digest = first.machine.state().digest();
    first.close();

    Replica again = replica("n1");
    assertThat(again.machine.state().digest()).isEqualTo(digest);
    assertThat(again.machine.state().get("wf-1").checkpoint("a", 1)).isEqualTo(ByteString.copyFromUtf8("y"));
    assertThat(again.machine.state().get("wf-2")).isNull();
    assertThat(again.machine.appliedIndex()).isEqualTo(5);

    // Ratis replays from its snapshot index (none here): entries the store holds change nothing.
    // Applied again, entry 3 would bring back wf-2, which entry 5 pruned.
    for (long i = 1; i <= 3; i++) {
      again.apply(i, 1, i == 1 ? owner(1) : start("wf-" + (i - 1)));
    }
    assertThat(again.machine.state().get("wf-2")).isNull();
    assertThat(again.machine.state().digest()).isEqualTo(digest);

    again.apply(6, 1, checkpoint("wf-1", "a", 2, "z", 1));
    assertThat(again.machine.state().get("wf-1").checkpoint("a", 2)).isEqualTo(ByteString.copyFromUtf8("z"));
  }

  @Test
  void anEndedWorkflowIsReloadedWithItsCheckpointCountAndWithoutItsValues() throws Exception {
    Replica first = replica("n1");
    first.apply(1, 1, owner(1));
    first.apply(2, 1, start("ended"), checkpoint("ended", "a", 0, "x", 1), checkpoint("ended", "a", 1, "y", 1));
    first.apply(3, 1, end("ended", 1, 1_000), start("running"), checkpoint("running", "a", 0, "v", 1));
    String digest = first.machine.state().digest();
    first.close();

    Replica again = replica("n1");
    WorkflowEntry ended = again.machine.state().get("ended");
    assertThat(ended.status()).isEqualTo(WorkflowStatusCode.COMPLETED);
    assertThat(ended.toRecord().getCheckpointCount()).as("counted from the store").isEqualTo(2);
    // Memory holds the running workflow's latest value only; the ended one's are read from the store.
    assertThat(again.machine.state().checkpointValuesInMemory()).isEqualTo(1);
    assertThat(ended.checkpoint("a", 0)).isEqualTo(ByteString.copyFromUtf8("x"));
    assertThat(ended.checkpoint("a", 2)).isNull();
    assertThat(again.machine.state().get("running").checkpoint("a", 0)).isEqualTo(ByteString.copyFromUtf8("v"));
    assertThat(again.machine.state().digest()).isEqualTo(digest);
  }

  @Test
  void snapshotRestoresAnIdenticalStateOnAnotherReplica() throws Exception {
    Replica leader = replica("n1");
    leader.apply(1, 1, owner(1));
    for (int i = 0; i < 20; i++) {
      leader.apply(2 + i, 1, start("wf-" + i), checkpoint("wf-" + i, "k", 0, "v" + i, 1));
    }
    leader.apply(22, 1, end("wf-3", 1, 1_000), end("wf-4", 1, 5_000));
    leader.apply(23, 1, prune(2_000));
    assertThat(leader.machine.state().get("wf-3")).isNull();
    assertThat(leader.machine.takeSnapshot()).isEqualTo(23);
    String atSnapshot = leader.machine.state().digest();
    leader.apply(24, 1, start("after-the-snapshot"));

    // A follower far behind: it fetches the leader's snapshot into its sm/ directory, then
    // Ratis pauses and reinitializes it.
    Replica follower = replica("n2");
    follower.apply(1, 1, owner(1));
    follower.apply(2, 1, start("wf-0"), checkpoint("wf-0", "k", 0, "v0", 1));
    follower.apply(3, 1, start("wf-3"));
    WorkflowEntry heldByARun = follower.machine.state().get("wf-0");
    WorkflowEntry prunedMeanwhile = follower.machine.state().get("wf-3");
    follower.installFrom(leader);
    follower.machine.pause();
    follower.machine.reinitialize();

    assertThat(follower.machine.state().digest()).isEqualTo(atSnapshot);
    assertThat(follower.machine.getLastAppliedTermIndex().getIndex()).isEqualTo(23);
    // Runs keep their entry objects, which now show the snapshot's values; a pruned one stops.
    assertThat(follower.machine.state().get("wf-0")).isSameAs(heldByARun);
    assertThat(prunedMeanwhile.status()).isEqualTo(WorkflowStatusCode.TERMINATED);
    assertThat(follower.machine.state().get("wf-3")).isNull();

    // It goes on applying after the snapshot, and so does a restart of it.
    follower.apply(24, 1, start("after-the-snapshot"));
    assertThat(follower.machine.state().digest()).isEqualTo(leader.machine.state().digest());
    follower.close();
    Replica restarted = replica("n2");
    assertThat(restarted.machine.state().digest()).isEqualTo(leader.machine.state().digest());
  }

  @Test
  void aStoreBehindItsSnapshotIsRestoredFromItOnStart() throws Exception {
    Replica r = replica("n1");
    r.apply(1, 1, owner(1), start("wf-1"));
    r.machine.takeSnapshot();
    String digest = r.machine.state().digest();
    r.close();
    TestReplicas.deleteRecursively(tmp.resolve("state").resolve("n1"));

    Replica rebuilt = replica("n1");
    assertThat(rebuilt.machine.state().digest()).isEqualTo(digest);
  }

  @Test
  void aCorruptedStoreIsRefused() throws Exception {
    Replica r = replica("n1");
    r.apply(1, 1, owner(1));
    for (int i = 0; i < 50; i++) {
      r.apply(2 + i, 1, start("wf-" + i), checkpoint("wf-" + i, "k", 0, "value-" + i, 1));
    }
    r.close();
    Path sst = largest(tmp.resolve("state").resolve("n1").resolve(GROUP.getUuid().toString()), ".sst");
    scribble(sst);

    assertThatThrownBy(() -> replica("n1"))
        .isInstanceOf(CorruptStateException.class)
        .hasMessageContaining("is corrupted or truncated")
        .hasMessageContaining("Delete that directory");
  }

  @Test
  void aStoreWithoutItsCurrentFileIsRefusedNotRecreatedEmpty() throws Exception {
    Replica r = replica("n1");
    r.apply(1, 1, owner(1), start("wf-1"));
    r.close();
    Files.delete(tmp.resolve("state").resolve("n1").resolve(GROUP.getUuid().toString()).resolve("CURRENT"));

    assertThatThrownBy(() -> replica("n1")).isInstanceOf(CorruptStateException.class).hasMessageContaining("no CURRENT file");
  }

  @Test
  void aCorruptedSnapshotIsRefused() throws Exception {
    Replica r = replica("n1");
    r.apply(1, 1, owner(1));
    for (int i = 0; i < 50; i++) {
      r.apply(2 + i, 1, start("wf-" + i));
    }
    r.machine.takeSnapshot();
    r.close();
    Path snapshot = r.machine.getStateMachineStorage().latest().directory();
    scribble(largest(snapshot, ".sst"));

    assertThatThrownBy(() -> replica("n1"))
        .isInstanceOf(CorruptStateException.class)
        .hasMessageContaining("the snapshot " + snapshot)
        .hasMessageContaining("(size:crc32c)");
  }

  @Test
  void aLogThatStartsAfterTheNewestSnapshotIsRefused() throws Exception {
    Replica r = replica("n1");
    r.apply(1, 1, owner(1), start("wf-1"));
    r.apply(2, 1, start("wf-2"));
    assertThat(r.machine.takeSnapshot()).isEqualTo(2);
    r.close();
    Path current = tmp.resolve("raft").resolve("n1").resolve("current");
    // Segment names as Ratis writes them: the log goes on right after the snapshot.
    Files.createFile(current.resolve("log_3-9"));
    replica("n1").close();

    // The snapshot is deleted: entries 0..2 exist nowhere, Ratis would wait for them forever.
    TestReplicas.deleteRecursively(tmp.resolve("raft").resolve("n1").resolve("sm"));
    assertThatThrownBy(() -> replica("n1"))
        .isInstanceOf(CorruptStateException.class)
        .hasMessageContaining("starts at index 3 but there is no snapshot")
        .hasMessageContaining("empty data directory");
  }

  // An entry that reaches the state machine while its store is closed (paused for a snapshot
  // install, or the node closing) is not applied, so it must not count as applied either: Ratis
  // moves on past it, but a snapshot or the store's position must never cover a lost entry.
  @Test
  void anEntryThatArrivesWhileTheStoreIsClosedIsNeitherAppliedNorMarkedApplied() throws Exception {
    Replica r = replica("n1");
    r.apply(1, 1, owner(1), start("wf-1"));
    r.machine.pause();

    var late = r.machine.applyTransaction(r.transaction(2, 1, checkpoint("wf-1", "a", 0, "x", 1)));

    assertThat(late).isCompletedExceptionally();
    assertThat(r.machine.appliedIndex()).isEqualTo(1);
    assertThat(r.machine.getLastAppliedTermIndex().getIndex()).isEqualTo(1);
    r.machine.reinitialize();
    assertThat(r.machine.state().get("wf-1").checkpoint("a", 0)).isNull();
    r.apply(2, 1, checkpoint("wf-1", "a", 0, "x", 1));
    assertThat(r.machine.state().get("wf-1").checkpoint("a", 0)).isEqualTo(ByteString.copyFromUtf8("x"));
  }

  // An entry that fails to apply halts the replica: later entries (with or without commands) and
  // snapshots never move its position past it, so a reopened replica replays it instead of
  // skipping it (Ratis itself moves past a failed entry).
  @Test
  void aReplicaHaltedByAFailedEntryNeverMovesItsPositionPastIt() throws Exception {
    Replica r = replica("n1");
    r.apply(1, 1, owner(1), start("wf-1"));

    var failed = r.machine.applyTransaction(r.transaction(2, 1, Command.getDefaultInstance()));
    var after = r.machine.applyTransaction(r.transaction(3, 1, start("wf-2")));
    r.machine.notifyTermIndexUpdated(1, 4); // a configuration entry

    assertThat(failed).isCompletedExceptionally();
    assertThat(after).isCompletedExceptionally();
    assertThat(r.machine.halted()).isNotNull();
    assertThat(r.machine.appliedIndex()).isEqualTo(1);
    assertThat(r.machine.takeSnapshot()).isLessThanOrEqualTo(1);
    r.close();

    Replica reopened = replica("n1");
    assertThat(reopened.machine.appliedIndex()).isEqualTo(1);
    assertThat(reopened.machine.state().get("wf-2")).isNull();
  }

  // --- merges (issue 20): the seal is durable; a sealed group exports its workflows in pages ---

  // The seal is part of the durable state: a restarted replica, and one restored from a
  // snapshot, is still sealed for the same target and refuses what it refused before.
  @Test
  void theSealSurvivesARestartAndASnapshot() throws Exception {
    Replica r = replica("n1");
    r.apply(1, 1, owner(1), start("wf-1"), checkpoint("wf-1", "a", 0, "x", 1));
    r.apply(2, 1, seal("target-group"));
    String digest = r.machine.state().digest();
    assertThat(r.machine.takeSnapshot()).isEqualTo(2);
    r.close();

    Replica again = replica("n1");
    assertThat(again.machine.state().sealed()).isTrue();
    assertThat(again.machine.state().mergeTarget()).isEqualTo("target-group");
    assertThat(again.machine.state().digest()).isEqualTo(digest);
    BatchResult refused = again.applyForResult(3, 1, checkpoint("wf-1", "a", 1, "y", 1), start("wf-2"));
    assertThat(refused.getResultsList()).extracting(CommandResult::getCode).containsExactly(ResultCode.SEALED, ResultCode.MOVED);

    Replica follower = replica("n2");
    follower.installFrom(again);
    follower.machine.pause();
    follower.machine.reinitialize();
    assertThat(follower.machine.state().sealed()).isTrue();
    assertThat(follower.machine.state().digest()).isEqualTo(digest);
    assertThat(follower.machine.status().getSealed()).isTrue();
  }

  // The health check asks every replica whether it halted, every second: the answer must not
  // wait for an entry being applied (a write stuck on a hung disk would hide the node's health).
  @Test
  void whetherAReplicaHaltedIsAnsweredWhileAnEntryIsBeingApplied() throws Exception {
    Replica r = replica("n1");
    java.lang.reflect.Field lock = WorkflowStateMachine.class.getDeclaredField("storeLock");
    lock.setAccessible(true);
    Object storeLock = lock.get(r.machine);
    java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    Thread applying = Thread.ofPlatform().start(() -> {
      synchronized (storeLock) {
        held.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    });
    try {
      held.await();
      var answer = java.util.concurrent.CompletableFuture.supplyAsync(r.machine::halted);
      assertThat(answer.get(30, java.util.concurrent.TimeUnit.SECONDS)).isNull();
    } finally {
      release.countDown();
      applying.join();
    }
  }

  // AdoptionDone is durable too: after a restart and in a replica restored from a snapshot, a
  // late page of that merge adds nothing.
  @Test
  void adoptionDoneSurvivesARestartAndASnapshot() throws Exception {
    Replica r = replica("n1");
    r.apply(1, 1, owner(1), Command.newBuilder().setAdoptionDone(io.raftoral.proto.raft.AdoptionDone.newBuilder()
        .setFromGroup("merged-group")).build());
    String digest = r.machine.state().digest();
    assertThat(r.machine.takeSnapshot()).isEqualTo(1);
    r.close();

    Replica again = replica("n1");
    assertThat(again.machine.state().adoptionDone("merged-group")).isTrue();
    assertThat(again.machine.state().digest()).isEqualTo(digest);

    Replica follower = replica("n2");
    follower.installFrom(again);
    follower.machine.pause();
    follower.machine.reinitialize();
    assertThat(follower.machine.state().adoptionDone("merged-group")).isTrue();
    assertThat(follower.machine.state().adoptionDone("other-group")).isFalse();
    assertThat(follower.machine.state().digest()).isEqualTo(digest);
  }

  // Export pages: id order strictly after the cursor, within max_bytes but at least one
  // workflow each, `more` until the last; every workflow once with its checkpoints: running ones
  // from memory, finished ones from the store (a reopened replica holds none of theirs in memory).
  // Adopted page by page into another replica, the copy holds the same records and values.
  @Test
  void aSealedGroupExportsEveryWorkflowOnceInPagesWithItsCheckpoints() throws Exception {
    Replica source = replica("n1");
    source.apply(1, 1, owner(1));
    long index = 2;
    for (int i = 0; i < 12; i++) {
      String id = String.format("wf-%02d", i);
      // Keys of different lengths: the store orders them by length, the export by key.
      source.apply(index++, 1, start(id), checkpoint(id, "bb", 0, "v-" + i + "-0", 1), checkpoint(id, "c", 0, "w-" + i, 1),
          checkpoint(id, "bb", 1, "v-" + i + "-1", 1));
      if (i % 3 == 0) {
        source.apply(index++, 1, end(id, 1, 1_000 + i));
      }
    }
    source.apply(index++, 1, seal("target-group"));
    source.close();
    source = replica("n1");
    assertThat(source.machine.state().get("wf-00").checkpoint("bb", 0)).as("an ended workflow's values are read from the store")
        .isEqualTo(ByteString.copyFromUtf8("v-0-0"));

    List<QueryReply> pages = new ArrayList<>();
    String cursor = "";
    do {
      QueryReply page = query(source, Query.newBuilder().setExport(ExportWorkflows.newBuilder().setAfterWorkflowId(cursor).setMaxBytes(600)).build());
      assertThat(page.getExportedCount()).as("a page holds at least one workflow").isPositive();
      pages.add(page);
      cursor = page.getExported(page.getExportedCount() - 1).getRecord().getWorkflowId();
    } while (pages.getLast().getMore());

    List<ExportedWorkflow> all = pages.stream().flatMap(p -> p.getExportedList().stream()).toList();
    assertThat(pages.size()).as("pages").isGreaterThan(1).isLessThan(12);
    assertThat(all).extracting(x -> x.getRecord().getWorkflowId())
        .containsExactlyElementsOf(java.util.stream.IntStream.range(0, 12).mapToObj(i -> String.format("wf-%02d", i)).toList());
    for (int i = 0; i < 12; i++) {
      ExportedWorkflow x = all.get(i);
      assertThat(x.getRecord().getStatus()).isEqualTo(i % 3 == 0 ? WorkflowStatusCode.COMPLETED : WorkflowStatusCode.RUNNING);
      assertThat(x.getCheckpointsList()).extracting(c -> c.getKey() + "/" + c.getSeq() + "=" + c.getValue().toStringUtf8())
          .containsExactly("bb/0=v-" + i + "-0", "bb/1=v-" + i + "-1", "c/0=w-" + i);
    }
    // A workflow that does not fit a page comes as a chunk of its checkpoints (at least one).
    QueryReply oneEach = query(source, Query.newBuilder().setExport(ExportWorkflows.newBuilder().setMaxBytes(1)).build());
    assertThat(oneEach.getExportedCount()).isEqualTo(1);
    assertThat(oneEach.getChunk()).isTrue();
    assertThat(oneEach.getExported(0).getCheckpointsList()).hasSize(1);
    assertThat(oneEach.getMore()).isTrue();
    QueryReply rest = query(source, Query.newBuilder().setExport(ExportWorkflows.newBuilder().setAfterWorkflowId("wf-11")).build());
    assertThat(rest.getExportedCount()).isZero();
    assertThat(rest.getMore()).isFalse();
    GroupStatus status = query(source, Query.newBuilder().setStatus(true).build()).getStatus();
    assertThat(status.getSealed()).isTrue();
    assertThat(status.getWorkflows()).isEqualTo(12);
    assertThat(status.getRunningWorkflows()).isEqualTo(8);

    // The merge target adopts the pages (one twice, as a new management leader would redo it).
    Replica target = replica("n2");
    target.apply(1, 1, owner(2));
    long at = 2;
    for (QueryReply page : pages) {
      target.apply(at++, 1, adopt(page));
    }
    BatchResult twice = target.applyForResult(at++, 1, adopt(pages.getFirst()));
    assertThat(twice.getResults(0).getPruned()).as("added by a page adopted again").isZero();
    target.close();
    target = replica("n2");
    for (ExportedWorkflow x : all) {
      var copy = target.machine.state().get(x.getRecord().getWorkflowId()).toRecord();
      var expected = x.getRecord();
      if (expected.getStatus() == WorkflowStatusCode.RUNNING) {
        expected = expected.toBuilder().setOwnerNode(2).build();
      }
      assertThat(copy).isEqualTo(expected);
    }
    QueryReply again = query(target, Query.newBuilder().setExport(ExportWorkflows.newBuilder().setMaxBytes(1 << 20)).build());
    assertThat(again.getExportedList()).extracting(ExportedWorkflow::getCheckpointsList)
        .containsExactlyElementsOf(all.stream().map(ExportedWorkflow::getCheckpointsList).toList());
  }

  private static QueryReply query(Replica r, Query q) throws Exception {
    var answer = r.machine.query(org.apache.ratis.protocol.Message.valueOf(UnsafeByteOperations.unsafeWrap(q.toByteArray())))
        .get(10, java.util.concurrent.TimeUnit.SECONDS);
    return QueryReply.parseFrom(answer.getContent().toByteArray());
  }

  private static Command seal(String target) {
    return Command.newBuilder().setSealGroup(SealGroup.newBuilder().setMergeTarget(target)).build();
  }

  // Checkpoint history (issue 21): answered from the store with each checkpoint's info, for a
  // running and an ended workflow; a restarted replica and one restored from a snapshot answer
  // the same and have the same digest (which covers a running workflow's infos).
  @Test
  void historyIsAnsweredFromTheStoreAfterARestartAndASnapshotInstall() throws Exception {
    Replica leader = replica("n1");
    leader.apply(1, 1, owner(7));
    leader.apply(2, 1, start("running"), checkpointAt("running", "a", 0, "x", 1_000), start("ended"));
    leader.apply(3, 1, checkpointAt("running", "b", 0, "y", 2_000), checkpointAt("running", "a", 1, "z", 3_000),
        checkpointAt("ended", "k", 0, "v", 1_500));
    leader.apply(4, 1, end("ended", 1, 5_000));
    io.raftoral.proto.raft.HistoryQuery running = io.raftoral.proto.raft.HistoryQuery.newBuilder().setWorkflowId("running").setLimit(10).build();
    io.raftoral.proto.raft.HistoryQuery ended = running.toBuilder().setWorkflowId("ended").build();
    QueryReply reply = leader.machine.history(running).build();
    assertThat(reply.getFound()).isTrue();
    assertThat(reply.getHistoryList()).extracting(e -> e.getKey() + e.getSeq() + "@" + e.getCommittedAtMillis() + " node "
        + e.getOwnerNode() + " term " + e.getOwnerTerm()).containsExactly("a0@1000 node 7 term 1", "b0@2000 node 7 term 1",
        "a1@3000 node 7 term 1");
    QueryReply endedReply = leader.machine.history(ended).build();
    assertThat(endedReply.getHistoryList()).extracting(e -> e.getValue().toStringUtf8()).containsExactly("v");
    assertThat(leader.machine.history(running.toBuilder().setWorkflowId("unknown").build()).getFound()).isFalse();
    assertThat(leader.machine.takeSnapshot()).isEqualTo(4);
    String digest = leader.machine.state().digest();

    Replica follower = replica("n2");
    follower.installFrom(leader);
    follower.machine.pause();
    follower.machine.reinitialize();
    assertThat(follower.machine.history(running).build()).isEqualTo(reply);
    assertThat(follower.machine.history(ended).build()).isEqualTo(endedReply);
    assertThat(follower.machine.state().digest()).isEqualTo(digest);

    leader.close();
    Replica restarted = replica("n1");
    assertThat(restarted.machine.history(running).build()).isEqualTo(reply);
    assertThat(restarted.machine.state().digest()).isEqualTo(digest);
  }

  // Retention (issue 21): an end that carries keep_last_per_key leaves only the last N values of
  // each key in the store, identically on every replica (one applying, one restored from a
  // snapshot, one restarted), with the full count kept; a terminate carries it too; a merge
  // adopts the trimmed workflow.
  @Test
  void anEndWithKeepLastPerKeyTrimsEveryKeyAndEveryReplicaAgrees() throws Exception {
    Replica leader = replica("n1");
    leader.apply(1, 1, owner(7));
    leader.apply(2, 1, start("kept"), start("terminated"), start("whole"));
    long index = 3;
    for (int seq = 0; seq < 5; seq++) {
      leader.apply(index++, 1, checkpoint("kept", "a", seq, "a" + seq, 1), checkpoint("terminated", "t", seq, "t" + seq, 1),
          checkpoint("whole", "w", seq, "w" + seq, 1));
    }
    leader.apply(index++, 1, checkpoint("kept", "b", 0, "b0", 1), checkpoint("kept", "b", 1, "b1", 1),
        checkpoint("kept", "c", 0, "c0", 1), checkpoint("kept", "b", 2, "b2", 1));
    BatchResult ends = leader.applyForResult(index++, 1,
        Command.newBuilder().setWorkflowEnd(WorkflowEnd.newBuilder().setWorkflowId("kept").setOwnerTerm(1)
            .setResult(ByteString.copyFromUtf8("done")).setEndedAtMillis(1_000).setKeepLastPerKey(2)).build(),
        Command.newBuilder().setWorkflowTerminate(io.raftoral.proto.raft.WorkflowTerminate.newBuilder().setWorkflowId("terminated")
            .setReason("stop").setAtMillis(1_000).setKeepLastPerKey(1)).build(),
        end("whole", 1, 1_000));
    assertThat(ends.getResultsList()).extracting(r -> r.getCode()).containsOnly(ResultCode.APPLIED);

    io.raftoral.proto.raft.HistoryQuery kept = io.raftoral.proto.raft.HistoryQuery.newBuilder().setWorkflowId("kept").setLimit(100).build();
    java.util.function.Function<Replica, List<String>> history = r -> {
      List<String> out = new ArrayList<>();
      for (String id : List.of("kept", "terminated", "whole")) {
        try {
          r.machine.history(kept.toBuilder().setWorkflowId(id).build()).build().getHistoryList()
              .forEach(e -> out.add(id + ":" + e.getKey() + e.getSeq() + "=" + e.getValue().toStringUtf8()));
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }
      return out;
    };
    List<String> expected = List.of("kept:a3=a3", "kept:b1=b1", "kept:a4=a4", "kept:b2=b2", "kept:c0=c0", "terminated:t4=t4",
        "whole:w0=w0", "whole:w1=w1", "whole:w2=w2", "whole:w3=w3", "whole:w4=w4");
    assertThat(history.apply(leader)).containsExactlyInAnyOrderElementsOf(expected);
    WorkflowEntry entry = leader.machine.state().get("kept");
    assertThat(entry.toRecord().getCheckpointCount()).isEqualTo(9);
    assertThat(entry.toRecord().getHistoryKeptLastPerKey()).isEqualTo(2);
    assertThat(leader.machine.state().get("terminated").toRecord().getHistoryKeptLastPerKey()).isEqualTo(1);
    assertThat(leader.machine.state().get("whole").toRecord().getHistoryKeptLastPerKey()).isZero();
    assertThat(entry.checkpoint("a", 0)).as("trimmed").isNull();
    assertThat(entry.checkpoint("a", 3)).isEqualTo(ByteString.copyFromUtf8("a3"));
    String digest = leader.machine.state().digest();
    assertThat(leader.machine.takeSnapshot()).isEqualTo(index - 1);

    Replica follower = replica("n2");
    follower.installFrom(leader);
    follower.machine.pause();
    follower.machine.reinitialize();
    assertThat(history.apply(follower)).containsExactlyInAnyOrderElementsOf(expected);
    assertThat(follower.machine.state().digest()).isEqualTo(digest);
    assertThat(follower.machine.state().get("kept").toRecord().getCheckpointCount()).isEqualTo(9);

    leader.close();
    Replica restarted = replica("n1");
    assertThat(history.apply(restarted)).containsExactlyInAnyOrderElementsOf(expected);
    assertThat(restarted.machine.state().digest()).isEqualTo(digest);
    assertThat(restarted.machine.state().get("kept").toRecord().getCheckpointCount()).as("from the stored record").isEqualTo(9);

    // A merge adopts the trimmed workflow as it is: each key starts past seq 0.
    restarted.apply(index++, 1, seal("target-group"));
    QueryReply page = query(restarted, Query.newBuilder().setExport(ExportWorkflows.newBuilder().setMaxBytes(1 << 20)).build());
    Replica target = replica("n3");
    target.apply(1, 1, owner(8));
    BatchResult adopted = target.applyForResult(2, 1, adopt(page));
    assertThat(adopted.getResults(0).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(adopted.getResults(0).getPruned()).isEqualTo(3);
    assertThat(history.apply(target)).containsExactlyInAnyOrderElementsOf(expected);
    assertThat(target.machine.state().get("kept").toRecord().getCheckpointCount()).isEqualTo(9);
  }

  // Checkpoints copied ahead of their workflow by a merge (AdoptCheckpoints) wait in the store
  // without a workflow: a replica restarted in between loads, and the continued page then takes them.
  @Test
  void checkpointsCopiedAheadOfTheirWorkflowSurviveARestart() throws Exception {
    Replica r = replica("n1");
    r.apply(1, 1, owner(7));
    r.apply(2, 1, Command.newBuilder().setAdoptCheckpoints(io.raftoral.proto.raft.AdoptCheckpoints.newBuilder()
        .setFromGroup("from").setWorkflowId("big")
        .addCheckpoints(io.raftoral.proto.raft.ExportedCheckpoint.newBuilder().setKey("a").setSeq(0).setValue(ByteString.copyFromUtf8("a0")))
        .addCheckpoints(io.raftoral.proto.raft.ExportedCheckpoint.newBuilder().setKey("a").setSeq(1).setValue(ByteString.copyFromUtf8("a1"))))
        .build());
    r.close();
    Replica again = replica("n1");
    assertThat(again.machine.state().get("big")).isNull();
    io.raftoral.proto.raft.WorkflowRecord record = io.raftoral.proto.raft.WorkflowRecord.newBuilder().setWorkflowId("big").setType("t")
        .setVersion(1).setStatus(WorkflowStatusCode.RUNNING).build();
    BatchResult adopted = again.applyForResult(3, 1, Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder().setFromGroup("from")
        .addWorkflows(ExportedWorkflow.newBuilder().setRecord(record).setContinued(true)
            .addCheckpoints(io.raftoral.proto.raft.ExportedCheckpoint.newBuilder().setKey("a").setSeq(2).setValue(ByteString.copyFromUtf8("a2")))))
        .build());
    assertThat(adopted.getResults(0).getPruned()).as("%s", adopted).isEqualTo(1);
    WorkflowEntry big = again.machine.state().get("big");
    assertThat(big.toRecord().getCheckpointCount()).isEqualTo(3);
    assertThat(big.checkpoint("a", 0)).isEqualTo(ByteString.copyFromUtf8("a0"));
    assertThat(big.checkpoint("a", 2)).isEqualTo(ByteString.copyFromUtf8("a2"));
    String digest = again.machine.state().digest();
    again.close();
    assertThat(replica("n1").machine.state().digest()).isEqualTo(digest);
  }

  // A negative keep_last_per_key is refused; the workflow stays as it was.
  @Test
  void aNegativeKeepLastPerKeyIsRefused() throws Exception {
    Replica r = replica("n1");
    r.apply(1, 1, owner(7));
    r.apply(2, 1, start("wf"), checkpoint("wf", "a", 0, "x", 1));
    BatchResult refused = r.applyForResult(3, 1,
        Command.newBuilder().setWorkflowEnd(WorkflowEnd.newBuilder().setWorkflowId("wf").setOwnerTerm(1)
            .setResult(ByteString.copyFromUtf8("done")).setKeepLastPerKey(-1)).build(),
        Command.newBuilder().setWorkflowTerminate(io.raftoral.proto.raft.WorkflowTerminate.newBuilder().setWorkflowId("wf")
            .setKeepLastPerKey(-3)).build());
    assertThat(refused.getResultsList()).extracting(x -> x.getCode()).containsExactly(ResultCode.INVALID_INPUT, ResultCode.INVALID_INPUT);
    assertThat(refused.getResults(0).getMessage()).contains("keep_last_per_key", "-1");
    assertThat(r.machine.state().get("wf").status()).isEqualTo(WorkflowStatusCode.RUNNING);
    assertThat(r.machine.state().get("wf").checkpoint("a", 0)).isEqualTo(ByteString.copyFromUtf8("x"));
  }

  private static Command checkpointAt(String id, String key, long seq, String value, long committedAtMillis) {
    return Command.newBuilder().setSetCheckpoint(SetCheckpoint.newBuilder().setWorkflowId(id).setKey(key).setSeq(seq)
        .setValue(ByteString.copyFromUtf8(value)).setOwnerTerm(1).setCommittedAtMillis(committedAtMillis)).build();
  }

  private static Command adopt(QueryReply page) {
    return Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder().setFromGroup("from").addAllWorkflows(page.getExportedList()))
        .build();
  }

  private TestReplicas replicas;

  private Replica replica(String name) throws IOException {
    if (replicas == null) {
      replicas = new TestReplicas(tmp, GROUP);
      open.add(replicas);
    }
    return replicas.replica(name);
  }

  /** A claim made in term 1, the term every entry of these tests carries. */
  private static Command owner(long node) {
    return Command.newBuilder().setOwnerChange(OwnerChange.newBuilder().setOwnerNode(node).setClaimantTerm(1).setReason("test")).build();
  }

  private static Command start(String id) {
    return Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder().setWorkflowId(id).setType("t").setVersion(1)
        .setInput(ByteString.copyFromUtf8("in-" + id)).setStartedAtMillis(100)).build();
  }

  private static Command checkpoint(String id, String key, long seq, String value, long ownerTerm) {
    return Command.newBuilder().setSetCheckpoint(SetCheckpoint.newBuilder().setWorkflowId(id).setKey(key).setSeq(seq)
        .setValue(ByteString.copyFromUtf8(value)).setOwnerTerm(ownerTerm)).build();
  }

  private static Command end(String id, long ownerTerm, long atMillis) {
    return Command.newBuilder().setWorkflowEnd(WorkflowEnd.newBuilder().setWorkflowId(id).setOwnerTerm(ownerTerm)
        .setResult(ByteString.copyFromUtf8("done")).setEndedAtMillis(atMillis)).build();
  }

  private static Command prune(long endedBefore) {
    return Command.newBuilder().setPruneWorkflows(PruneWorkflows.newBuilder().setEndedBeforeMillis(endedBefore).setOwnerTerm(1)).build();
  }

  private static Path largest(Path dir, String suffix) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.getFileName().toString().endsWith(suffix))
          .max(Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
    }
  }

  /** Overwrites bytes in the middle of the file, as a bad disk sector would. */
  private static void scribble(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {0x13, 0x37, 0x13, 0x37, 0x13, 0x37, 0x13, 0x37}), file.toFile().length() / 3);
    }
  }

}
