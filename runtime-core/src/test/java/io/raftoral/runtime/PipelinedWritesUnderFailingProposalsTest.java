package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.OwnerChange;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.raft.Proposer;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.state.WorkflowState;
import io.raftoral.workflow.JsonCodec;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowFunction;
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
  @Test
  void writesSideEffectsAndTheEndSurviveLostProposalsAndLostReplies() throws Exception {
    Map<Integer, AtomicInteger> effectRuns = new ConcurrentHashMap<>();
    AtomicInteger barrierBroken = new AtomicInteger();
    // Seeded, not periodic: a periodic pattern can hit the same write on every retry round.
    java.util.Random losses = new java.util.Random(16);
    try (FakeGroup group = new FakeGroup((n, c) -> losses.nextInt(30) == 0, (n, c) -> losses.nextInt(30) == 0)) {
      WorkflowEntry entry = group.runToEnd("lossy", (ctx, in) -> {
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
    try (FakeGroup group = new FakeGroup((n, c) -> n > 10 && n <= 13, (n, c) -> n == 14)) {
      WorkflowEntry entry = group.runToEnd("end", (ctx, in) -> {
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
