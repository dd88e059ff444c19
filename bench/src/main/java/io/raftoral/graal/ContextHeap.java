package io.raftoral.graal;

import io.raftoral.common.WorkflowType;
import io.raftoral.workflow.ThrowingSupplier;
import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.graalvm.polyglot.Engine;

/**
 * {@code bench/run --context-heap [N] [--truffle optimizing]}: the heap one pooled context of a
 * real workflow module costs. Loads bench/js/seq10.mjs ({@link GraalWorkflows}, the pool allowed
 * to keep N idle contexts), runs seq10-js once, takes the used heap after full GCs, then runs N
 * seq10-js at once, each holding its context until all N hold one (their first step waits for the
 * others), so the pool ends with N contexts that have each run the workflow; the used heap after
 * full GCs again, divided by the N - 1 contexts added. In this package for the pool's idle count.
 * The steps run through a minimal in-memory {@link WorkflowContext} (no node, no Raft): this
 * measures the contexts alone.
 */
public final class ContextHeap {
  private ContextHeap() {}

  public static void main(String[] args) throws Exception {
    int n = 100;
    String truffle = "interpreter";
    Path module = Path.of("bench", "js", "seq10.mjs");
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--truffle" -> truffle = args[++i];
        case "--module" -> module = Path.of(args[++i]);
        default -> n = Integer.parseInt(args[i]);
      }
    }
    if (n < 2) {
      throw new IllegalArgumentException("N must be >= 2, got " + n);
    }
    String implementation;
    try (Engine probe = Engine.newBuilder("js").option("engine.WarnInterpreterOnly", "false").build()) {
      implementation = probe.getImplementationName();
    }
    if (truffle.equals("optimizing") == implementation.equals("Interpreted")) {
      throw new IllegalStateException("asked for the " + truffle + " runtime, the engine is " + implementation);
    }
    long base = usedAfterGc();
    try (GraalWorkflows workflows = GraalWorkflows.load(List.of(module), GraalOptions.builder().maxIdleContexts(n).build())) {
      WorkflowDefinition<byte[], byte[]> seq10 = workflows.definitions().getFirst();
      WorkflowType type = seq10.type();
      check(seq10.function().run(new Ctx("warm", type, null), bytes(1)), 1); // the loading context, now warm
      long loaded = usedAfterGc();

      CyclicBarrier allHold = new CyclicBarrier(n);
      AtomicInteger wrong = new AtomicInteger();
      List<Thread> runs = new ArrayList<>();
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        int input = i;
        runs.add(Thread.ofVirtual().start(() -> {
          try {
            check(seq10.function().run(new Ctx("run-" + input, type, allHold), bytes(input)), input);
          } catch (Exception e) {
            wrong.incrementAndGet();
            System.err.println("run " + input + ": " + e);
          }
        }));
      }
      for (Thread t : runs) {
        t.join();
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      int idle = workflows.idleContexts(type);
      if (wrong.get() > 0 || idle != n) {
        throw new IllegalStateException(wrong.get() + " runs failed; " + idle + " idle contexts, expected " + n);
      }
      long held = usedAfterGc();
      System.out.printf(Locale.ROOT, "%s runtime (%s), %s: %d contexts that each ran seq10-js; heap used after GC: %.1f MB before "
              + "loading, %.1f MB with 1 context, %.1f MB with %d: %.1f KB per context; %d runs at once in %.2f s (%.1f ms per new context)%n",
          truffle, implementation, module.getFileName(), n, base / 1e6, loaded / 1e6, held / 1e6, n, (held - loaded) / 1024.0 / (n - 1),
          n, seconds, seconds * 1000 / (n - 1));
    }
    System.out.printf(Locale.ROOT, "after close: %.1f MB%n", usedAfterGc() / 1e6);
  }

  private static byte[] bytes(int n) {
    return Integer.toString(n).getBytes(StandardCharsets.UTF_8);
  }

  private static void check(byte[] result, int input) {
    int got = Integer.parseInt(new String(result, StandardCharsets.UTF_8).strip());
    if (got != input + 55) {
      throw new IllegalStateException("seq10-js(" + input + ") returned " + got);
    }
  }

  private static long usedAfterGc() throws InterruptedException {
    for (int i = 0; i < 4; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** The steps in memory: a compute step runs its function; the first waits until every run holds a context. */
  private static final class Ctx implements WorkflowContext {
    private final String id;
    private final WorkflowType type;
    private final CyclicBarrier allHold;
    private boolean waited;

    Ctx(String id, WorkflowType type, CyclicBarrier allHold) {
      this.id = id;
      this.type = type;
      this.allHold = allHold;
    }

    @Override
    public String workflowId() {
      return id;
    }

    @Override
    public WorkflowType workflowType() {
      return type;
    }

    @Override
    public boolean isOwner() {
      return true;
    }

    @Override
    public boolean isTerminated() {
      return false;
    }

    @Override
    public <T> T checkpoint(String key, T value) {
      return value;
    }

    @Override
    public <T> T checkpoint(String key, T value, Class<T> t) {
      return value;
    }

    @Override
    public byte[] checkpointBytes(String key, byte[] value) {
      return value;
    }

    @Override
    public <T> T checkpointCompute(String key, Class<T> t, ThrowingSupplier<T> fn) {
      throw new UnsupportedOperationException("JavaScript runs call checkpointComputeBytes");
    }

    @Override
    public byte[] checkpointComputeBytes(String key, ThrowingSupplier<byte[]> fn) {
      try {
        if (allHold != null && !waited) {
          waited = true;
          allHold.await(120, TimeUnit.SECONDS);
        }
        return fn.get();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public <T> ReplicatedVar<T> var(String key, Class<T> t, T initial) {
      throw new UnsupportedOperationException("seq10 has no variables");
    }

    @Override
    public void sleep(java.time.Duration duration) {
      throw new UnsupportedOperationException("seq10 does not sleep");
    }

    @Override
    public void sleepUntil(java.time.Instant wakeUp) {
      throw new UnsupportedOperationException("seq10 does not sleep");
    }
  }
}
