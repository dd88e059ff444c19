package io.raftoral.raft;

import static io.raftoral.raft.TestReplicas.checkpoint;
import static io.raftoral.raft.TestReplicas.end;
import static io.raftoral.raft.TestReplicas.owner;
import static io.raftoral.raft.TestReplicas.start;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.AdoptCheckpoints;
import io.raftoral.proto.raft.AdoptWorkflows;
import io.raftoral.proto.raft.BatchResult;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.ExportWorkflows;
import io.raftoral.proto.raft.ExportedCheckpoint;
import io.raftoral.proto.raft.ExportedWorkflow;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.SealGroup;
import io.raftoral.proto.raft.WorkflowStatusCode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A merge's export of a workflow too big for one page, in chunks, driven as GroupMerge drives it. */
class ExportChunksBreakTest {
  @TempDir
  Path tmp;

  private TestReplicas replicas;

  @AfterEach
  void closeAll() throws Exception {
    if (replicas != null) {
      replicas.close();
    }
  }

  // Keys of different lengths and a non-ASCII one: the store orders by length then bytes.
  private static final List<String> KEYS = List.of("b", "aa", "a", "é", "ab", "zzz");
  private static final int SEQS = 4;

  private static String value(String key, int seq) {
    return "value-of-" + key + "-" + seq + "-padding-padding";
  }

  /** A sealed source holding small workflows around "big"; keepLast < 0: big stays running. */
  private TestReplicas.Replica source(long keepLast) throws Exception {
    TestReplicas.Replica s = replicas.replica("src");
    s.apply(1, 1, owner(1));
    long i = 2;
    s.apply(i++, 1, start("a-small"), checkpoint("a-small", "k", 0, "s"));
    s.apply(i++, 1, start("big"));
    for (int seq = 0; seq < SEQS; seq++) {
      for (String k : KEYS) {
        s.apply(i++, 1, checkpoint("big", k, seq, value(k, seq)));
      }
    }
    s.apply(i++, 1, start("z-small"), checkpoint("z-small", "k", 0, "z"));
    if (keepLast >= 0) {
      s.apply(i++, 1, end("big", 1_000, keepLast));
    }
    s.apply(i++, 1, Command.newBuilder().setSealGroup(SealGroup.newBuilder().setMergeTarget("t")).build());
    return s;
  }

  private static QueryReply query(TestReplicas.Replica r, Query q) throws Exception {
    var answer = r.machine.query(org.apache.ratis.protocol.Message.valueOf(UnsafeByteOperations.unsafeWrap(q.toByteArray())))
        .get(10, java.util.concurrent.TimeUnit.SECONDS);
    return QueryReply.parseFrom(answer.getContent().toByteArray());
  }

  /** The commands GroupMerge.step proposes, from cursor "" to the last page; at most {@code limit} of them. */
  private static List<Command> mergeCommands(TestReplicas.Replica source, long maxBytes, int limit) throws Exception {
    List<Command> out = new ArrayList<>();
    String cursor = "";
    String chunkOf = "";
    String chunkKey = "";
    long chunkSeq = 0;
    while (out.size() < limit) {
      QueryReply page = query(source, Query.newBuilder().setExport(ExportWorkflows.newBuilder().setAfterWorkflowId(cursor)
          .setMaxBytes(maxBytes).setInWorkflowId(chunkOf).setAfterKey(chunkKey).setAfterSeq(chunkSeq)).build());
      if (page.getChunk()) {
        ExportedWorkflow part = page.getExported(0);
        out.add(Command.newBuilder().setAdoptCheckpoints(AdoptCheckpoints.newBuilder().setFromGroup("src")
            .setWorkflowId(part.getRecord().getWorkflowId()).addAllCheckpoints(part.getCheckpointsList())).build());
        ExportedCheckpoint last = part.getCheckpoints(part.getCheckpointsCount() - 1);
        chunkOf = part.getRecord().getWorkflowId();
        chunkKey = last.getKey();
        chunkSeq = last.getSeq();
        continue;
      }
      if (page.getExportedCount() > 0) {
        out.add(Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder().setFromGroup("src")
            .addAllWorkflows(page.getExportedList())).build());
        cursor = page.getExported(page.getExportedCount() - 1).getRecord().getWorkflowId();
        chunkOf = "";
      }
      if (!page.getMore()) {
        break;
      }
    }
    return out;
  }

  private static long applyAll(TestReplicas.Replica target, long index, List<Command> commands) throws Exception {
    for (Command c : commands) {
      BatchResult r = target.applyForResult(index++, 1, c);
      assertThat(r.getResults(0).getCode()).as("%s -> %s", c.getKindCase(), r).isEqualTo(ResultCode.APPLIED);
    }
    return index;
  }

  private static List<ExportedWorkflow> everything(TestReplicas.Replica r) throws Exception {
    QueryReply all = query(r, Query.newBuilder().setExport(ExportWorkflows.newBuilder().setMaxBytes(64 << 20)).build());
    assertThat(all.getChunk()).isFalse();
    return all.getExportedList();
  }

  private static List<String> checkpointsOf(List<ExportedWorkflow> all, String id) {
    return all.stream().filter(x -> x.getRecord().getWorkflowId().equals(id)).findFirst().orElseThrow()
        .getCheckpointsList().stream().map(c -> c.getKey() + "/" + c.getSeq() + "=" + c.getValue().toStringUtf8()).toList();
  }

  private void mergesWhole(long keepLast) throws Exception {
    replicas = new TestReplicas(tmp);
    TestReplicas.Replica src = source(keepLast);
    List<Command> commands = mergeCommands(src, 200, 10_000);
    assertThat(commands.stream().filter(Command::hasAdoptCheckpoints).count()).as("chunks").isGreaterThan(2);
    TestReplicas.Replica target = replicas.replica("dst");
    target.apply(1, 1, owner(2));
    applyAll(target, 2, commands);
    List<ExportedWorkflow> from = everything(src);
    List<ExportedWorkflow> to = everything(target);
    for (String id : List.of("a-small", "big", "z-small")) {
      assertThat(checkpointsOf(to, id)).as(id).containsExactlyElementsOf(checkpointsOf(from, id));
    }
    assertThat(target.machine.state().get("big").toRecord().getCheckpointCount())
        .isEqualTo(src.machine.state().get("big").toRecord().getCheckpointCount());
    assertThat(history(target, "big", 5)).as("history").containsExactlyElementsOf(history(src, "big", 5));
    if (keepLast < 0) {
      // It goes on in the target: its next checkpoint follows the copied ones in the commit order.
      long n = target.machine.state().get("big").toRecord().getCheckpointCount();
      assertThat(target.applyForResult(100_000, 1, checkpoint("big", "a", SEQS, "next")).getResults(0).getCode()).isEqualTo(ResultCode.APPLIED);
      List<String> h = history(target, "big", 7);
      assertThat(h).hasSize((int) n + 1);
      assertThat(h.getLast()).isEqualTo("next@" + n);
    }
    String digest = target.machine.state().digest();
    target.close();
    assertThat(replicas.replica("dst").machine.state().digest()).as("a restart").isEqualTo(digest);
  }

  private static List<String> history(TestReplicas.Replica r, String id, int limit) throws Exception {
    List<String> out = new ArrayList<>();
    io.raftoral.proto.raft.HistoryQuery.Builder q = io.raftoral.proto.raft.HistoryQuery.newBuilder().setWorkflowId(id).setLimit(limit);
    for (int pages = 0; pages < 100; pages++) {
      QueryReply reply = r.machine.history(q.build()).build();
      reply.getHistoryList().forEach(e -> out.add(e.getValue().toStringUtf8() + "@" + e.getCommitOrdinal()));
      if (!reply.getMore()) {
        return out;
      }
      var last = reply.getHistoryList().getLast();
      q.setHasCursor(true).setAfterCommitOrdinal(io.raftoral.storage.StateStore.commitOrder(last)).setAfterKey(last.getKey())
          .setAfterSeq(last.getSeq());
    }
    throw new AssertionError("no last page: " + out);
  }

  @Test
  void aRunningBigWorkflowIsCopiedWholeAcrossKeysOfDifferentLengths() throws Exception {
    mergesWhole(-1);
  }

  @Test
  void anEndedBigWorkflowIsCopiedWhole() throws Exception {
    mergesWhole(0);
  }

  @Test
  void aTrimmedBigWorkflowIsCopiedWhole() throws Exception {
    mergesWhole(2);
  }

  @Test
  void aRecordLargerThanAPageStillProgresses() throws Exception {
    replicas = new TestReplicas(tmp);
    TestReplicas.Replica src = source(-1);
    List<Command> commands = mergeCommands(src, 1, 10_000);
    assertThat(commands.size()).isLessThan(10_000);
    TestReplicas.Replica target = replicas.replica("dst");
    target.apply(1, 1, owner(2));
    applyAll(target, 2, commands);
    assertThat(checkpointsOf(everything(target), "big")).containsExactlyElementsOf(checkpointsOf(everything(src), "big"));
  }

  // A new management leader redoes the merge from cursor "" after some chunks; then an old chunk comes again.
  @Test
  void aMergeRedoneFromTheStartAndAnOldChunkAgainChangeNothing() throws Exception {
    replicas = new TestReplicas(tmp);
    TestReplicas.Replica src = source(-1);
    List<Command> commands = mergeCommands(src, 200, 10_000);
    TestReplicas.Replica target = replicas.replica("dst");
    target.apply(1, 1, owner(2));
    long at = applyAll(target, 2, commands.subList(0, 3));
    at = applyAll(target, at, commands);
    String digest = target.machine.state().digest();
    Command oldChunk = commands.stream().filter(Command::hasAdoptCheckpoints).findFirst().orElseThrow();
    at = applyAll(target, at, List.of(oldChunk));
    at = applyAll(target, at, commands);
    assertThat(target.machine.state().digest()).isEqualTo(digest);
    assertThat(checkpointsOf(everything(target), "big")).containsExactlyElementsOf(checkpointsOf(everything(src), "big"));
    target.close();
    assertThat(replicas.replica("dst").machine.state().digest()).isEqualTo(digest);
  }

  // A follower of the target installs a snapshot taken between chunks, then applies the rest.
  @Test
  void aSnapshotBetweenChunksGivesTheSameWorkflow() throws Exception {
    replicas = new TestReplicas(tmp);
    TestReplicas.Replica src = source(-1);
    List<Command> commands = mergeCommands(src, 200, 10_000);
    TestReplicas.Replica target = replicas.replica("dst");
    target.apply(1, 1, owner(2));
    int cut = 3;
    assertThat(commands.get(cut - 1).hasAdoptCheckpoints()).isTrue();
    long at = applyAll(target, 2, commands.subList(0, cut));
    assertThat(target.machine.takeSnapshot()).isEqualTo(at - 1);
    String atSnapshot = target.machine.state().digest();
    TestReplicas.Replica follower = replicas.replica("dst2");
    follower.apply(1, 1, owner(2));
    follower.installFrom(target);
    follower.machine.pause();
    follower.machine.reinitialize();
    assertThat(follower.machine.state().digest()).isEqualTo(atSnapshot);
    applyAll(target, at, commands.subList(cut, commands.size()));
    applyAll(follower, at, commands.subList(cut, commands.size()));
    assertThat(follower.machine.state().digest()).isEqualTo(target.machine.state().digest());
    assertThat(checkpointsOf(everything(follower), "big")).containsExactlyElementsOf(checkpointsOf(everything(src), "big"));
  }

  private static Command chunk(String id, String key, long seq) {
    return Command.newBuilder().setAdoptCheckpoints(AdoptCheckpoints.newBuilder().setFromGroup("src").setWorkflowId(id)
        .addCheckpoints(ExportedCheckpoint.newBuilder().setKey(key).setSeq(seq).setValue(ByteString.copyFromUtf8("v")))).build();
  }

  @Test
  void badChunksAreRefusedAndTheReplicaKeepsRunning() throws Exception {
    replicas = new TestReplicas(tmp);
    TestReplicas.Replica target = replicas.replica("dst");
    target.apply(1, 1, owner(2));
    assertThat(target.applyForResult(2, 1, chunk("w", "a", -1)).getResults(0).getCode()).isEqualTo(ResultCode.INVALID_INPUT);
    assertThat(target.applyForResult(3, 1, chunk("", "a", 0)).getResults(0).getCode()).isEqualTo(ResultCode.INVALID_INPUT);
    BatchResult empty = target.applyForResult(4, 1, Command.newBuilder().setAdoptCheckpoints(AdoptCheckpoints.newBuilder()
        .setFromGroup("src")).build());
    assertThat(empty.getResults(0).getCode()).as("%s", empty).isEqualTo(ResultCode.INVALID_INPUT);
    // A chunk for a workflow then started here (not adopted): its stray positions must not surface.
    target.apply(5, 1, chunk("mine", "k", 0), chunk("mine", "k", 1));
    target.apply(6, 1, start("mine"), checkpoint("mine", "k", 0, "own"));
    String digest = target.machine.state().digest();
    target.close();
    TestReplicas.Replica again = replicas.replica("dst");
    assertThat(again.machine.state().digest()).isEqualTo(digest);
    assertThat(again.machine.state().get("mine").toRecord().getCheckpointCount()).isEqualTo(1);
    again.apply(7, 1, Command.newBuilder().setSealGroup(SealGroup.newBuilder().setMergeTarget("t")).build());
    assertThat(again.applyForResult(8, 1, chunk("x", "a", 0)).getResults(0).getCode()).isNotEqualTo(ResultCode.APPLIED);
  }
}
