package io.raftoral.worker;

import static io.raftoral.worker.WorkerHostTest.WAIT;
import static io.raftoral.worker.WorkerHostTest.awaitRegistered;
import static io.raftoral.worker.WorkerHostTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.proto.worker.ExecutionMode;
import io.raftoral.proto.worker.NodeMessage;
import io.raftoral.proto.worker.WorkflowTypeSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Three nodes with one worker each: the owner's node dies while its worker computes a step; the
 * new owner's worker goes on (hot standby: from where it got; owner-only: executed again from
 * the committed history) and no committed step runs again.
 */
class WorkerFailoverTest {

  @ParameterizedTest
  @EnumSource(value = ExecutionMode.class, names = {"HOT_STANDBY", "OWNER_ONLY"})
  void theNewOwnersWorkerFinishesTheWorkflowAndNoCommittedStepRunsAgain(ExecutionMode mode) throws Exception {
    Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
    CountDownLatch ownerInSecondStep = new CountDownLatch(1);
    CountDownLatch never = new CountDownLatch(1);
    WorkflowTypeSpec type = WorkflowTypeSpec.newBuilder().setName("order").setVersion(1).setMode(mode).build();
    try (TestCluster c = TestCluster.start(3, null, (id, b) -> b.workerAddress("127.0.0.1:0"))) {
      c.makeOwner(1);
      List<TestWorker> workers = new ArrayList<>();
      for (RaftoralNode n : c.nodes) {
        long node = n.nodeId();
        workers.add(TestWorker.connect(n.workerAddress(), "w" + node, 8, (ctx, input) -> {
          String first = ctx.compute("first", () -> {
            runs.computeIfAbsent("first", k -> new AtomicInteger()).incrementAndGet();
            return json("1@" + node);
          });
          String second = ctx.compute("second", () -> {
            runs.computeIfAbsent("second@" + node, k -> new AtomicInteger()).incrementAndGet();
            if (node == 1) {
              ownerInSecondStep.countDown();
              try {
                never.await(); // the owner's node dies under this step
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
            return json("2@" + node);
          });
          return "[" + first + "," + second + "]";
        }, type));
      }
      for (TestWorker w : workers) {
        awaitRegistered(w);
      }
      WorkflowHandle<Object> h = c.node(1).start("order", 1, "a", Object.class);
      assertThat(ownerInSecondStep.await(30, TimeUnit.SECONDS)).isTrue();
      WorkerHostTest.waitForHistory(c.node(2), h.workflowId(), 1);
      c.node(1).close();

      Object result = c.node(2).handle(h.workflowId(), Object.class).result(WAIT);
      assertThat(result).isInstanceOf(List.class);
      @SuppressWarnings("unchecked")
      List<String> values = (List<String>) result;
      assertThat(values.get(0)).isEqualTo("1@1");
      assertThat(values.get(1)).isIn("2@2", "2@3");
      assertThat(runs.get("first").get()).as("the committed step ran once").isEqualTo(1);
      assertThat(runs.get("second@1").get()).isEqualTo(1);
      assertThat(runs.getOrDefault("second@2", new AtomicInteger()).get() + runs.getOrDefault("second@3", new AtomicInteger()).get())
          .as("the step in flight on the dead owner ran once more, on the new owner's worker").isEqualTo(1);
      if (mode == ExecutionMode.OWNER_ONLY) {
        long executedOnSurvivors = workers.subList(1, 3).stream()
            .mapToLong(w -> w.receivedOf(NodeMessage.KindCase.EXECUTE).size()).sum();
        assertThat(executedOnSurvivors).as("only the new owner's node executes an owner-only workflow").isEqualTo(1);
      }
      workers.forEach(TestWorker::close);
    }
  }
}
