package io.raftoral.worker;

import static io.raftoral.worker.WorkerHostTest.WAIT;
import static io.raftoral.worker.WorkerHostTest.awaitEnd;
import static io.raftoral.worker.WorkerHostTest.awaitRegistered;
import static io.raftoral.worker.WorkerHostTest.json;
import static io.raftoral.worker.WorkerHostTest.oneNode;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.ReplayReport;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.client.ErrorCode;
import io.raftoral.proto.worker.CheckpointProposal;
import io.raftoral.proto.worker.NodeMessage;
import io.raftoral.proto.worker.Register;
import io.raftoral.proto.worker.WorkerMessage;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * Break-it tests of the node's half of the worker protocol: each names a way a worker (or the
 * node's own bookkeeping) can leave a workflow stuck, failed or running on wrong terms. Real node,
 * real gRPC streams.
 */
class WorkerHostBreakTest {

  static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  static int executes(TestWorker w) {
    return w.receivedOf(NodeMessage.KindCase.EXECUTE).size();
  }

  /** What the call got: "accepted" or the CallFailed code's name. */
  static String outcome(ThrowingCall call) throws Exception {
    try {
      call.run();
      return "accepted";
    } catch (TestWorker.CallFailedException e) {
      return e.failed.getCode() == ErrorCode.UNRECOGNIZED ? "?" : e.failed.getCode().name();
    }
  }

  interface ThrowingCall {
    String run() throws Exception;
  }

  /**
   * Two workers of one type with different limits: the first (max 1) is full, the second (max 4)
   * holds one run. A third run must go to the second worker, which has room for three more.
   */
  @Test
  void aRunGoesToAWorkerWithRoomEvenWhenTheLeastBusyWorkerIsFullAtItsOwnLimit() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    TestWorker.Code code = (ctx, input) -> {
      ctx.compute("hold", () -> {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return json("held");
      });
      return input;
    };
    try (TestCluster c = oneNode(null);
        TestWorker small = TestWorker.connect(c.node(1).workerAddress(), "small", 1, code, TestWorker.type("order", 1))) {
      awaitRegistered(small);
      WorkflowHandle<String> first = c.node(1).start("order", 1, "1", String.class);
      await("the only worker got the first run", () -> executes(small) == 1);
      try (TestWorker big = TestWorker.connect(c.node(1).workerAddress(), "big", 4, code, TestWorker.type("order", 1))) {
        awaitRegistered(big);
        WorkflowHandle<String> second = c.node(1).start("order", 1, "2", String.class);
        await("the idle worker got the second run", () -> executes(big) == 1);
        WorkflowHandle<String> third = c.node(1).start("order", 1, "3", String.class);
        // small is full (1 of 1); big holds 1 of 4: the third run is big's.
        await("the worker with room got the third run (small has " + executes(small) + ", big " + executes(big) + ")",
            () -> executes(big) == 2);
        release.countDown();
        assertThat(List.of(first.result(WAIT), second.result(WAIT), third.result(WAIT))).containsExactly("1", "2", "3");
      }
    }
  }

  /**
   * seq is a uint64 on the wire: a worker can send 2^63 or more (a negative long in Java). That is
   * a wrong seq like any other: the call is refused (ERR_INVALID_ARGUMENT) and the workflow goes on;
   * it must not fail the workflow with the node's own exception.
   */
  @Test
  void aSeqOfTwoToTheSixtyThreeOrMoreIsRefusedToTheCallAndTheWorkflowGoesOn() throws Exception {
    try (TestCluster c = oneNode(null);
        TestWorker w = TestWorker.connect(c.node(1).workerAddress(), "w", 4, (ctx, in) -> {
          String fresh = outcome(() -> ctx.checkpointAt("fresh", -1L, ByteString.copyFromUtf8(json("x"))));
          String written = ctx.checkpoint("used", json("u0"));
          String used = outcome(() -> ctx.checkpointAt("used", Long.MIN_VALUE, ByteString.copyFromUtf8(json("y"))));
          String kept = ctx.checkpoint("fresh", json("f0"));
          return "[" + json(fresh) + "," + written + "," + json(used) + "," + kept + "]";
        }, TestWorker.type("seq", 1))) {
      awaitRegistered(w);
      WorkflowHandle<Object> h = c.node(1).start("seq", 1, "in", Object.class);
      assertThat(h.result(WAIT)).isEqualTo(List.of("ERR_INVALID_ARGUMENT", "u0", "ERR_INVALID_ARGUMENT", "f0"));
      assertThat(c.node(1).describe(h.workflowId()).status()).isEqualTo(WorkflowStatus.COMPLETED);
    }
  }

  /**
   * max_concurrent_runs is a uint32 documented 1..65536 (0: the default). 2^31 and above are
   * negative as a Java int: the node must refuse them like 65537, not register a worker whose
   * limit no run can fit under.
   */
  @Test
  void aMaxConcurrentRunsOfTwoToTheThirtyOneOrMoreIsRefused() throws Exception {
    try (TestCluster c = oneNode(null)) {
      for (int max : new int[] {Integer.MIN_VALUE, -1}) {
        TestWorker w = TestWorker.raw(c.node(1).workerAddress());
        w.send(WorkerMessage.newBuilder().setRegister(Register.newBuilder().setWorkerId("huge-" + max).addProtocolVersions(1)
            .addTypes(TestWorker.type("huge", 1)).setMaxConcurrentRuns(max)).build());
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (w.ended.get() == null && w.receivedOf(NodeMessage.KindCase.REGISTERED).isEmpty()) {
          assertThat(System.nanoTime()).isLessThan(deadline);
          Thread.sleep(10);
        }
        assertThat(w.receivedOf(NodeMessage.KindCase.REGISTERED))
            .as("max_concurrent_runs " + Integer.toUnsignedString(max) + " was accepted").isEmpty();
        Status s = awaitEnd(w);
        assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(s.getDescription()).contains("max_concurrent_runs");
        w.close();
      }
    }
  }

  /**
   * A worker's function that fires a compute step without awaiting it and returns: the worker sends
   * WorkflowResult (the run is over on its side) and drops the RunCompute that follows. The node
   * must not hold the run, and the worker's only slot, forever waiting for a ComputeResult that
   * cannot come while the worker heartbeats: the workflow ends and the next run gets the slot.
   */
  @Test
  void aWorkflowResultWhileAComputeStepIsOutstandingDoesNotHoldTheRunForever() throws Exception {
    try (TestCluster c = oneNode(null);
        TestWorker w = TestWorker.connect(c.node(1).workerAddress(), "w", 1, (ctx, in) -> {
          if (in.equals("\"fire\"")) {
            ctx.send(WorkerMessage.newBuilder().setCheckpoint(CheckpointProposal.newBuilder().setRun(ctx.execute.getRun())
                .setKey("fired").setSeq(0).setCompute(true)).build());
            return json("returned");
          }
          return ctx.checkpoint("k", in);
        }, TestWorker.type("fire", 1))) {
      awaitRegistered(w);
      WorkflowHandle<String> fired = c.node(1).start("fire", 1, "fire", String.class);
      // The node asked for the fired step after the worker's function had returned.
      await("the node asked the worker for the fired step", () -> !w.receivedOf(NodeMessage.KindCase.RUN_COMPUTE).isEmpty());
      WorkflowHandle<String> next = c.node(1).start("fire", 1, "next", String.class);
      assertThat(next.result(WAIT)).as("the next run got the worker's only slot").isEqualTo("next");
      await("the fired workflow ended", () -> c.node(1).describe(fired.workflowId()).status() != WorkflowStatus.RUNNING);
    }
  }

  /**
   * Replay of a worker-hosted workflow whose compute step failed and whose code caught the failure
   * and went on: the replay throws the recorded failure into the code at that step (as for an
   * embedded workflow, ReplayedSideEffectFailure), which on a worker must arrive as the step's
   * CallFailed so that the worker's code catches it as it did live. The replay matches the history.
   */
  @Test
  void theReplayOfAWorkerWorkflowWhoseCaughtComputeStepFailedMatchesItsHistory() throws Exception {
    AtomicInteger charged = new AtomicInteger();
    try (TestCluster c = oneNode(null);
        TestWorker w = TestWorker.connect(c.node(1).workerAddress(), "w", 4, (ctx, in) -> {
          String outcome;
          try {
            outcome = ctx.compute("charge", () -> {
              charged.incrementAndGet();
              throw new IllegalStateException("card declined");
            });
          } catch (TestWorker.CallFailedException e) {
            outcome = ctx.checkpoint("failure", json("declined"));
          }
          return ctx.checkpoint("done", outcome);
        }, TestWorker.type("pay", 1))) {
      awaitRegistered(w);
      WorkflowHandle<String> h = c.node(1).start("pay", 1, "x", String.class);
      assertThat(h.result(WAIT)).isEqualTo("declined");
      assertThat(charged.get()).isEqualTo(1);
      ReplayReport report = c.node(1).replay(h.workflowId());
      assertThat(report.divergence()).as("replay divergence").isNull();
      assertThat(report.matches()).isTrue();
      assertThat(charged.get()).as("a replay runs no side effect").isEqualTo(1);
    }
  }

  /**
   * worker.proto: CheckpointProposal.key is "not empty, well-formed UTF-8, at most 1024 bytes". A
   * longer key is bad input of the call: CallFailed ERR_INVALID_ARGUMENT, and the workflow goes on.
   */
  @Test
  void aLongKeyIsTakenAsAnEmbeddedWorkflowTakesIt() throws Exception {
    // Keys have no length limit of their own (an embedded workflow's do not): a worker's are the same.
    String atOldLimit = "é".repeat(512); // 1024 UTF-8 bytes
    String longer = "é".repeat(2048) + "k"; // 4097
    try (TestCluster c = oneNode(null);
        TestWorker w = TestWorker.connect(c.node(1).workerAddress(), "w", 4, (ctx, in) -> {
          String first = outcome(() -> ctx.checkpoint(atOldLimit, json("ok")));
          String second = outcome(() -> ctx.checkpointAt(longer, 0, ByteString.copyFromUtf8(json("also"))));
          return "[" + json(first) + "," + json(second) + "]";
        }, TestWorker.type("keys", 1))) {
      awaitRegistered(w);
      Object result = c.node(1).start("keys", 1, "in", Object.class).result(WAIT);
      assertThat(result).isEqualTo(List.of("accepted", "accepted"));
      assertThat(c.node(1).history(c.node(1).list(io.raftoral.common.ListQuery.all()).workflows().getFirst().workflowId())
          .stream().map(e -> e.key().length()).toList()).containsExactly(512, 2049);
    }
  }
}
