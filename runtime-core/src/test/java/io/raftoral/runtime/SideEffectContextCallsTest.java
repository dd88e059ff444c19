package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.SetCheckpoint;
import io.raftoral.proto.raft.WorkflowEnd;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.workflow.JsonCodec;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowFunction;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A {@code checkpointCompute} function that itself uses the workflow's context, from its own thread
 * or from a thread it starts. The function runs only on the owner; whatever it does with the
 * context must not make the owner's run and a non-owner's run (HOT_STANDBY, or a replay after
 * failover) see different values, and must not hang the run.
 */
class SideEffectContextCallsTest {
  private static final Payloads PAYLOADS = new Payloads(new JsonCodec(), 1 << 20);

  private static WorkflowRun run(FakeGroup group, WorkflowEntry entry, WorkflowFunction<String, String> fn) {
    WorkflowRun run = new WorkflowRun(group, entry, WorkflowDefinition.of("t", 1, String.class, String.class, fn), PAYLOADS);
    group.run = run;
    return run;
  }

  // Rule: every node that runs the function sees the same values (SPEC §3: the n-th write of K
  // returns the n-th committed value of K on every node). A write made inside the side effect
  // happens on the owner only, so the owner's next write of that key and a non-owner's first
  // write of it land on different positions: the owner goes on with "after", a non-owner (and so
  // a new owner after a failover) with "inside", and the workflow's result depends on which node
  // finishes it.
  @Test
  void aWriteInsideASideEffectDoesNotShiftTheValuesOtherRunsSee() throws Exception {
    ConcurrentHashMap<String, String> seen = new ConcurrentHashMap<>();
    WorkflowFunction<String, String> fn = (ctx, in) -> {
      String who = ctx.isOwner() ? "owner" : "follower";
      ctx.checkpointCompute("effect", String.class, () -> {
        ctx.checkpoint("x", "inside");
        return "r";
      });
      String x = ctx.checkpoint("x", "after");
      seen.put(who, x);
      return x;
    };
    try (FakeGroup owner = new FakeGroup(c -> false); FakeGroup follower = new FakeGroup(c -> false)) {
      WorkflowEntry committed = owner.start("nested", "\"in\"");
      Thread ownerRun = Thread.ofVirtual().start(run(owner, committed, fn));
      ownerRun.join(30_000);
      assertThat(ownerRun.isAlive()).isFalse();

      // A non-owner replica that applied what the owner committed; its run only reads.
      follower.owning = false;
      WorkflowEntry copy = follower.start("nested", "\"in\"");
      for (String key : new String[] {"effect", "x"}) {
        for (long seq = 0; committed.checkpoint(key, seq) != null; seq++) {
          follower.state.apply(Command.newBuilder().setSetCheckpoint(SetCheckpoint.newBuilder().setWorkflowId("nested")
              .setKey(key).setSeq(seq).setValue(committed.checkpoint(key, seq)).setOwnerTerm(FakeGroup.TERM)).build(), FakeGroup.TERM);
        }
      }
      // ... and the end the owner committed, so that the follower's run ends after replaying.
      follower.state.apply(Command.newBuilder().setWorkflowEnd(committed.toRecord().hasError()
          ? WorkflowEnd.newBuilder().setWorkflowId("nested").setOwnerTerm(FakeGroup.TERM).setError(committed.toRecord().getError())
          : WorkflowEnd.newBuilder().setWorkflowId("nested").setOwnerTerm(FakeGroup.TERM).setResult(committed.toRecord().getResult()))
          .build(), FakeGroup.TERM);
      Thread followerRun = Thread.ofVirtual().start(run(follower, copy, fn));
      followerRun.join(30_000);
      assertThat(followerRun.isAlive()).isFalse();

      assertThat(seen.get("follower")).as("the value the non-owner went on with").isEqualTo(seen.get("owner"));
    }
  }

  // Holds today, worth keeping: a side effect that calls the context from its own thread does
  // not deadlock (the lock is reentrant); the run ends with a final status either way (completed
  // today, failed with a clear error if such calls get refused).
  @Test
  void aSideEffectUsingTheContextOnItsOwnThreadDoesNotHang() throws Exception {
    try (FakeGroup group = new FakeGroup(c -> false)) {
      WorkflowEntry entry = group.start("same-thread", "\"in\"");
      Thread t = Thread.ofVirtual().start(run(group, entry, (ctx, in) -> ctx.checkpointCompute("effect", String.class, () -> {
        ctx.checkpoint("inner", 1);
        return "r";
      })));
      t.join(30_000);
      assertThat(t.isAlive()).isFalse();
      assertThat(entry.isRunning()).as("the workflow ended").isFalse();
    }
  }
}
