package io.raftoral.raft;

import static io.raftoral.raft.TestReplicas.checkpoint;
import static io.raftoral.raft.TestReplicas.end;
import static io.raftoral.raft.TestReplicas.owner;
import static io.raftoral.raft.TestReplicas.start;
import static io.raftoral.raft.TestReplicas.terminate;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.AdoptWorkflows;
import io.raftoral.proto.raft.BatchResult;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.ExportWorkflows;
import io.raftoral.proto.raft.HistoryQuery;
import io.raftoral.proto.raft.PruneWorkflows;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.SealGroup;
import io.raftoral.state.WorkflowEntry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Replicas that applied, restarted, installed a snapshot or adopted agree on digests, values and memory. */
class DigestAndMemoryBreakTest {
  @TempDir
  Path tmp;

  private TestReplicas replicas;

  @AfterEach
  void closeAll() throws Exception {
    if (replicas != null) {
      replicas.close();
    }
  }

  // Many keys, several values of one key in one entry: the applying, restarted and installed
  // replicas have one digest, every value, and one value per key in memory.
  @Test
  void aRunningWorkflowWithManyKeysHasOneDigestAppliedRestartedAndInstalled() throws Exception {
    replicas = new TestReplicas(tmp);
    TestReplicas.Replica leader = replicas.replica("n1");
    leader.apply(1, 1, owner(1));
    leader.apply(2, 1, start("wf"));
    long index = 3;
    for (int round = 0; round < 3; round++) {
      List<Command> entry = new ArrayList<>();
      for (int k = 0; k < 40; k++) {
        entry.add(checkpoint("wf", "k" + k, round, "v" + k + "." + round));
      }
      leader.apply(index++, 1, entry.toArray(Command[]::new));
    }
    leader.apply(index++, 1, checkpoint("wf", "k0", 3, "a"), checkpoint("wf", "k0", 4, "b"), checkpoint("wf", "k0", 5, "c"));
    String digest = leader.machine.state().digest();
    assertThat(leader.machine.state().checkpointValuesInMemory()).isEqualTo(40);
    assertThat(leader.machine.takeSnapshot()).isEqualTo(index - 1);

    TestReplicas.Replica follower = replicas.replica("n2");
    follower.apply(1, 1, owner(1));
    follower.apply(2, 1, start("wf"));
    WorkflowEntry held = follower.machine.state().get("wf");
    follower.installFrom(leader);
    follower.machine.pause();
    follower.machine.reinitialize();
    leader.close();
    TestReplicas.Replica restarted = replicas.replica("n1");
    for (TestReplicas.Replica r : List.of(follower, restarted)) {
      assertThat(r.machine.state().digest()).isEqualTo(digest);
      assertThat(r.machine.state().checkpointValuesInMemory()).isEqualTo(40);
      WorkflowEntry w = r.machine.state().get("wf");
      assertThat(w.checkpoint("k7", 1)).isEqualTo(ByteString.copyFromUtf8("v7.1"));
      assertThat(w.checkpoint("k0", 4)).isEqualTo(ByteString.copyFromUtf8("b"));
      assertThat(w.checkpoint("k0", 5)).isEqualTo(ByteString.copyFromUtf8("c"));
      assertThat(w.checkpoint("k0", 6)).isNull();
      assertThat(w.toRecord().getCheckpointCount()).isEqualTo(123);
    }
    assertThat(follower.machine.state().get("wf")).isSameAs(held);
  }

  // A running workflow adopted through a merge goes on in the target: ordinals continue, the
  // all-keys history is in commit order, and a restart of the target has its digest.
  @Test
  void anAdoptedRunningWorkflowGoesOnWithOneHistoryAndDigest() throws Exception {
    replicas = new TestReplicas(tmp);
    TestReplicas.Replica source = replicas.replica("n1");
    source.apply(1, 1, owner(1));
    source.apply(2, 1, start("wf"), checkpoint("wf", "b", 0, "b0"), checkpoint("wf", "a", 0, "a0"), checkpoint("wf", "b", 1, "b1"));
    source.apply(3, 1, Command.newBuilder().setSealGroup(SealGroup.newBuilder().setMergeTarget("target")).build());
    QueryReply page = source.machine.export(ExportWorkflows.newBuilder().setMaxBytes(1 << 20).build()).build();

    TestReplicas.Replica target = replicas.replica("n2");
    target.apply(1, 1, owner(2));
    BatchResult adopted = target.applyForResult(2, 1,
        Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder().setFromGroup("source").addAllWorkflows(page.getExportedList())).build());
    assertThat(adopted.getResults(0).getCode()).isEqualTo(ResultCode.APPLIED);
    target.apply(3, 1, checkpoint("wf", "a", 1, "a1"), checkpoint("wf", "c", 0, "c0"));
    List<String> expected = List.of("b0@0", "a0@1", "b1@2", "a1@3", "c0@4");
    assertThat(history(target, "wf", 100)).containsExactlyElementsOf(expected);
    assertThat(history(target, "wf", 1)).containsExactlyElementsOf(expected);
    assertThat(target.machine.state().get("wf").checkpoint("b", 0)).isEqualTo(ByteString.copyFromUtf8("b0"));
    String digest = target.machine.state().digest();
    target.close();
    TestReplicas.Replica again = replicas.replica("n2");
    assertThat(again.machine.state().digest()).isEqualTo(digest);
    assertThat(history(again, "wf", 2)).containsExactlyElementsOf(expected);
  }

  // A trimmed workflow whose first checkpoint stays (ordinal 0 kept) adopted by a merge: the
  // target's history is the source's, paged or not.
  @Test
  void anAdoptedTrimmedWorkflowKeepingOrdinalZeroHasTheSourcesHistory() throws Exception {
    replicas = new TestReplicas(tmp);
    TestReplicas.Replica source = replicas.replica("n1");
    source.apply(1, 1, owner(1));
    source.apply(2, 1, start("wf"), checkpoint("wf", "once", 0, "o0"), checkpoint("wf", "x", 0, "x0"), checkpoint("wf", "x", 1, "x1"),
        checkpoint("wf", "x", 2, "x2"), checkpoint("wf", "y", 0, "y0"), checkpoint("wf", "x", 3, "x3"));
    source.apply(3, 1, end("wf", 1_000, 2));
    List<String> expected = List.of("o0@0", "x2@3", "y0@4", "x3@5");
    assertThat(history(source, "wf", 100)).containsExactlyElementsOf(expected);
    source.apply(4, 1, Command.newBuilder().setSealGroup(SealGroup.newBuilder().setMergeTarget("target")).build());
    QueryReply page = source.machine.export(ExportWorkflows.newBuilder().setMaxBytes(1 << 20).build()).build();
    TestReplicas.Replica target = replicas.replica("n2");
    target.apply(1, 1, owner(2));
    target.apply(2, 1,
        Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder().setFromGroup("source").addAllWorkflows(page.getExportedList())).build());
    assertThat(history(target, "wf", 100)).containsExactlyElementsOf(expected);
    assertThat(history(target, "wf", 1)).containsExactlyElementsOf(expected);
    assertThat(target.machine.state().get("wf").toRecord().getCheckpointCount()).isEqualTo(6);
    assertThat(target.machine.state().get("wf").checkpoint("x", 0)).isNull();
    assertThat(target.machine.state().get("wf").checkpoint("x", 2)).isEqualTo(ByteString.copyFromUtf8("x2"));
  }

  // A termination with a policy of a workflow that never checkpointed; ended values read from
  // the store once released, and nothing once pruned; memory holds nothing of ended workflows.
  @Test
  void endedWorkflowsReadFromTheStoreUntilPrunedAndHoldNoMemory() throws Exception {
    replicas = new TestReplicas(tmp);
    TestReplicas.Replica r = replicas.replica("n1");
    r.apply(1, 1, owner(1));
    r.apply(2, 1, start("never"), start("ended"), checkpoint("ended", "a", 0, "a0"), checkpoint("ended", "a", 1, "a1"));
    BatchResult results = r.applyForResult(3, 1, terminate("never", 500, 2), end("ended", 1_000, 1));
    assertThat(results.getResultsList()).extracting(x -> x.getCode()).containsOnly(ResultCode.APPLIED);
    assertThat(history(r, "never", 10)).isEmpty();
    WorkflowEntry ended = r.machine.state().get("ended");
    assertThat(ended.checkpoint("a", 1)).isEqualTo(ByteString.copyFromUtf8("a1"));
    ended.releaseValues();
    assertThat(r.machine.state().checkpointValuesInMemory()).isZero();
    assertThat(ended.checkpoint("a", 1)).as("released: from the store").isEqualTo(ByteString.copyFromUtf8("a1"));
    assertThat(ended.checkpoint("a", 0)).as("trimmed").isNull();
    String digest = r.machine.state().digest();
    r.close();
    TestReplicas.Replica again = replicas.replica("n1");
    assertThat(again.machine.state().digest()).isEqualTo(digest);
    assertThat(again.machine.state().checkpointValuesInMemory()).isZero();
    WorkflowEntry held = again.machine.state().get("ended");
    assertThat(held.checkpoint("a", 1)).isEqualTo(ByteString.copyFromUtf8("a1"));
    again.apply(4, 1, Command.newBuilder().setPruneWorkflows(PruneWorkflows.newBuilder().setEndedBeforeMillis(2_000).setOwnerTerm(1)).build());
    assertThat(held.checkpoint("a", 1)).as("an entry object held by a run, after its workflow was pruned").isNull();
  }

  private static List<String> history(TestReplicas.Replica r, String id, int limit) throws Exception {
    List<String> out = new ArrayList<>();
    HistoryQuery.Builder q = HistoryQuery.newBuilder().setWorkflowId(id).setLimit(limit);
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
}
