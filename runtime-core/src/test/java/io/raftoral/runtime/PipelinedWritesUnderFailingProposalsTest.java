package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.JsonCodec;
import io.raftoral.api.WorkflowDefinition;
import io.raftoral.api.WorkflowFunction;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.OwnerChange;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.raft.Proposer;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.state.WorkflowState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Rule (docs/ARCHITECTURE.md, "Pipelined writes"): whatever happens to the owner's proposals, the
 * committed sequence of every key is exactly the run's writes in order, each side effect runs once
 * and only after every earlier write is committed, and the end never overtakes a write. Two ways
 * a proposal fails: lost on the way (never applied), and applied with its reply lost (a client
 * timeout after the commit), which the run must not take for "not committed".
 */
class PipelinedWritesUnderFailingProposalsTest {
  private static final Payloads PAYLOADS = new Payloads(new JsonCodec(), 1 << 20);

  /** A group that applies proposals in order on one thread, losing some before or after applying. */
  private static final class LossyGroup implements WorkflowRun.Host, AutoCloseable {
    final WorkflowState state = new WorkflowState();
    private final ExecutorService log = Executors.newSingleThreadExecutor();
    private final AtomicLong index = new AtomicLong();
    private final AtomicLong proposals = new AtomicLong();
    private final Predicate<Long> loseBefore;
    private final Predicate<Long> loseAfter;
    volatile WorkflowRun run;

    LossyGroup(Predicate<Long> loseBefore, Predicate<Long> loseAfter) {
      this.loseBefore = loseBefore;
      this.loseAfter = loseAfter;
      state.apply(Command.newBuilder().setOwnerChange(OwnerChange.newBuilder().setOwnerNode(1).setClaimantTerm(1)).build(), 1);
    }

    @Override
    public WorkflowState.Owner ownership() {
      return state.owner();
    }

    @Override
    public WorkflowState.Owner owner() {
      return state.owner();
    }

    @Override
    public boolean isOwnerNode() {
      return true;
    }

    @Override
    public CompletableFuture<Proposer.Outcome> propose(Command command) {
      long n = proposals.incrementAndGet();
      return CompletableFuture.supplyAsync(() -> {
        if (loseBefore.test(n)) {
          throw new UncheckedIOException(new IOException("lost on the way"));
        }
        var result = state.apply(command, 1);
        WorkflowRun r = run;
        if (r != null) {
          r.signal();
        }
        if (loseAfter.test(n)) {
          throw new UncheckedIOException(new IOException("applied, but the reply was lost"));
        }
        return new Proposer.Outcome(result, index.incrementAndGet());
      }, log);
    }

    @Override
    public boolean isClosed() {
      return false;
    }

    @Override
    public void sideEffectStarted() {}

    @Override
    public void sideEffectEnded() {}

    @Override
    public void runEnded(WorkflowRun run) {}

    @Override
    public void close() {
      log.shutdownNow();
    }
  }

  private static WorkflowEntry runToEnd(LossyGroup group, String id, WorkflowFunction<String, String> fn) throws Exception {
    group.state.apply(Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder().setWorkflowId(id)
        .setType("t").setVersion(1).setInput(com.google.protobuf.ByteString.copyFromUtf8("\"in\""))).build(), 1);
    WorkflowEntry entry = group.state.get(id);
    WorkflowRun run = new WorkflowRun(group, entry, WorkflowDefinition.of("t", 1, String.class, String.class, fn), PAYLOADS);
    group.run = run;
    Thread t = Thread.ofVirtual().start(run);
    t.join(60_000);
    assertThat(t.isAlive()).as("the run ended").isFalse();
    return entry;
  }

  @Test
  void writesSideEffectsAndTheEndSurviveLostProposalsAndLostReplies() throws Exception {
    Map<Integer, AtomicInteger> effectRuns = new ConcurrentHashMap<>();
    AtomicInteger barrierBroken = new AtomicInteger();
    // Seeded, not periodic: a periodic pattern can hit the same write on every retry round.
    java.util.Random losses = new java.util.Random(16);
    try (LossyGroup group = new LossyGroup(n -> losses.nextInt(30) == 0, n -> losses.nextInt(30) == 0)) {
      WorkflowEntry entry = runToEnd(group, "lossy", (ctx, in) -> {
        for (int i = 0; i < 1500; i++) {
          ctx.checkpoint("k" + (i % 3), i);
          if (i % 100 == 99) {
            int step = i / 100;
            int upTo = i;
            ctx.checkpointCompute("effect", Integer.class, () -> {
              // Every earlier write is committed before a side effect runs.
              WorkflowEntry w = group.state.get("lossy");
              for (int j = 0; j <= upTo; j++) {
                if (w.checkpoint("k" + (j % 3), j / 3) == null) {
                  barrierBroken.incrementAndGet();
                }
              }
              effectRuns.computeIfAbsent(step, s -> new AtomicInteger()).incrementAndGet();
              return step;
            });
          }
        }
        return "done";
      });

      assertThat(entry.status()).isEqualTo(WorkflowStatusCode.COMPLETED);
      for (int i = 0; i < 1500; i++) {
        assertThat(entry.checkpoint("k" + (i % 3), i / 3).toStringUtf8()).as("k%d/%d", i % 3, i / 3).isEqualTo(String.valueOf(i));
      }
      assertThat(entry.checkpoint("k0", 500)).as("no extra write").isNull();
      for (int s = 0; s < 15; s++) {
        assertThat(entry.checkpoint("effect", s).toStringUtf8()).isEqualTo(String.valueOf(s));
        assertThat(effectRuns.get(s)).as("runs of side effect %d", s).hasValue(1);
      }
      assertThat(barrierBroken).as("writes not committed when a side effect ran").hasValue(0);
      assertThat(entry.toRecord().getCheckpointCount()).isEqualTo(1515);
    }
  }

  // The end is the last proposal: lose it (and its first retries) before and after applying.
  @Test
  void anEndWhoseProposalsAreLostStillEndsTheWorkflowOnce() throws Exception {
    AtomicLong lastWrite = new AtomicLong();
    try (LossyGroup group = new LossyGroup(n -> n > 10 && n <= 13, n -> n == 14)) {
      WorkflowEntry entry = runToEnd(group, "end", (ctx, in) -> {
        for (int i = 0; i < 10; i++) {
          lastWrite.set(ctx.checkpoint("k", (long) i));
        }
        return "result";
      });
      assertThat(entry.status()).isEqualTo(WorkflowStatusCode.COMPLETED);
      assertThat(entry.toRecord().getResult().toStringUtf8()).isEqualTo("\"result\"");
      assertThat(entry.toRecord().getCheckpointCount()).isEqualTo(10);
    }
  }
}
