package io.raftoral.faults;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.ErrorCode;
import io.raftoral.common.ListQuery;
import io.raftoral.common.RaftoralException;
import io.raftoral.common.WorkflowInfo;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The clients: {@code threads} loops that start workflows on random nodes and now and then await
 * one, terminate one or list, recording every call and what it answered in the {@link History}.
 * Each workflow runs the conformance interpreter: {@code steps} compute checkpoints (each logs
 * its run to the side-effect log, sleeps, and returns the label of the node that ran it), each
 * followed by a plain checkpoint of the step's number. A call that times out or finds its node
 * unavailable is recorded as {@code unknown}: it may have been committed all the same.
 */
final class Workload {
  static final String TYPE = "conformance";
  static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);

  private final FaultCluster cluster;
  private final History history;
  private final long seed;
  private final int threads;
  private final AtomicInteger nextId = new AtomicInteger();
  // Every id whose start was acknowledged or may have been committed (timed out, unavailable).
  private final List<String> mayExist = new ArrayList<>();
  private final List<Thread> running = new ArrayList<>();
  private volatile boolean stopping;

  Workload(FaultCluster cluster, History history, long seed, int threads) {
    this.cluster = cluster;
    this.history = history;
    this.seed = seed;
    this.threads = threads;
  }

  /** The input of a workflow of {@code steps} steps, each computing for {@code sleepMillis}. */
  static byte[] program(int steps, int sleepMillis) {
    ObjectNode compute = History.JSON.createObjectNode().put("op", "compute").put("key", "c").put("sleep_ms", sleepMillis);
    compute.set("value", History.JSON.createObjectNode().put("$", "node"));
    ObjectNode checkpoint = History.JSON.createObjectNode().put("op", "checkpoint").put("key", "p");
    checkpoint.set("value", History.JSON.createObjectNode().put("$", "i"));
    ObjectNode loop = History.JSON.createObjectNode().put("op", "loop").put("times", steps);
    loop.putArray("body").add(compute).add(checkpoint);
    ObjectNode input = History.JSON.createObjectNode();
    input.putArray("program").add(loop);
    return input.toString().getBytes(StandardCharsets.UTF_8);
  }

  void start() {
    for (int k = 0; k < threads; k++) {
      Random random = new Random(seed * 31 + k);
      running.add(Thread.ofPlatform().name("faults-client-" + k).start(() -> loop(random)));
    }
  }

  void stop() throws InterruptedException {
    stopping = true;
    for (Thread t : running) {
      t.join();
    }
  }

  /** The ids of every start the cluster acknowledged or may have committed. */
  synchronized List<String> mayExist() {
    return List.copyOf(mayExist);
  }

  private void loop(Random random) {
    while (!stopping) {
      String id = "w" + nextId.incrementAndGet();
      int steps = 3 + random.nextInt(4);
      int sleep = 50 + random.nextInt(250);
      boolean started = start(random, id, steps, sleep);
      double dice = random.nextDouble();
      if (started && dice < 0.3) {
        await(random, id);
      } else if (dice < 0.4) {
        terminateOne(random);
      } else if (dice < 0.45) {
        list(random);
      }
      pause(100 + random.nextInt(200));
    }
  }

  private boolean start(Random random, String id, int steps, int sleep) {
    int node = 1 + random.nextInt(cluster.size());
    ObjectNode e = history.event("start").put("wf", id).put("node", node).put("steps", steps);
    try {
      cluster.client(node, CALL_TIMEOUT).start(TYPE, 1, program(steps, sleep), id);
      e.put("outcome", "ok");
      synchronized (this) {
        mayExist.add(id);
      }
      return true;
    } catch (RaftoralException ex) {
      boolean uncertain = uncertain(ex);
      e.put("outcome", uncertain ? "unknown" : "fail").put("error", ex.code().name());
      if (uncertain) {
        synchronized (this) {
          mayExist.add(id); // may exist: the final check looks for it
        }
      }
      return false;
    } finally {
      history.add(e);
    }
  }

  private void await(Random random, String id) {
    int node = 1 + random.nextInt(cluster.size());
    ObjectNode e = history.event("await").put("wf", id).put("node", node);
    try {
      RaftoralClient.Outcome outcome = cluster.client(node, CALL_TIMEOUT).await(id, Duration.ofSeconds(10));
      record(e, outcome);
    } catch (RaftoralException ex) {
      e.put("outcome", uncertain(ex) ? "unknown" : "fail").put("error", ex.code().name());
    }
    history.add(e);
  }

  private void terminateOne(Random random) {
    String id;
    synchronized (this) {
      if (mayExist.isEmpty()) {
        return;
      }
      id = mayExist.get(random.nextInt(mayExist.size()));
    }
    int node = 1 + random.nextInt(cluster.size());
    ObjectNode e = history.event("terminate").put("wf", id).put("node", node);
    try {
      WorkflowInfo info = cluster.client(node, CALL_TIMEOUT).terminate(id, "fault matrix");
      e.put("outcome", "ok").put("status", info.status().name());
    } catch (RaftoralException ex) {
      e.put("outcome", uncertain(ex) ? "unknown" : "fail").put("error", ex.code().name());
    }
    history.add(e);
  }

  private void list(Random random) {
    int node = 1 + random.nextInt(cluster.size());
    ObjectNode e = history.event("list").put("node", node);
    try {
      e.put("outcome", "ok").put("count", cluster.client(node, CALL_TIMEOUT).list(ListQuery.all()).workflows().size());
    } catch (RaftoralException ex) {
      e.put("outcome", uncertain(ex) ? "unknown" : "fail").put("error", ex.code().name());
    }
    history.add(e);
  }

  /** Puts a final outcome's status and result (COMPLETED only) into {@code e}. */
  static void record(ObjectNode e, RaftoralClient.Outcome outcome) {
    e.put("outcome", "ok").put("status", outcome.info().status().name());
    if (outcome.result().length > 0) {
      try {
        e.set("result", History.JSON.readTree(outcome.result()));
      } catch (java.io.IOException notJson) {
        e.put("result_text", new String(outcome.result(), StandardCharsets.UTF_8));
      }
    }
  }

  /** A call whose effect is unknown: it may have been committed (the client's contract for start). */
  static boolean uncertain(RaftoralException e) {
    return e.code() == ErrorCode.TIMEOUT || e.code() == ErrorCode.UNAVAILABLE || e.code() == ErrorCode.NODE_CLOSED
        || e.code() == ErrorCode.ABORTED || e.code() == ErrorCode.INTERNAL;
  }

  static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The committed compute values of a result, in order (the interpreter's {@code values.c}). */
  static List<String> computeValues(JsonNode result) {
    List<String> values = new ArrayList<>();
    JsonNode c = result.path("values").path("c");
    if (c instanceof ArrayNode a) {
      a.forEach(v -> values.add(v.asText()));
    }
    return values;
  }
}
