package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.WorkflowEnd;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.state.WorkflowState;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Every wait for a workflow's end completes, also when the state is replaced by a snapshot. */
class FinalWaitersTest {

  private static WorkflowState withRunning(String... ids) {
    WorkflowState s = new WorkflowState();
    for (String id : ids) {
      s.apply(Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder().setWorkflowId(id).setType("t").setVersion(1)).build(), 1);
    }
    return s;
  }

  // A snapshot installed from the leader may no longer hold a workflow (it ended and was pruned
  // in entries this replica never applied): its waiters complete, and find it gone.
  @Test
  void aWaitForAWorkflowThatARestoredStateNoLongerHoldsCompletes() {
    FinalWaiters waiters = new FinalWaiters();
    CompletableFuture<Void> pruned = waiters.future("pruned", withRunning("pruned", "running", "ended"));
    CompletableFuture<Void> running = waiters.future("running", withRunning("pruned", "running", "ended"));
    CompletableFuture<Void> ended = waiters.future("ended", withRunning("pruned", "running", "ended"));

    WorkflowState snapshot = withRunning("running", "ended");
    snapshot.apply(Command.newBuilder().setWorkflowEnd(WorkflowEnd.newBuilder().setWorkflowId("ended")
        .setResult(ByteString.copyFromUtf8("r"))).build(), 1);
    waiters.restored(snapshot);

    assertThat(pruned).isCompleted();
    assertThat(ended).isCompleted();
    assertThat(running).isNotDone();
    assertThat(waiters.size()).isEqualTo(1);
  }

  @Test
  void aWaitForAWorkflowAlreadyFinalOrUnknownCompletesAtOnce() {
    FinalWaiters waiters = new FinalWaiters();
    assertThat(waiters.future("unknown", withRunning("other"))).isCompleted();
    assertThat(waiters.size()).isZero();
  }

  @Test
  void closingFailsEveryWait() {
    FinalWaiters waiters = new FinalWaiters();
    CompletableFuture<Void> f = waiters.future("a", withRunning("a"));
    waiters.closeAll();
    assertThat(f).isCompletedExceptionally();
  }
}
