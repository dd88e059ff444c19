package io.raftoral.bench;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.runtime.NodeInspector;
import io.raftoral.workflow.WorkflowDefinition;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Durable sleep at scale (issue 28): N workflows on an embedded cluster each sleep until a
 * wake-up time spread over a window, then record how late they woke. While all of them sleep
 * it takes the live heap (after a full GC; the whole JVM, every node's replica of every
 * workflow), the JVM's live threads and the nodes' local runs, which must be 0: a sleeper holds
 * no thread. Lateness is the owner's clock when the step after the sleep ran, minus the
 * committed wake-up time.
 */
@Command(name = "sleepers", mixinStandardHelpOptions = true, sortOptions = false,
    description = "N sleeping workflows: heap and threads while they sleep, wake-up lateness.")
public final class SleepersBench implements Callable<Integer> {
  /** Sleeps until the epoch millisecond it gets, then returns how many milliseconds late the step after it ran. */
  static final WorkflowDefinition<Long, Long> SLEEPER = WorkflowDefinition.of("sleeper", 1, Long.class, Long.class, (ctx, wakeAt) -> {
    ctx.sleepUntil(Instant.ofEpochMilli(wakeAt));
    return ctx.checkpointCompute("late", Long.class, () -> System.currentTimeMillis() - wakeAt);
  });

  @Option(names = "--workflows", defaultValue = "100000", description = "Sleeping workflows (default ${DEFAULT-VALUE}).")
  int workflows;

  @Option(names = "--nodes", defaultValue = "3", description = "Embedded nodes (default ${DEFAULT-VALUE}).")
  int nodes;

  @Option(names = "--sleep-seconds", defaultValue = "180",
      description = "The first wake-up, counted from the first start: more than the starts take (default ${DEFAULT-VALUE}).")
  int sleepSeconds;

  @Option(names = "--spread-seconds", defaultValue = "60", description = "Wake-ups spread evenly over this window (default ${DEFAULT-VALUE}).")
  int spreadSeconds;

  @Option(names = "--starters", defaultValue = "128", description = "Concurrent starts (default ${DEFAULT-VALUE}).")
  int starters;

  public static void main(String[] args) {
    System.exit(new CommandLine(new SleepersBench()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    if (workflows < 1 || nodes < 1 || sleepSeconds < 1 || spreadSeconds < 0 || starters < 1) {
      throw new CommandLine.ParameterException(new CommandLine(this), "every option must be positive (--spread-seconds may be 0)");
    }
    Path root = Files.createTempDirectory("raftoral-sleepers-");
    try (LocalCluster cluster = LocalCluster.start(nodes, root, (id, b) -> b.register(SLEEPER))) {
      RaftoralNode first = cluster.nodes().getFirst();
      // One workflow through the whole path first (classes loaded, groups warm), not counted.
      first.start("sleeper", 1, System.currentTimeMillis(), Long.class, "warm-up").result(Duration.ofSeconds(60));
      long heapBefore = liveHeap();
      int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();

      long t0 = System.currentTimeMillis();
      long firstWakeUp = t0 + sleepSeconds * 1000L;
      Random random = new Random(1);
      long[] wakeAt = new long[workflows];
      for (int i = 0; i < workflows; i++) {
        wakeAt[i] = firstWakeUp + (spreadSeconds == 0 ? 0 : (long) (random.nextDouble() * spreadSeconds * 1000));
      }
      List<WorkflowHandle<Long>> handles = new ArrayList<>(workflows);
      for (int i = 0; i < workflows; i++) {
        handles.add(null);
      }
      AtomicInteger next = new AtomicInteger();
      long startNanos = System.nanoTime();
      try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
        List<Future<?>> done = new ArrayList<>();
        for (int s = 0; s < starters; s++) {
          int starter = s;
          done.add(pool.submit(() -> {
            RaftoralNode via = cluster.nodes().get(starter % nodes);
            for (int i; (i = next.getAndIncrement()) < workflows; ) {
              handles.set(i, via.start("sleeper", 1, wakeAt[i], Long.class, "sleeper-" + i));
            }
            return null;
          }));
        }
        for (Future<?> f : done) {
          f.get();
        }
      }
      double startSeconds = (System.nanoTime() - startNanos) / 1e9;
      if (System.currentTimeMillis() >= firstWakeUp) {
        System.err.println("the starts took longer than --sleep-seconds: some woke before the measure; give more");
      }
      // Every member's run reaches the sleep and ends: wait until none runs (or the first wake-up comes).
      while (localRuns(cluster).running() > 0 && System.currentTimeMillis() < firstWakeUp - 5_000) {
        Thread.sleep(200);
      }
      NodeInspector.LocalRuns whileSleeping = localRuns(cluster);
      long heapSleeping = liveHeap();
      int threadsSleeping = ManagementFactory.getThreadMXBean().getThreadCount();

      Histogram late = new Histogram(3_600_000L, 3);
      long negative = 0;
      for (WorkflowHandle<Long> h : handles) {
        long ms = h.result(Duration.ofSeconds(sleepSeconds + spreadSeconds + 600L));
        if (ms < 0) {
          negative++; // woke before its time: must never happen
        }
        late.recordValue(Math.max(0, ms));
      }
      System.out.println("| workflows | nodes | start rate /s | runs while sleeping | sleepers (all nodes) | live heap before -> sleeping"
          + " (MB) | bytes per sleeping workflow (all replicas) | threads before -> sleeping | late p50 / p99 / max (ms) | woke early |");
      System.out.println("|---|---|---|---|---|---|---|---|---|---|");
      System.out.printf("| %,d | %d | %,.0f | %d | %,d | %,.0f -> %,.0f | %,.0f | %d -> %d | %d / %d / %d | %d |%n",
          workflows, nodes, workflows / startSeconds, whileSleeping.running(), whileSleeping.sleeping(),
          heapBefore / 1e6, heapSleeping / 1e6, (heapSleeping - heapBefore) / (double) workflows, threadsBefore, threadsSleeping,
          late.getValueAtPercentile(50), late.getValueAtPercentile(99), late.getMaxValue(), negative);
      return negative == 0 && whileSleeping.running() == 0 ? 0 : 1;
    } finally {
      deleteQuietly(root);
    }
  }

  /** Local runs and sleepers summed over every node's replicas. */
  private NodeInspector.LocalRuns localRuns(LocalCluster cluster) {
    int running = 0;
    int sleeping = 0;
    for (RaftoralNode n : cluster.nodes()) {
      for (String group : n.inspector().executionGroups()) {
        try {
          NodeInspector.LocalRuns r = n.inspector().localRuns(group);
          running += r.running();
          sleeping += r.sleeping();
        } catch (RuntimeException notHostedHere) {
          // a group this node is not a member of
        }
      }
    }
    return new NodeInspector.LocalRuns(running, sleeping);
  }

  private static long liveHeap() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(200);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static void deleteQuietly(Path root) {
    try {
      io.raftoral.storage.Directories.deleteRecursively(root);
    } catch (IOException e) {
      System.err.println("cannot delete " + root + ": " + e.getMessage());
    }
  }
}
