package io.raftoral.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.worker.Cancel;
import io.raftoral.proto.worker.NodeMessage;
import io.raftoral.workflow.WorkflowDefinition;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node's half of the worker protocol, driven by a real worker stream ({@link TestWorker}) to a
 * real node: a worker-hosted workflow keeps the checkpoint contract of an embedded one, a lost
 * worker's runs continue on another worker from the values given out, and the node refuses what
 * breaks the protocol while other workers go on.
 */
class WorkerHostTest {
  static final Duration WAIT = Duration.ofSeconds(30);

  static TestCluster oneNode(Path dir) {
    return TestCluster.start(1, dir, (id, b) -> b.workerAddress("127.0.0.1:0"));
  }

  static void awaitRegistered(TestWorker w) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (w.receivedOf(NodeMessage.KindCase.REGISTERED).isEmpty()) {
      assertThat(w.ended.get()).as("the node ended the stream").isNull();
      assertThat(System.nanoTime()).as("registered in time").isLessThan(deadline);
      Thread.sleep(10);
    }
  }

  static Status awaitEnd(TestWorker w) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (w.ended.get() == null) {
      assertThat(System.nanoTime()).as("the stream ended in time").isLessThan(deadline);
      Thread.sleep(10);
    }
    return w.ended.get();
  }

  static String json(String s) {
    return "\"" + s + "\"";
  }

  @Test
  void aWorkerRunsAWorkflowWithTheCheckpointContractOfAnEmbeddedOne() throws Exception {
    try (TestCluster c = oneNode(null)) {
      RaftoralNode node = c.node(1);
      assertThatThrownBy(() -> node.start("order", 1, "a", String.class))
          .as("no worker has registered the type yet").isInstanceOf(Errors.NotRegisteredException.class);
      AtomicInteger reserved = new AtomicInteger();
      try (TestWorker w = TestWorker.connect(node.workerAddress(), "w1", 8, (ctx, input) -> {
        String r = ctx.compute("reserve", () -> json("r" + reserved.incrementAndGet()));
        String first = ctx.checkpoint("note", json("x"));
        String second = ctx.checkpoint("note", json("y"));
        return "[" + input + "," + r + "," + first + "," + second + "]";
      }, TestWorker.type("order", 1))) {
        awaitRegistered(w);
        WorkflowHandle<Object> h = node.start("order", 1, "a", Object.class);
        assertThat(h.result(WAIT)).isEqualTo(List.of("a", "r1", "x", "y"));
        assertThat(reserved.get()).isEqualTo(1);
        WorkflowInfo info = node.describe(h.workflowId());
        assertThat(info.status()).isEqualTo(WorkflowStatus.COMPLETED);
        assertThat(node.history(h.workflowId()).stream().map(e -> e.key() + "#" + e.seq() + "=" + text(e)).toList())
            .containsExactly("reserve#0=\"r1\"", "note#0=\"x\"", "note#1=\"y\"");
        assertThat(w.receivedOf(NodeMessage.KindCase.RUN_COMPUTE)).hasSize(1);
        assertThat(w.receivedOf(NodeMessage.KindCase.ACK).stream().filter(m -> m.getAck().getRun() != 0)).hasSize(1);
      }
    }
  }

  private static String text(HistoryEntry e) {
    return new String(e.value(), StandardCharsets.UTF_8);
  }

  @Test
  void aFailedWorkflowAndAFailedComputeStepAreReportedAsTheWorkerRaisedThem() throws Exception {
    try (TestCluster c = oneNode(null);
        TestWorker w = TestWorker.connect(c.node(1).workerAddress(), "w1", 8, (ctx, input) -> {
          try {
            ctx.compute("charge", () -> {
              throw new IllegalStateException("card declined");
            });
          } catch (TestWorker.CallFailedException e) {
            ctx.checkpoint("failure", json(e.failed.getFailure().getType() + ":" + e.failed.getFailure().getMessage()));
          }
          throw new IllegalArgumentException("order rejected");
        }, TestWorker.type("order", 1))) {
      awaitRegistered(w);
      WorkflowHandle<Object> h = c.node(1).start("order", 1, "a", Object.class);
      assertThatThrownBy(() -> h.result(WAIT)).isInstanceOf(Errors.WorkflowFailedException.class)
          .satisfies(e -> {
            Errors.WorkflowFailedException f = (Errors.WorkflowFailedException) e;
            assertThat(f.errorType()).isEqualTo("IllegalArgumentException");
            assertThat(f.getMessage()).contains("order rejected");
          });
      // The failed step left its position free: the workflow's own checkpoint is the only one.
      assertThat(c.node(1).history(h.workflowId()).stream().map(e -> e.key() + "=" + text(e)).toList())
          .containsExactly("failure=\"Boom:card declined\"");
    }
  }

  @Test
  void aLostWorkersRunContinuesOnAnotherFromTheValuesGivenOutAndNoCommittedStepRunsAgain() throws Exception {
    AtomicInteger shipped = new AtomicInteger();
    AtomicInteger billedStarts = new AtomicInteger();
    CountDownLatch billing = new CountDownLatch(1);
    CountDownLatch never = new CountDownLatch(1);
    TestWorker.Code code = (ctx, input) -> {
      String s = ctx.compute("ship", () -> json("s" + shipped.incrementAndGet()));
      String b = ctx.compute("bill", () -> {
        if (billedStarts.incrementAndGet() == 1) {
          billing.countDown();
          try {
            never.await(); // the first worker dies here, its result never sent
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return json("b" + billedStarts.get());
      });
      return "[" + s + "," + b + "]";
    };
    try (TestCluster c = oneNode(null)) {
      String target = c.node(1).workerAddress();
      TestWorker first = TestWorker.connect(target, "first", 8, code, TestWorker.type("order", 1));
      awaitRegistered(first);
      WorkflowHandle<Object> h = c.node(1).start("order", 1, "a", Object.class);
      assertThat(billing.await(30, TimeUnit.SECONDS)).isTrue();
      first.kill();
      try (TestWorker second = TestWorker.connect(target, "second", 8, code, TestWorker.type("order", 1))) {
        assertThat(h.result(WAIT)).isEqualTo(List.of("s1", "b2"));
        List<NodeMessage> executes = second.receivedOf(NodeMessage.KindCase.EXECUTE);
        assertThat(executes).hasSize(1);
        assertThat(executes.getFirst().getExecute().getHistoryList()).extracting(v -> v.getKey() + "#" + v.getSeq())
            .containsExactly("ship#0");
      }
      assertThat(shipped.get()).as("the committed step ran once").isEqualTo(1);
      assertThat(billedStarts.get()).as("the step in flight ran again, once").isEqualTo(2);
    }
  }

  @Test
  void aWorkflowRecoveredBeforeAnyWorkerConnectsRunsOnceOneDoes(@TempDir Path dir) throws Exception {
    AtomicInteger steps = new AtomicInteger();
    CountDownLatch firstStepDone = new CountDownLatch(1);
    CountDownLatch hold = new CountDownLatch(1);
    String raft = TestCluster.freeAddresses(1).get(1L);
    String id;
    try (RaftoralNode node = restartable(dir, raft);
        TestWorker w = TestWorker.connect(node.workerAddress(), "w1", 8, (ctx, input) -> {
          ctx.compute("one", () -> json("1:" + steps.incrementAndGet()));
          firstStepDone.countDown();
          hold.await();
          return json("unreachable");
        }, TestWorker.type("order", 1))) {
      awaitRegistered(w);
      id = node.start("order", 1, "a", Object.class).workflowId();
      assertThat(firstStepDone.await(30, TimeUnit.SECONDS)).isTrue();
      waitForHistory(node, id, 1);
    }
    try (RaftoralNode node = restartable(dir, raft)) {
      assertThat(node.describe(id).status()).isEqualTo(WorkflowStatus.RUNNING);
      try (TestWorker w = TestWorker.connect(node.workerAddress(), "w2", 8, (ctx, input) -> {
        String one = ctx.compute("one", () -> json("again:" + steps.incrementAndGet()));
        String two = ctx.compute("two", () -> json("2"));
        return "[" + one + "," + two + "]";
      }, TestWorker.type("order", 1))) {
        assertThat(node.handle(id, Object.class).result(WAIT)).isEqualTo(List.of("1:1", "2"));
        assertThat(steps.get()).isEqualTo(1);
      }
    }
  }

  private static RaftoralNode restartable(Path dir, String raftAddress) {
    return RaftoralNode.builder().nodeId(1).raftAddress(raftAddress).dataDirectory(dir).electionTimeout(Duration.ofMillis(500))
        .workerAddress("127.0.0.1:0").start();
  }

  static void waitForHistory(RaftoralNode node, String id, int entries) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (node.history(id).size() < entries) {
      assertThat(System.nanoTime()).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  @Test
  void terminatingAWorkflowCancelsItsRunOnTheWorker() throws Exception {
    CountDownLatch computing = new CountDownLatch(1);
    CountDownLatch never = new CountDownLatch(1);
    try (TestCluster c = oneNode(null);
        TestWorker w = TestWorker.connect(c.node(1).workerAddress(), "w1", 8, (ctx, input) -> {
          ctx.compute("slow", () -> {
            computing.countDown();
            try {
              never.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return json("late");
          });
          return json("done");
        }, TestWorker.type("order", 1))) {
      awaitRegistered(w);
      WorkflowHandle<Object> h = c.node(1).start("order", 1, "a", Object.class);
      assertThat(computing.await(30, TimeUnit.SECONDS)).isTrue();
      c.node(1).terminate(h.workflowId(), "customer cancelled");
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (w.receivedOf(NodeMessage.KindCase.CANCEL).isEmpty()) {
        assertThat(System.nanoTime()).isLessThan(deadline);
        Thread.sleep(20);
      }
      Cancel cancel = w.receivedOf(NodeMessage.KindCase.CANCEL).getFirst().getCancel();
      assertThat(cancel.getReason()).isEqualTo(Cancel.Reason.TERMINATED);
      assertThat(cancel.getMessage()).contains("customer cancelled");
      assertThat(c.node(1).describe(h.workflowId()).status()).isEqualTo(WorkflowStatus.TERMINATED);
    }
  }

  @Test
  void aTypeRegisteredEmbeddedIsNotTakenByAWorker() throws Exception {
    WorkflowDefinition<String, String> embedded = WorkflowDefinition.of("order", 1, String.class, String.class, (ctx, in) -> in);
    try (TestCluster c = TestCluster.start(1, null, (id, b) -> b.workerAddress("127.0.0.1:0").register(embedded));
        TestWorker w = TestWorker.connect(c.node(1).workerAddress(), "w1", 8, (ctx, in) -> in, TestWorker.type("order", 1))) {
      Status s = awaitEnd(w);
      assertThat(s.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(s.getDescription()).contains("order@v1").contains("embedded");
      assertThat(c.node(1).start("order", 1, "still embedded", String.class).result(WAIT)).isEqualTo("still embedded");
    }
  }

  @Test
  void workersOfOneTypeShareItsRunsWithinTheirLimits() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger running = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    TestWorker.Code code = (ctx, input) -> {
      most.accumulateAndGet(running.incrementAndGet(), Math::max);
      ctx.compute("wait", () -> {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return json("ok");
      });
      running.decrementAndGet();
      return input;
    };
    try (TestCluster c = oneNode(null);
        TestWorker a = TestWorker.connect(c.node(1).workerAddress(), "a", 2, code, TestWorker.type("order", 1));
        TestWorker b = TestWorker.connect(c.node(1).workerAddress(), "b", 2, code, TestWorker.type("order", 1))) {
      awaitRegistered(a);
      awaitRegistered(b);
      List<WorkflowHandle<Object>> handles = new java.util.ArrayList<>();
      for (int i = 0; i < 6; i++) {
        handles.add(c.node(1).start("order", 1, "w" + i, Object.class));
      }
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (running.get() < 4) {
        assertThat(System.nanoTime()).isLessThan(deadline);
        Thread.sleep(20);
      }
      Thread.sleep(300); // room for a fifth run, were the limits not kept
      assertThat(a.receivedOf(NodeMessage.KindCase.EXECUTE)).hasSize(2);
      assertThat(b.receivedOf(NodeMessage.KindCase.EXECUTE)).hasSize(2);
      release.countDown();
      for (int i = 0; i < 6; i++) {
        assertThat(handles.get(i).result(WAIT)).isEqualTo("w" + i);
      }
      assertThat(most.get()).isEqualTo(4);
      assertThat(a.receivedOf(NodeMessage.KindCase.EXECUTE).size() + b.receivedOf(NodeMessage.KindCase.EXECUTE).size())
          .isEqualTo(6);
    }
  }
}
