package io.raftoral.worker;

import static io.raftoral.worker.WorkerHostBreakTest.await;
import static io.raftoral.worker.WorkerHostBreakTest.executes;
import static io.raftoral.worker.WorkerHostTest.WAIT;
import static io.raftoral.worker.WorkerHostTest.awaitRegistered;
import static io.raftoral.worker.WorkerHostTest.json;
import static io.raftoral.worker.WorkerHostTest.oneNode;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.worker.Cancel;
import io.raftoral.proto.worker.Heartbeat;
import io.raftoral.proto.worker.NodeMessage;
import io.raftoral.proto.worker.Register;
import io.raftoral.proto.worker.WorkerMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Break attempts on the lifecycle of worker-hosted runs: workers that come and go while runs are
 * handed out, a terminate or the node stopping while runs wait for a worker, slot accounting under
 * churn, three nodes whose non-owners' workers lag or are absent, a worker that stops reading.
 */
class WorkerHostBreakLifecycleTest {

  @Test
  void aWorkflowTerminatedWhileNoWorkerIsConnectedStaysTerminatedAndNeverReachesALaterWorker() throws Exception {
    try (TestCluster c = oneNode(null)) {
      RaftoralNode node = c.node(1);
      TestWorker first = TestWorker.connect(node.workerAddress(), "first", 4, (ctx, in) -> ctx.checkpoint("k", in),
          TestWorker.type("t", 1));
      awaitRegistered(first);
      first.close();
      WorkflowHandle<String> h = node.start("t", 1, "waits", String.class);
      Thread.sleep(500); // the run is waiting for a worker now (or soon: either way it must not run)
      node.terminate(h.workflowId(), "no longer wanted");
      assertThat(node.describe(h.workflowId()).status()).isEqualTo(WorkflowStatus.TERMINATED);
      try (TestWorker later = TestWorker.connect(node.workerAddress(), "later", 4, (ctx, in) -> ctx.checkpoint("k", in),
          TestWorker.type("t", 1))) {
        awaitRegistered(later);
        assertThat(node.start("t", 1, "after", String.class).result(WAIT)).isEqualTo("after");
        assertThat(later.receivedOf(NodeMessage.KindCase.EXECUTE)).extracting(m -> m.getExecute().getWorkflowId())
            .doesNotContain(h.workflowId());
      }
      assertThat(node.describe(h.workflowId()).status()).isEqualTo(WorkflowStatus.TERMINATED);
      assertThat(node.history(h.workflowId())).isEmpty();
    }
  }

  /**
   * The node stops while one run waits for a worker (none connected), one is held by a worker
   * mid-step and one lost its worker mid-step: none is recorded FAILED (describe after a restart on
   * the same data directory says RUNNING), and each finishes once a worker connects to the
   * restarted node, with no committed step run again.
   */
  @Test
  void stoppingTheNodeWhileRunsWaitForWorkersNeverFailsThem(@TempDir Path dir) throws Exception {
    String raft = TestCluster.freeAddresses(1).get(1L);
    Map<String, AtomicInteger> ran = new ConcurrentHashMap<>();
    CountDownLatch held = new CountDownLatch(2);
    TestWorker.Code blocking = (ctx, in) -> {
      ctx.compute("one", () -> {
        ran.computeIfAbsent(in + "/one", k -> new AtomicInteger()).incrementAndGet();
        return json("1");
      });
      ctx.compute("two", () -> {
        ran.computeIfAbsent(in + "/two", k -> new AtomicInteger()).incrementAndGet();
        held.countDown();
        try {
          new CountDownLatch(1).await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return json("never");
      });
      return json("never");
    };
    String waiting;
    String heldId;
    String lostId;
    try (RaftoralNode node = restartable(dir, raft)) {
      TestWorker absent = TestWorker.connect(node.workerAddress(), "absent", 4, blocking, TestWorker.type("absent", 1));
      awaitRegistered(absent);
      absent.close();
      waiting = node.start("absent", 1, "w", Object.class).workflowId();
      TestWorker holder = TestWorker.connect(node.workerAddress(), "holder", 4, blocking, TestWorker.type("held", 1));
      TestWorker loser = TestWorker.connect(node.workerAddress(), "loser", 4, blocking, TestWorker.type("lost", 1));
      awaitRegistered(holder);
      awaitRegistered(loser);
      heldId = node.start("held", 1, "h", Object.class).workflowId();
      lostId = node.start("lost", 1, "l", Object.class).workflowId();
      assertThat(held.await(30, TimeUnit.SECONDS)).isTrue();
      loser.kill();
      Thread.sleep(300); // the lost run is back to waiting for a worker (or about to be)
      node.close();
      holder.close();
    }
    try (RaftoralNode node = restartable(dir, raft)) {
      for (String id : List.of(waiting, heldId, lostId)) {
        assertThat(node.describe(id).status()).as(id).isEqualTo(WorkflowStatus.RUNNING);
      }
      TestWorker.Code finishing = (ctx, in) -> {
        String one = ctx.compute("one", () -> {
          ran.computeIfAbsent(in + "/one", k -> new AtomicInteger()).incrementAndGet();
          return json("1");
        });
        String two = ctx.compute("two", () -> json("2"));
        return "[" + one + "," + two + "]";
      };
      try (TestWorker w = TestWorker.connect(node.workerAddress(), "after", 8, finishing, TestWorker.type("absent", 1),
          TestWorker.type("held", 1), TestWorker.type("lost", 1))) {
        for (String id : List.of(waiting, heldId, lostId)) {
          assertThat(node.handle(id, Object.class).result(WAIT)).as(id).isEqualTo(List.of("1", "2"));
        }
      }
      assertThat(ran.get("\"h\"/one").get()).isEqualTo(1);
      assertThat(ran.get("\"l\"/one").get()).isEqualTo(1);
      assertThat(ran.get("\"w\"/one").get()).isEqualTo(1);
    }
  }

  private static RaftoralNode restartable(Path dir, String raftAddress) {
    return RaftoralNode.builder().nodeId(1).raftAddress(raftAddress).dataDirectory(dir).electionTimeout(Duration.ofMillis(500))
        .workerAddress("127.0.0.1:0").start();
  }

  /** A compute step longer than the heartbeat timeout: the worker heartbeats and is not dropped. */
  @Test
  void aComputeStepLongerThanTheHeartbeatTimeoutKeepsItsWorker() throws Exception {
    try (TestCluster c = oneNode(null);
        TestWorker w = TestWorker.connect(c.node(1).workerAddress(), "slow", 4, (ctx, in) -> ctx.compute("slow", () -> {
          try {
            Thread.sleep(WorkerHost.HEARTBEAT_TIMEOUT_MILLIS + 1500);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return in;
        }), TestWorker.type("slow", 1))) {
      awaitRegistered(w);
      assertThat(c.node(1).start("slow", 1, "x", String.class).result(WAIT)).isEqualTo("x");
      assertThat(w.ended.get()).isNull();
      assertThat(executes(w)).isEqualTo(1);
    }
  }

  /** One worker, several types, max_concurrent_runs = 1: one run at a time across its types, and every run ends. */
  @Test
  void aWorkerWithOneSlotRunsItsTypesOneAtATime() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger running = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    TestWorker.Code code = (ctx, in) -> {
      most.accumulateAndGet(running.incrementAndGet(), Math::max);
      try {
        return ctx.compute("wait", () -> {
          try {
            release.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return in;
        });
      } finally {
        running.decrementAndGet();
      }
    };
    try (TestCluster c = oneNode(null);
        TestWorker w = TestWorker.connect(c.node(1).workerAddress(), "one", 1, code, TestWorker.type("x", 1),
            TestWorker.type("y", 1), TestWorker.type("z", 2))) {
      awaitRegistered(w);
      List<WorkflowHandle<String>> hs = new ArrayList<>();
      hs.add(c.node(1).start("x", 1, "x1", String.class));
      hs.add(c.node(1).start("y", 1, "y1", String.class));
      hs.add(c.node(1).start("z", 2, "z1", String.class));
      hs.add(c.node(1).start("x", 1, "x2", String.class));
      await("one run started", () -> executes(w) == 1);
      Thread.sleep(500); // room for a second Execute, were the limit not kept
      assertThat(executes(w)).isEqualTo(1);
      release.countDown();
      assertThat(hs.stream().map(h -> h.result(WAIT)).toList()).containsExactly("x1", "y1", "z1", "x2");
      assertThat(most.get()).isEqualTo(1);
      assertThat(executes(w)).isEqualTo(4);
    }
  }

  /**
   * Workers come and go while many runs are in flight (each kill mid-step); every workflow ends
   * with each committed step run once, and afterwards every surviving worker gets exactly its
   * limit of runs at once: no slot leaked. A run lost with its worker waits for a slot again, so a
   * later kill may hit it again before its step commits (see the next test): the step may run once
   * per worker killed while holding it, so each computation is checked against the kills rather
   * than counted against a fixed bound.
   */
  @Test
  void workersComingAndGoingUnderManyRunsLeakNoSlotAndRunNoCommittedStepTwice() throws Exception {
    Map<String, List<String>> computedBy = new ConcurrentHashMap<>();
    Set<String> killed = ConcurrentHashMap.newKeySet();
    CountDownLatch hold = new CountDownLatch(1);
    Function<String, TestWorker.Code> codeOf = worker -> (ctx, in) -> {
      if (in.startsWith("\"hold")) {
        return ctx.compute("hold", () -> {
          try {
            hold.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return in;
        });
      }
      // The value names the worker that computed it, so the result says whose computation committed.
      String a = ctx.compute("a", () -> {
        computedBy.computeIfAbsent(in, k -> new CopyOnWriteArrayList<>()).add(worker);
        return json(worker);
      });
      ctx.checkpoint("note", json("n"));
      String b = ctx.compute("b", () -> {
        try {
          Thread.sleep(5);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return json("b");
      });
      return "[" + a + "," + b + "]";
    };
    try (TestCluster c = oneNode(null)) {
      String target = c.node(1).workerAddress();
      List<TestWorker> live = new ArrayList<>();
      List<String> liveIds = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        live.add(TestWorker.connect(target, "w" + i, 3, codeOf.apply("w" + i), TestWorker.type("churn", 1)));
        liveIds.add("w" + i);
      }
      for (TestWorker w : live) {
        awaitRegistered(w);
      }
      List<WorkflowHandle<Object>> hs = new ArrayList<>();
      for (int i = 0; i < 60; i++) {
        hs.add(c.node(1).start("churn", 1, "r" + i, Object.class));
        if (i % 10 == 9) {
          TestWorker gone = live.remove(0);
          killed.add(liveIds.remove(0)); // before the kill: a step it computes from now on is lost with it
          gone.kill();
          TestWorker fresh = TestWorker.connect(target, "fresh" + i, 3, codeOf.apply("fresh" + i), TestWorker.type("churn", 1));
          awaitRegistered(fresh);
          live.add(fresh);
          liveIds.add("fresh" + i);
        }
      }
      for (int i = 0; i < 60; i++) {
        Object result = hs.get(i).result(WAIT);
        assertThat(result).isInstanceOf(List.class);
        List<?> values = (List<?>) result;
        assertThat(values.get(1)).isEqualTo("b");
        String committer = (String) values.get(0);
        List<String> computers = computedBy.get("\"r" + i + "\"");
        assertThat(computers).as("r" + i + "/a: computed by the worker whose value committed, once").containsOnlyOnce(committer);
        assertThat(computers).as("r" + i + "/a: no worker computed it twice").doesNotHaveDuplicates();
        assertThat(computers.stream().filter(w -> !w.equals(committer)).toList())
            .as("r" + i + "/a: every other computation was lost with its worker (killed %s)", killed)
            .allMatch(killed::contains);
        assertThat(c.node(1).history(hs.get(i).workflowId()).stream().filter(e -> e.key().equals("a"))
            .map(e -> e.seq() + "=" + new String(e.value(), StandardCharsets.UTF_8)).toList())
            .as("r" + i + "/a committed once").containsExactly("0=" + json(committer));
      }
      List<Integer> before = live.stream().map(WorkerHostBreakTest::executes).toList();
      List<WorkflowHandle<Object>> holds = new ArrayList<>();
      for (int i = 0; i < 9; i++) {
        holds.add(c.node(1).start("churn", 1, "hold" + i, Object.class));
      }
      await("every worker holds its limit of 3 runs", () -> {
        for (int i = 0; i < live.size(); i++) {
          if (executes(live.get(i)) - before.get(i) != 3) {
            return false;
          }
        }
        return true;
      });
      hold.countDown();
      for (WorkflowHandle<Object> h : holds) {
        assertThat(h.result(WAIT)).asString().startsWith("hold");
      }
      live.forEach(TestWorker::close);
    }
  }

  /**
   * A run loses its worker twice before its compute step commits (each worker killed while
   * computing it): the step runs once on each, then on a third worker, whose value commits; the
   * workflow ends with that value. One uncommitted computation per worker lost, not one per run.
   */
  @Test
  void aStepLostWithTwoWorkersInTurnRunsOnceOnEachAndCommitsOnTheThird() throws Exception {
    List<String> computedBy = new CopyOnWriteArrayList<>();
    CountDownLatch never = new CountDownLatch(1);
    Map<String, CountDownLatch> computing = Map.of("first", new CountDownLatch(1), "second", new CountDownLatch(1));
    Function<String, TestWorker.Code> codeOf = worker -> (ctx, in) -> ctx.compute("a", () -> {
      computedBy.add(worker);
      CountDownLatch started = computing.get(worker);
      if (started != null) {
        started.countDown();
        try {
          never.await(); // killed under this step
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return json(worker);
    });
    try (TestCluster c = oneNode(null)) {
      String target = c.node(1).workerAddress();
      TestWorker first = TestWorker.connect(target, "first", 1, codeOf.apply("first"), TestWorker.type("twice", 1));
      awaitRegistered(first);
      WorkflowHandle<String> h = c.node(1).start("twice", 1, "x", String.class);
      assertThat(computing.get("first").await(30, TimeUnit.SECONDS)).isTrue();
      TestWorker second = TestWorker.connect(target, "second", 1, codeOf.apply("second"), TestWorker.type("twice", 1));
      awaitRegistered(second);
      first.kill();
      assertThat(computing.get("second").await(30, TimeUnit.SECONDS)).isTrue();
      try (TestWorker third = TestWorker.connect(target, "third", 1, codeOf.apply("third"), TestWorker.type("twice", 1))) {
        awaitRegistered(third);
        second.kill();
        assertThat(h.result(WAIT)).isEqualTo("third");
      } finally {
        never.countDown();
      }
      assertThat(computedBy).containsExactly("first", "second", "third");
      assertThat(c.node(1).history(h.workflowId()).stream()
          .map(e -> e.key() + "#" + e.seq() + "=" + new String(e.value(), StandardCharsets.UTF_8)).toList())
          .as("the step committed once, with the third worker's value").containsExactly("a#0=\"third\"");
    }
  }

  /**
   * Three nodes, hot standby: the owner's worker is quick, node 2's lags (its function blocks
   * before its first call), node 3 has none. Every workflow completes; node 2's lagging runs are
   * cancelled as ENDED_ELSEWHERE; a worker that connects to node 3 afterwards gets none of them.
   */
  @Test
  void hotStandbyWithLaggingAndAbsentNonOwnerWorkersCompletesAndCancelsTheLaggards() throws Exception {
    CountDownLatch lag = new CountDownLatch(1);
    try (TestCluster c = TestCluster.start(3, null, (id, b) -> b.workerAddress("127.0.0.1:0"))) {
      c.makeOwner(1);
      TestWorker.Code quick = (ctx, in) -> {
        String v = ctx.compute("step", () -> in);
        return ctx.checkpoint("out", v);
      };
      TestWorker owner = TestWorker.connect(c.node(1).workerAddress(), "owner", 16, quick, TestWorker.type("hs", 1));
      TestWorker slow = TestWorker.connect(c.node(2).workerAddress(), "slow", 16, (ctx, in) -> {
        lag.await();
        return quick.run(ctx, in);
      }, TestWorker.type("hs", 1));
      awaitRegistered(owner);
      awaitRegistered(slow);
      List<WorkflowHandle<String>> hs = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        hs.add(c.node(1).start("hs", 1, "v" + i, String.class));
      }
      for (int i = 0; i < 5; i++) {
        assertThat(hs.get(i).result(WAIT)).isEqualTo("v" + i);
        assertThat(c.node(3).handle(hs.get(i).workflowId(), String.class).result(WAIT)).isEqualTo("v" + i);
        assertThat(c.node(2).handle(hs.get(i).workflowId(), String.class).result(WAIT)).isEqualTo("v" + i);
      }
      // Node 2's replica has each workflow COMPLETED (above): its runs stop, and must tell the worker.
      await("node 2's worker was told its 5 lagging runs are over", () -> slow.receivedOf(NodeMessage.KindCase.CANCEL).size() == 5);
      assertThat(slow.receivedOf(NodeMessage.KindCase.CANCEL)).allSatisfy(
          m -> assertThat(m.getCancel().getReason()).isEqualTo(Cancel.Reason.ENDED_ELSEWHERE));
      lag.countDown();
      try (TestWorker late = TestWorker.connect(c.node(3).workerAddress(), "late", 16, quick, TestWorker.type("hs", 1))) {
        awaitRegistered(late);
        WorkflowHandle<String> after = c.node(1).start("hs", 1, "after", String.class);
        assertThat(after.result(WAIT)).isEqualTo("after");
        await("node 3's worker ran the new workflow", () -> executes(late) >= 1);
        assertThat(late.receivedOf(NodeMessage.KindCase.EXECUTE)).extracting(m -> m.getExecute().getWorkflowId())
            .containsOnly(after.workflowId());
      }
      for (WorkflowHandle<String> h : hs) {
        for (RaftoralNode n : c.nodes) {
          assertThat(n.describe(h.workflowId()).status()).isEqualTo(WorkflowStatus.COMPLETED);
        }
      }
      owner.close();
      slow.close();
    }
  }

  /**
   * OWNER_ONLY: the owner's worker is between two calls (in its own code) when ownership moves.
   * The old owner's node stops the run and must say so (Cancel OWNERSHIP_LOST, as worker.proto
   * documents); the new owner's worker finishes the workflow.
   */
  @Test
  void anOwnerOnlyRunWhoseNodeLosesOwnershipBetweenCallsIsCancelledOnItsWorker() throws Exception {
    CountDownLatch between = new CountDownLatch(1);
    CountDownLatch never = new CountDownLatch(1);
    io.raftoral.proto.worker.WorkflowTypeSpec type = io.raftoral.proto.worker.WorkflowTypeSpec.newBuilder().setName("oo")
        .setVersion(1).setMode(io.raftoral.proto.worker.ExecutionMode.OWNER_ONLY).build();
    try (TestCluster c = TestCluster.start(3, null, (id, b) -> b.workerAddress("127.0.0.1:0"))) {
      c.makeOwner(1);
      List<TestWorker> workers = new ArrayList<>();
      for (RaftoralNode n : c.nodes) {
        long node = n.nodeId();
        workers.add(TestWorker.connect(n.workerAddress(), "w" + node, 8, (ctx, in) -> {
          String a = ctx.compute("a", () -> json("a@" + node));
          if (node == 1) {
            between.countDown();
            never.await(); // in the worker's own code, between two calls
          }
          return ctx.checkpoint("b", a);
        }, type));
      }
      for (TestWorker w : workers) {
        awaitRegistered(w);
      }
      WorkflowHandle<String> h = c.node(1).start("oo", 1, "x", String.class);
      assertThat(between.await(30, TimeUnit.SECONDS)).isTrue();
      WorkerHostTest.waitForHistory(c.node(2), h.workflowId(), 1);
      c.makeOwner(2);
      assertThat(c.node(2).handle(h.workflowId(), String.class).result(WAIT)).isEqualTo("a@1");
      TestWorker old = workers.getFirst();
      await("node 1's worker was told its run is over", () -> !old.receivedOf(NodeMessage.KindCase.CANCEL).isEmpty());
      assertThat(old.receivedOf(NodeMessage.KindCase.CANCEL).getFirst().getCancel().getReason())
          .isEqualTo(Cancel.Reason.OWNERSHIP_LOST);
      never.countDown();
      workers.forEach(TestWorker::close);
    }
  }

  /**
   * A worker whose reader hung but that keeps sending (heartbeats, as a library's separate thread
   * does): the node's answers pile up; past max_queued_messages it is cut off and its run goes to
   * another worker.
   */
  @Test
  void aWorkerThatStopsReadingButKeepsSendingIsCutOffAndItsRunMoves() throws Exception {
    try (TestCluster c = oneNode(null); NonReadingWorker stuck = new NonReadingWorker(c.node(1).workerAddress(), 2)) {
      stuck.send(WorkerMessage.newBuilder().setRegister(Register.newBuilder().setWorkerId("stuck").addProtocolVersions(1)
          .addTypes(TestWorker.type("read", 1)).setMaxConcurrentRuns(4)).build());
      await("registered", () -> !stuck.received.isEmpty());
      WorkflowHandle<String> h = c.node(1).start("read", 1, "x", String.class);
      await("the stuck worker got the run", () -> stuck.received.size() == 2);
      WorkerMessage beat = WorkerMessage.newBuilder().setHeartbeat(Heartbeat.getDefaultInstance()).build();
      // Heartbeats all along, so that the watchdog never drops it: only the unread queue can.
      Thread beating = Thread.ofVirtual().start(() -> {
        while (!Thread.currentThread().isInterrupted()) {
          stuck.send(beat);
          try {
            Thread.sleep(100);
          } catch (InterruptedException e) {
            return;
          }
        }
      });
      for (int i = 0; i < 400_000; i++) {
        stuck.send(beat);
      }
      try (TestWorker good = TestWorker.connect(c.node(1).workerAddress(), "good", 4, (ctx, in) -> ctx.checkpoint("k", in),
          TestWorker.type("read", 1))) {
        assertThat(h.result(WAIT)).isEqualTo("x");
        assertThat(executes(good)).isEqualTo(1);
      } finally {
        beating.interrupt();
      }
    }
  }
}
