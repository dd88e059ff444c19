package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.workflow.JsonCodec;
import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowFunction;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * One run of a workflow function against a group without Raft ({@link FakeGroup}): the
 * checkpoint contract on the owner when proposals get lost, and a context used from several
 * threads at once.
 */
class WorkflowRunTest {
  private static final Payloads PAYLOADS = new Payloads(new JsonCodec(), 1 << 20);

  // A write whose proposal is lost is proposed again at the next step, so a loop of plain writes
  // (no side effect to wait on) keeps committing behind its owner, and the writes the owner went
  // on with stay bounded.
  @Test
  void aLostWriteIsProposedAgainAndLaterWritesOfItsKeyCommitBehindIt() throws Exception {
    AtomicBoolean lost = new AtomicBoolean();
    AtomicLong committedAtFourThousand = new AtomicLong();
    try (FakeGroup group = new FakeGroup(c -> c.hasSetCheckpoint() && c.getSetCheckpoint().getSeq() == 5 && lost.compareAndSet(false, true))) {
      WorkflowEntry entry = group.runToEnd("loop", (ctx, in) -> {
        for (int i = 0; i < 5000; i++) {
          if (i == 4000) {
            committedAtFourThousand.set(group.state.get("loop").toRecord().getCheckpointCount());
          }
          ctx.checkpoint("k", i);
        }
        return "done";
      });

      assertThat(lost).isTrue();
      assertThat(entry.status()).isEqualTo(WorkflowStatusCode.COMPLETED);
      for (int i = 0; i < 5000; i++) {
        assertThat(entry.checkpoint("k", i).toStringUtf8()).isEqualTo(String.valueOf(i));
      }
      assertThat(committedAtFourThousand.get()).as("committed when the loop reached 4,000")
          .isGreaterThanOrEqualTo(4000 - WorkflowRun.MAX_UNCONFIRMED);
      assertThat(group.mostUnconfirmed).isLessThanOrEqualTo(WorkflowRun.MAX_UNCONFIRMED);
    }
  }

  // A group sealed for a merge refuses the owner's next write (SEALED): the run stops quietly, as
  // a deposed owner's does: the workflow stays RUNNING (for the merge target to resume), no
  // FAILED, no end, and no proposal is retried.
  @Test
  void aWriteRefusedSealedStopsTheRunQuietly() throws Exception {
    AtomicReference<FakeGroup> ref = new AtomicReference<>();
    AtomicLong proposals = new AtomicLong();
    List<io.raftoral.proto.raft.ResultCode> codes = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (FakeGroup group = new FakeGroup((n, c) -> {
      proposals.incrementAndGet();
      if (c.hasSetCheckpoint() && c.getSetCheckpoint().getKey().equals("b")) {
        // The seal is committed just before the write: it reaches the log after the seal.
        codes.add(ref.get().state.apply(seal(), FakeGroup.TERM).getCode());
      }
      return false;
    }, (n, c) -> false)) {
      ref.set(group);
      WorkflowEntry entry = group.runToEnd("sealed", (ctx, in) -> {
        ctx.checkpoint("a", 1);
        ctx.checkpoint("b", 2);
        ctx.checkpoint("c", 3);
        return "done";
      });

      assertThat(codes).containsExactly(io.raftoral.proto.raft.ResultCode.APPLIED);
      assertThat(group.ended).isTrue();
      assertThat(entry.status()).isEqualTo(WorkflowStatusCode.RUNNING);
      assertThat(entry.checkpoint("a", 0)).isNotNull();
      assertThat(entry.checkpoint("b", 0)).isNull();
      assertThat(entry.toRecord().hasError()).isFalse();
      // a, b and at most c and the end (proposed before the run saw the seal); nothing again.
      assertThat(proposals.get()).isBetween(2L, 4L);
    }
  }

  // Once the group is sealed, the owner runs no further side effect: the merge target's owner
  // runs it, once, after resuming from the committed checkpoints.
  @Test
  void noSideEffectRunsAfterTheSeal() throws Exception {
    AtomicLong effects = new AtomicLong();
    try (FakeGroup group = new FakeGroup(c -> false)) {
      WorkflowEntry entry = group.runToEnd("sealed", (ctx, in) -> {
        ctx.checkpointCompute("before", Long.class, effects::incrementAndGet);
        group.propose(seal()).join();
        ctx.checkpointCompute("after", Long.class, effects::incrementAndGet);
        return "done";
      });

      assertThat(effects.get()).isEqualTo(1);
      assertThat(entry.status()).isEqualTo(WorkflowStatusCode.RUNNING);
      assertThat(entry.toRecord().getCheckpointCount()).isEqualTo(1);
    }
  }

  private static Command seal() {
    return Command.newBuilder().setSealGroup(io.raftoral.proto.raft.SealGroup.newBuilder().setMergeTarget("target")).build();
  }

  // A context may be used from threads the function starts: calls are serialized, so every
  // write is committed exactly once and each key's values come back in the order its calls took.
  // 8 threads x (300 writes of their own key + 300 keys of their own) = 4,800 checkpoints.
  @Test
  void aContextUsedFromEightThreadsAtOnceCommitsEveryWriteOnce() throws Exception {
    try (FakeGroup group = new FakeGroup(c -> false)) {
      WorkflowEntry entry = group.runToEnd("threads", (ctx, in) -> {
        inThreads(8, t -> {
          for (int i = 0; i < 300; i++) {
            assertThat(ctx.checkpoint("own-" + t, t + "#" + i)).isEqualTo(t + "#" + i);
            assertThat(ctx.checkpoint("unique-" + t + "-" + i, i)).isEqualTo(i);
          }
        });
        return "done";
      });

      assertThat(entry.status()).isEqualTo(WorkflowStatusCode.COMPLETED);
      assertThat(entry.toRecord().getCheckpointCount()).isEqualTo(4800);
      for (int t = 0; t < 8; t++) {
        for (int i = 0; i < 300; i++) {
          assertThat(entry.checkpoint("own-" + t, i).toStringUtf8()).isEqualTo("\"" + t + "#" + i + "\"");
        }
      }
    }
  }

  // A non-owner replaying committed values from several threads gets each thread's own key in
  // order, and side effects never run on it.
  @Test
  void aNonOwnerUsedFromEightThreadsReadsTheCommittedValuesInOrder() throws Exception {
    WorkflowFunction<String, String> fn = (ctx, in) -> {
      inThreads(8, t -> {
        for (int i = 0; i < 100; i++) {
          int n = i;
          assertThat(ctx.checkpointCompute("own-" + t, String.class, () -> t + "#" + n)).isEqualTo(t + "#" + i);
        }
      });
      return "done";
    };
    try (FakeGroup owner = new FakeGroup(c -> false); FakeGroup follower = new FakeGroup(c -> false)) {
      WorkflowEntry committed = owner.runToEnd("replay", fn);
      assertThat(committed.status()).isEqualTo(WorkflowStatusCode.COMPLETED);
      // The follower's replica holds what the owner committed; its run only reads it.
      follower.owning = false;
      WorkflowEntry copy = follower.start("replay", "\"in\"");
      for (int t = 0; t < 8; t++) {
        for (int i = 0; i < 100; i++) {
          follower.state.apply(Command.newBuilder().setSetCheckpoint(io.raftoral.proto.raft.SetCheckpoint.newBuilder()
              .setWorkflowId("replay").setKey("own-" + t).setSeq(i).setValue(committed.checkpoint("own-" + t, i))
              .setOwnerTerm(FakeGroup.TERM)).build(), FakeGroup.TERM);
        }
      }
      WorkflowRun run = new WorkflowRun(follower, copy, WorkflowDefinition.of("t", 1, String.class, String.class, (ctx, in) -> {
        String out = fn.run(ctx, in);
        follower.state.apply(Command.newBuilder().setWorkflowEnd(io.raftoral.proto.raft.WorkflowEnd.newBuilder()
            .setWorkflowId("replay").setOwnerTerm(FakeGroup.TERM).setResult(com.google.protobuf.ByteString.copyFromUtf8("\"done\"")))
            .build(), FakeGroup.TERM);
        return out;
      }), PAYLOADS);
      follower.run = run;
      Thread t = Thread.ofVirtual().start(run);
      t.join(60_000);
      assertThat(t.isAlive()).isFalse();
      assertThat(copy.toRecord().getCheckpointCount()).isEqualTo(800);
    }
  }

  // Concurrent updates of one replicated variable do not lose one another: each update reads
  // and writes as one call.
  @Test
  void concurrentUpdatesOfOneVariableAreNotLost() throws Exception {
    try (FakeGroup group = new FakeGroup(c -> false)) {
      AtomicReference<Integer> last = new AtomicReference<>();
      WorkflowEntry entry = group.runToEnd("var", (ctx, in) -> {
        WorkflowContext.ReplicatedVar<Integer> counter = ctx.var("counter", Integer.class, 0);
        inThreads(8, t -> {
          for (int i = 0; i < 100; i++) {
            counter.update(x -> x + 1);
          }
        });
        last.set(counter.get());
        return "done";
      });

      assertThat(last.get()).isEqualTo(800);
      for (int i = 0; i <= 800; i++) {
        assertThat(entry.checkpoint("counter", i).toStringUtf8()).isEqualTo(String.valueOf(i));
      }
    }
  }

  // Once the function has returned, its context refuses every call (a thread it left running).
  @Test
  void aContextUsedAfterItsFunctionReturnedIsRefused() throws Exception {
    AtomicReference<WorkflowContext> kept = new AtomicReference<>();
    try (FakeGroup group = new FakeGroup(c -> false)) {
      WorkflowEntry entry = group.runToEnd("after", (ctx, in) -> {
        kept.set(ctx);
        return ctx.checkpoint("k", "v");
      });

      assertThat(entry.status()).isEqualTo(WorkflowStatusCode.COMPLETED);
      assertThatThrownBy(() -> kept.get().checkpoint("k", "late"))
          .isInstanceOf(io.raftoral.common.Errors.InvalidArgumentException.class)
          .hasMessageContaining("after its function returned");
      assertThat(entry.toRecord().getCheckpointCount()).isEqualTo(1);
    }
  }

  private interface PerThread {
    void run(int thread) throws Exception;
  }

  /** Runs {@code body} on {@code n} threads at once and rethrows the first failure. */
  private static void inThreads(int n, PerThread body) throws Exception {
    List<Thread> threads = new ArrayList<>();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    for (int t = 0; t < n; t++) {
      int thread = t;
      threads.add(Thread.ofPlatform().start(() -> {
        try {
          body.run(thread);
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      }));
    }
    for (Thread t : threads) {
      t.join();
    }
    if (failure.get() instanceof Exception e) {
      throw e;
    }
    if (failure.get() instanceof Error e) {
      throw e;
    }
  }
}
