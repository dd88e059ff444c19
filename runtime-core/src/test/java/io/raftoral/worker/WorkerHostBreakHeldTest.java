package io.raftoral.worker;

import static io.raftoral.worker.WorkerHostBreakTest.await;
import static io.raftoral.worker.WorkerHostBreakTest.executes;
import static io.raftoral.worker.WorkerHostBreakTest.outcome;
import static io.raftoral.worker.WorkerHostTest.WAIT;
import static io.raftoral.worker.WorkerHostTest.awaitRegistered;
import static io.raftoral.worker.WorkerHostTest.json;
import static io.raftoral.worker.WorkerHostTest.oneNode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.worker.ComputeResult;
import io.raftoral.proto.worker.NodeMessage;
import io.raftoral.proto.worker.WorkerMessage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Break attempts on the worker protocol that the node withstood: each asserts the outcome the
 * contract promises, so that a regression shows.
 */
class WorkerHostBreakHeldTest {

  private static String text(HistoryEntry e) {
    return new String(e.value(), StandardCharsets.UTF_8);
  }

  /** ComputeResults for another seq, another key, and a duplicate after the step: ignored (ProtocolError), never the value. */
  @Test
  void strayAndDuplicatedComputeResultsNeverBecomeTheStepsValue() throws Exception {
    try (TestCluster c = oneNode(null);
        TestWorker w = TestWorker.connect(c.node(1).workerAddress(), "w", 4, (ctx, in) -> {
          long run = ctx.execute.getRun();
          String v = ctx.compute("step", () -> {
            ctx.send(WorkerMessage.newBuilder().setComputeResult(ComputeResult.newBuilder().setRun(run).setKey("step").setSeq(7)
                .setValue(ByteString.copyFromUtf8(json("wrong-seq")))).build());
            ctx.send(WorkerMessage.newBuilder().setComputeResult(ComputeResult.newBuilder().setRun(run).setKey("other").setSeq(0)
                .setValue(ByteString.copyFromUtf8(json("wrong-key")))).build());
            ctx.send(WorkerMessage.newBuilder().setComputeResult(ComputeResult.newBuilder().setRun(run).setKey("step").setSeq(-1)
                .setValue(ByteString.copyFromUtf8(json("huge-seq")))).build());
            return json("right");
          });
          ctx.send(WorkerMessage.newBuilder().setComputeResult(ComputeResult.newBuilder().setRun(run).setKey("step").setSeq(0)
              .setValue(ByteString.copyFromUtf8(json("duplicate")))).build());
          String far = outcome(() -> ctx.checkpointAt("far", Long.MAX_VALUE, ByteString.copyFromUtf8(json("x"))));
          String next = ctx.compute("step", () -> json("second"));
          return "[" + v + "," + json(far) + "," + next + "]";
        }, TestWorker.type("stray", 1))) {
      awaitRegistered(w);
      WorkflowHandle<Object> h = c.node(1).start("stray", 1, "in", Object.class);
      assertThat(h.result(WAIT)).isEqualTo(List.of("right", "ERR_INVALID_ARGUMENT", "second"));
      assertThat(c.node(1).history(h.workflowId()).stream().map(e -> e.key() + "#" + e.seq() + "=" + text(e)).toList())
          .containsExactly("step#0=\"right\"", "step#1=\"second\"");
      await("the stray results were refused", () -> w.receivedOf(NodeMessage.KindCase.PROTOCOL_ERROR).size() >= 4);
      assertThat(w.ended.get()).isNull();
    }
  }

  /** The replay of a completed worker-hosted workflow runs its code on a worker against the history: it matches, and no step runs. */
  @Test
  void theReplayOfACompletedWorkerWorkflowMatchesWithoutRunningItsSteps() throws Exception {
    AtomicInteger computed = new AtomicInteger();
    try (TestCluster c = oneNode(null);
        TestWorker w = TestWorker.connect(c.node(1).workerAddress(), "w", 4, (ctx, in) -> {
          String a = ctx.compute("a", () -> json("a" + computed.incrementAndGet()));
          String b = ctx.checkpoint("b", json("b"));
          return "[" + in + "," + a + "," + b + "]";
        }, TestWorker.type("rp", 1))) {
      awaitRegistered(w);
      WorkflowHandle<Object> h = c.node(1).start("rp", 1, "x", Object.class);
      assertThat(h.result(WAIT)).isEqualTo(List.of("x", "a1", "b"));
      io.raftoral.common.ReplayReport report = c.node(1).replay(h.workflowId());
      assertThat(report.divergence()).isNull();
      assertThat(report.stepsReplayed()).isEqualTo(2);
      assertThat(computed.get()).isEqualTo(1);
      assertThat(executes(w)).isEqualTo(2);
    }
  }

  /**
   * A worker pipelines max_calls_in_flight calls of one run (a compute first), sending them all
   * before any answer: none is refused as a flood, and the answers come in order.
   */
  @Test
  void aRunMayPipelineItsFullAllowanceOfCallsBehindAComputeStep() throws Exception {
    int allowed = WorkerHost.MAX_CALLS_IN_FLIGHT;
    CountDownLatch answered = new CountDownLatch(1);
    try (TestCluster c = oneNode(null);
        TestWorker w = TestWorker.connect(c.node(1).workerAddress(), "pipe", 4, (ctx, in) -> {
          long run = ctx.execute.getRun();
          ctx.send(WorkerMessage.newBuilder().setCheckpoint(io.raftoral.proto.worker.CheckpointProposal.newBuilder().setRun(run)
              .setKey("c").setSeq(0).setCompute(true)).build());
          for (int i = 1; i < allowed; i++) {
            ctx.send(WorkerMessage.newBuilder().setCheckpoint(io.raftoral.proto.worker.CheckpointProposal.newBuilder().setRun(run)
                .setKey("p").setSeq(i - 1).setValue(ByteString.copyFromUtf8(json("v" + i)))).build());
          }
          answered.await(); // the result only once every call is answered: no 65th message
          return in;
        }, TestWorker.type("pipe", 1))) {
      awaitRegistered(w);
      WorkflowHandle<String> h = c.node(1).start("pipe", 1, "x", String.class);
      await("the node asked for the compute step", () -> !w.receivedOf(NodeMessage.KindCase.RUN_COMPUTE).isEmpty());
      long run = w.receivedOf(NodeMessage.KindCase.EXECUTE).getFirst().getExecute().getRun();
      w.send(WorkerMessage.newBuilder().setComputeResult(ComputeResult.newBuilder().setRun(run).setKey("c").setSeq(0)
          .setValue(ByteString.copyFromUtf8(json("c")))).build());
      await("every call answered", () -> w.receivedOf(NodeMessage.KindCase.CHECKPOINT_COMMITTED).size() == allowed);
      assertThat(w.receivedOf(NodeMessage.KindCase.CHECKPOINT_COMMITTED)).extracting(
          m -> m.getCheckpointCommitted().getKey() + "#" + m.getCheckpointCommitted().getSeq()).first().isEqualTo("c#0");
      assertThat(w.receivedOf(NodeMessage.KindCase.CALL_FAILED)).isEmpty();
      assertThat(w.ended.get()).isNull();
      answered.countDown();
      assertThat(h.result(WAIT)).isEqualTo("x");
    }
  }

  /**
   * A terminate and the compute step's result cross: the workflow stays TERMINATED, the result
   * never commits, and the worker's next call is cancelled (TERMINATED).
   */
  @Test
  void aTerminateRacingAComputeResultLeavesTheWorkflowTerminatedWithNothingCommitted() throws Exception {
    CountDownLatch computing = new CountDownLatch(1);
    CountDownLatch terminated = new CountDownLatch(1);
    try (TestCluster c = oneNode(null);
        TestWorker w = TestWorker.connect(c.node(1).workerAddress(), "w", 4, (ctx, in) -> {
          String v = ctx.compute("pay", () -> {
            computing.countDown();
            try {
              terminated.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return json("paid");
          });
          return ctx.checkpoint("after", v);
        }, TestWorker.type("race", 1))) {
      awaitRegistered(w);
      WorkflowHandle<String> h = c.node(1).start("race", 1, "x", String.class);
      assertThat(computing.await(30, TimeUnit.SECONDS)).isTrue();
      c.node(1).terminate(h.workflowId(), "stop");
      terminated.countDown(); // the result leaves right after the terminate committed
      await("the worker's run was cancelled", () -> !w.receivedOf(NodeMessage.KindCase.CANCEL).isEmpty());
      assertThat(w.receivedOf(NodeMessage.KindCase.CANCEL).getFirst().getCancel().getReason())
          .isEqualTo(io.raftoral.proto.worker.Cancel.Reason.TERMINATED);
      assertThat(c.node(1).describe(h.workflowId()).status()).isEqualTo(WorkflowStatus.TERMINATED);
      assertThat(c.node(1).history(h.workflowId())).isEmpty();
    }
  }

  /** Values of exactly the payload limit pass everywhere; one byte more is refused to the call, or fails the workflow as embedded. */
  @Test
  void valuesAtThePayloadLimitPassAndOneByteMoreIsRefused() throws Exception {
    int limit = 64 * 1024;
    String exact = "x".repeat(limit);
    String over = exact + "y";
    try (TestCluster c = TestCluster.start(1, null, (id, b) -> b.workerAddress("127.0.0.1:0").payloadLimitBytes(limit));
        TestWorker w = TestWorker.connect(c.node(1).workerAddress(), "w", 4, (ctx, in) -> {
          String plain = outcome(() -> ctx.checkpointAt("plain", 0, ByteString.copyFromUtf8(exact)));
          String computedOver = outcome(() -> ctx.compute("computedOver", () -> over));
          String computed = outcome(() -> ctx.compute("computed", () -> exact));
          if (in.startsWith("\"over")) {
            return json(exact); // limit + 2 bytes
          }
          return "[" + json(plain) + "," + json(computedOver) + "," + json(computed) + "," + json(String.valueOf(in.length()))
              + "]";
        }, TestWorker.type("limit", 1))) {
      awaitRegistered(w);
      String input = "i".repeat(limit - 2); // its JSON text is exactly the limit
      WorkflowHandle<Object> h = c.node(1).start("limit", 1, input, Object.class);
      assertThat(h.result(WAIT)).isEqualTo(List.of("accepted", "ERR_PAYLOAD_TOO_LARGE", "accepted", String.valueOf(limit)));
      assertThat(c.node(1).history(h.workflowId()).stream().map(e -> e.key() + "#" + e.seq() + ":" + e.value().length).toList())
          .containsExactly("plain#0:" + limit, "computed#0:" + limit);
      WorkflowHandle<Object> tooBig = c.node(1).start("limit", 1, "over", Object.class);
      assertThatThrownBy(() -> tooBig.result(WAIT)).isInstanceOf(Errors.WorkflowFailedException.class)
          .satisfies(e -> assertThat(((Errors.WorkflowFailedException) e).errorType()).contains("PayloadTooLarge"));
    }
  }

  /**
   * Empty values and keys outside ASCII (accents, CJK, astral emoji) survive the node, the history and
   * the Execute history a second worker gets after the first is lost mid-step.
   */
  @Test
  void emptyValuesAndUnicodeKeysSurviveALostWorkersReplay() throws Exception {
    String k1 = "clé-キー-🔑";
    String k2 = "😀";
    CountDownLatch inStep = new CountDownLatch(1);
    AtomicInteger attempts = new AtomicInteger();
    TestWorker.Code code = (ctx, in) -> {
      String a = ctx.checkpoint(k1, "");
      String b = ctx.compute(k2, () -> "");
      String a2 = ctx.checkpoint(k1, json("second"));
      String last = ctx.compute("last", () -> {
        if (attempts.incrementAndGet() == 1) {
          inStep.countDown();
          try {
            new CountDownLatch(1).await(); // the first worker dies here
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return json("done");
      });
      return "[" + json("a=" + a.length()) + "," + json("b=" + b.length()) + "," + a2 + "," + last + "]";
    };
    try (TestCluster c = oneNode(null)) {
      TestWorker first = TestWorker.connect(c.node(1).workerAddress(), "first", 4, code, TestWorker.type("uni", 1));
      awaitRegistered(first);
      WorkflowHandle<Object> h = c.node(1).start("uni", 1, "in", Object.class);
      assertThat(inStep.await(30, TimeUnit.SECONDS)).isTrue();
      first.kill();
      try (TestWorker second = TestWorker.connect(c.node(1).workerAddress(), "second", 4, code, TestWorker.type("uni", 1))) {
        assertThat(h.result(WAIT)).isEqualTo(List.of("a=0", "b=0", "second", "done"));
        assertThat(second.receivedOf(NodeMessage.KindCase.EXECUTE).getFirst().getExecute().getHistoryList())
            .extracting(v -> v.getKey() + "#" + v.getSeq() + "=" + v.getValue().toStringUtf8())
            .containsExactly(k1 + "#0=", k2 + "#0=", k1 + "#1=\"second\"");
      }
      assertThat(c.node(1).history(h.workflowId()).stream().map(e -> e.key() + "#" + e.seq() + "=" + text(e)).toList())
          .containsExactly(k1 + "#0=", k2 + "#0=", k1 + "#1=\"second\"", "last#0=\"done\"");
      assertThat(attempts.get()).isEqualTo(2);
    }
  }

  /**
   * Over 4 MiB of values given out, then the worker is lost: the next worker's Execute carries at
   * most 4 MiB of them and the node answers the positions past it from memory, in order, the same
   * values; no committed compute step runs again.
   */
  @Test
  void aHistoryOverFourMebibytesIsPartlyCarriedAndTheRestAnsweredFromMemory() throws Exception {
    int mib = 1 << 20;
    CountDownLatch inStep = new CountDownLatch(1);
    Map<String, AtomicInteger> computed = new ConcurrentHashMap<>();
    TestWorker.Code code = (ctx, in) -> {
      List<String> seen = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        int n = i;
        String big = ctx.compute("big", () -> {
          computed.computeIfAbsent("big" + n, k -> new AtomicInteger()).incrementAndGet();
          return json(n + "x".repeat(mib - 3));
        });
        seen.add(big.length() + ":" + big.charAt(1));
        seen.add(ctx.checkpoint("small", json("s" + n)));
      }
      String last = ctx.compute("last", () -> {
        if (computed.computeIfAbsent("last", k -> new AtomicInteger()).incrementAndGet() == 1) {
          inStep.countDown();
          try {
            new CountDownLatch(1).await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return json("end");
      });
      seen.add(last);
      return "[" + String.join(",", seen.stream().map(s -> s.startsWith("\"") ? s : json(s)).toList()) + "]";
    };
    try (TestCluster c = oneNode(null)) {
      TestWorker first = TestWorker.connect(c.node(1).workerAddress(), "first", 4, code, TestWorker.type("huge", 1));
      awaitRegistered(first);
      WorkflowHandle<Object> h = c.node(1).start("huge", 1, "in", Object.class);
      assertThat(inStep.await(60, TimeUnit.SECONDS)).isTrue();
      first.kill();
      try (TestWorker second = TestWorker.connect(c.node(1).workerAddress(), "second", 4, code, TestWorker.type("huge", 1))) {
        List<Object> expected = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
          expected.add(mib + ":" + i);
          expected.add("s" + i);
        }
        expected.add("end");
        assertThat(h.result(WAIT)).isEqualTo(expected);
        int carried = second.receivedOf(NodeMessage.KindCase.EXECUTE).getFirst().getExecute().getHistoryCount();
        assertThat(carried).as("Execute carried part of the 12 values").isBetween(1, 11);
        assertThat(second.receivedOf(NodeMessage.KindCase.CALL_FAILED)).isEmpty();
      }
      for (int i = 0; i < 6; i++) {
        assertThat(computed.get("big" + i).get()).as("committed step big#" + i + " ran once").isEqualTo(1);
      }
      assertThat(computed.get("last").get()).isEqualTo(2);
    }
  }
}
