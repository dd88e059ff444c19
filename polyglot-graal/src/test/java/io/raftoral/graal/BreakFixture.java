package io.raftoral.graal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.common.Errors;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A node (or cluster) running the break modules, with host modules that let tests see inside a run. */
final class BreakFixture implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Path BREAK = Path.of("src/test/resources/break");
  /** Long enough for anything that ends; a run still going then is a hang. */
  static final Duration HANG = Duration.ofSeconds(45);

  /** Calls of world.touch (compute-only), by argument. */
  final Map<String, AtomicInteger> touched = new ConcurrentHashMap<>();
  /** probe.mark(workflowId): a run got to a known point. */
  final Map<String, CountDownLatch> marks = new ConcurrentHashMap<>();
  /** probe.record(workflowId, json): what every node's run saw, released once {@link #barrier} nodes recorded. */
  final Map<String, List<String>> records = new ConcurrentHashMap<>();
  final int barrier;
  final GraalWorkflows js;
  final LocalCluster cluster;
  final RaftoralNode node;

  BreakFixture(int nodes, GraalOptions.Builder options, Path... modules) {
    barrier = nodes;
    HostModule world = new HostModule() {
      @Override
      public String name() {
        return "world";
      }

      @Override
      public Map<String, Function> functions() {
        return Map.of("touch", args -> touched.computeIfAbsent(String.valueOf(args.getFirst()), k -> new AtomicInteger()).incrementAndGet());
      }
    };
    HostModule probe = new HostModule() {
      @Override
      public String name() {
        return "probe";
      }

      @Override
      public boolean computeOnly() {
        return false;
      }

      @Override
      public Map<String, Function> functions() {
        return Map.of(
            "mark", args -> {
              latch(String.valueOf(args.getFirst())).countDown();
              return "marked";
            },
            "record", args -> {
              List<String> seen = records.computeIfAbsent(String.valueOf(args.get(0)), k -> new CopyOnWriteArrayList<>());
              seen.add(String.valueOf(args.get(1)));
              synchronized (seen) {
                seen.notifyAll();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (seen.size() < barrier && System.nanoTime() < deadline) {
                  seen.wait(100);
                }
              }
              return seen.size();
            });
      }
    };
    js = GraalWorkflows.load(List.of(modules), options.hostModule(world).hostModule(probe).build());
    cluster = LocalCluster.start(nodes, null, (id, b) -> js.registerOn(b));
    node = cluster.node(1);
  }

  CountDownLatch latch(String workflowId) {
    return marks.computeIfAbsent(workflowId, k -> new CountDownLatch(1));
  }

  io.raftoral.api.WorkflowHandle<byte[]> start(String type, String inputJson) {
    return node.start(type, 1, inputJson.getBytes(StandardCharsets.UTF_8), byte[].class);
  }

  JsonNode run(String type, String inputJson) throws Exception {
    return JSON.readTree(start(type, inputJson).result(HANG));
  }

  JsonNode runCase(String name) throws Exception {
    return run("b-js", "{\"case\":\"" + name + "\"}");
  }

  Errors.WorkflowFailedException failure(String type, String inputJson) {
    try {
      byte[] r = start(type, inputJson).result(HANG);
      throw new AssertionError(type + " " + inputJson + " did not fail: " + new String(r, StandardCharsets.UTF_8));
    } catch (Errors.WorkflowFailedException e) {
      return e;
    }
  }

  Errors.WorkflowFailedException failCase(String name) {
    return failure("b-js", "{\"case\":\"" + name + "\"}");
  }

  /** Waits until {@code key} of the workflow has a committed value (the run got that far). */
  void awaitCheckpoint(String workflowId, String key) throws InterruptedException {
    long deadline = System.nanoTime() + HANG.toNanos();
    while (node.history(workflowId, key).isEmpty()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(workflowId + " never wrote " + key);
      }
      Thread.sleep(20);
    }
  }

  @Override
  public void close() {
    try {
      cluster.close();
    } finally {
      js.close();
    }
  }
}
