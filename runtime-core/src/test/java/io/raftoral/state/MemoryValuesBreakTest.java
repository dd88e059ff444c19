package io.raftoral.state;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.OwnerChange;
import io.raftoral.proto.raft.SetCheckpoint;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.proto.raft.WorkflowStatusCode;
import org.junit.jupiter.api.Test;

/**
 * A state without a store ({@code new WorkflowState()}) keeps every committed value in memory and
 * reads it as a store would: also when it was restored (as a replica loads) or replaced (as a
 * snapshot install replaces it).
 */
class MemoryValuesBreakTest {
  @Test
  void aRestoredStateWithoutAStoreReadsEveryValue() {
    WorkflowState restored = new WorkflowState();
    restored.restoreOwner(1, 1);
    restored.restoreWorkflow(WorkflowRecord.newBuilder().setWorkflowId("wf").setType("t").setVersion(1)
        .setStatus(WorkflowStatusCode.RUNNING).build());
    assertThat(restored.restoreCheckpoint("wf", "a", 0, ByteString.copyFromUtf8("a0"))).isTrue();
    assertThat(restored.restoreCheckpoint("wf", "a", 1, ByteString.copyFromUtf8("a1"))).isTrue();
    assertThat(restored.get("wf").checkpoint("a", 1)).isEqualTo(ByteString.copyFromUtf8("a1"));
    assertThat(restored.get("wf").checkpoint("a", 0)).isEqualTo(ByteString.copyFromUtf8("a0"));
  }

  @Test
  void aReplacedStateWithoutAStoreReadsTheIncomingValuesThroughTheEntriesItKept() {
    WorkflowState leader = new WorkflowState();
    WorkflowState follower = new WorkflowState();
    for (WorkflowState s : java.util.List.of(leader, follower)) {
      s.apply(Command.newBuilder().setOwnerChange(OwnerChange.newBuilder().setOwnerNode(1).setClaimantTerm(1)).build(), 1);
      s.apply(Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder().setWorkflowId("wf").setType("t").setVersion(1)).build(), 1);
    }
    for (int seq = 0; seq < 3; seq++) {
      leader.apply(Command.newBuilder().setSetCheckpoint(SetCheckpoint.newBuilder().setWorkflowId("wf").setKey("a").setSeq(seq)
          .setValue(ByteString.copyFromUtf8("a" + seq)).setOwnerTerm(1)).build(), 1);
    }
    WorkflowEntry held = follower.get("wf");
    follower.replaceWith(leader);
    assertThat(follower.get("wf")).isSameAs(held);
    assertThat(held.checkpoint("a", 2)).isEqualTo(ByteString.copyFromUtf8("a2"));
    assertThat(held.checkpoint("a", 0)).isEqualTo(ByteString.copyFromUtf8("a0"));
    assertThat(follower.digest()).isEqualTo(leader.digest());
  }
}
