package io.raftoral.review;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Every span a node starts ends (a counting span processor; from the break-it review of issue 25: the checked-exception case failed on 611884a). */
class TracingReviewTest {
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final Map<ReadableSpan, String> OPEN = new ConcurrentHashMap<>();
  private static final AtomicInteger STARTED = new AtomicInteger();
  private static final Map<String, AtomicInteger> FAILS_LEFT = new ConcurrentHashMap<>();
  private static final Map<String, CountDownLatch> ENTERED = new ConcurrentHashMap<>();

  private static OpenTelemetrySdk sdk() {
    SpanProcessor counting = new SpanProcessor() {
      @Override
      public void onStart(Context parentContext, ReadWriteSpan span) {
        STARTED.incrementAndGet();
        OPEN.put(span, span.getName());
      }

      @Override
      public boolean isStartRequired() {
        return true;
      }

      @Override
      public void onEnd(ReadableSpan span) {
        OPEN.remove(span);
      }

      @Override
      public boolean isEndRequired() {
        return true;
      }
    };
    return OpenTelemetrySdk.builder().setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(counting).build()).build();
  }

  /**
   * A compute function may throw a checked exception (ThrowingSupplier); its "compute KEY" span
   * must still end. WorkflowRun ends the step span only in catch (RuntimeException | Error), and
   * computeOwnerValue rethrows a checked exception sneakily, so the span stays open forever.
   */
  @Test
  void aComputeThatThrowsACheckedExceptionEndsItsSpan() throws Exception {
    OPEN.clear();
    OpenTelemetrySdk sdk = sdk();
    try (TestCluster cluster = TestCluster.start(1, null, (node, b) -> b.openTelemetry(sdk)
        .register(WorkflowDefinition.of("checked", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a", in);
          String v;
          try {
            v = ctx.checkpointCompute("b", String.class, () -> {
              if (FAILS_LEFT.computeIfAbsent(ctx.workflowId(), k -> new AtomicInteger(1)).getAndDecrement() > 0) {
                throw new java.io.IOException("the remote service is down");
              }
              return in + "!";
            });
          } catch (Exception e) {
            // retried once: the second try succeeds
            v = ctx.checkpointCompute("b", String.class, () -> in + "!");
          }
          return ctx.checkpoint("c", v);
        })))) {
      assertThat(cluster.node(1).start("checked", 1, "x", String.class, "checked-1").result(WAIT)).isEqualTo("x!");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!OPEN.isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertThat(OPEN.values()).as("spans started but never ended").isEmpty();
    } finally {
      sdk.close();
    }
  }

  /** Probed (holds unless a leak shows): many concurrent runs, a compute that throws once and is retried, failing and terminated runs. */
  @Test
  void everyStartedSpanEnds() throws Exception {
    OPEN.clear();
    OpenTelemetrySdk sdk = sdk();
    try (TestCluster cluster = TestCluster.start(3, null, (node, b) -> b.openTelemetry(sdk)
        .register(WorkflowDefinition.of("retry", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a", in);
          String v;
          while (true) {
            try {
              v = ctx.checkpointCompute("b", String.class, () -> {
                if (FAILS_LEFT.computeIfAbsent(ctx.workflowId(), k -> new AtomicInteger(1)).getAndDecrement() > 0) {
                  throw new IllegalStateException("first try fails");
                }
                return in + "!";
              });
              break;
            } catch (IllegalStateException e) {
              // retry
            }
          }
          return ctx.checkpoint("c", v);
        }))
        .register(WorkflowDefinition.of("parallel", 1, String.class, String.class, (ctx, in) -> {
          List<Thread> ts = new ArrayList<>();
          for (int i = 0; i < 4; i++) {
            int k = i;
            ts.add(Thread.ofVirtual().start(() -> ctx.checkpoint("p" + k, in)));
          }
          for (Thread t : ts) {
            t.join();
          }
          return in;
        }))
        .register(WorkflowDefinition.of("fails", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a", in);
          throw new IllegalStateException("no");
        }))
        .register(WorkflowDefinition.of("waits", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a", in);
          ENTERED.get(ctx.workflowId()).countDown();
          while (!ctx.isTerminated()) {
            Thread.sleep(5);
          }
          return in;
        })))) {
      ExecutorService pool = Executors.newFixedThreadPool(16);
      List<Future<?>> all = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        int k = i;
        RaftoralNode n = cluster.node(1 + k % 3);
        all.add(pool.submit(() -> n.start("retry", 1, "r", String.class, "retry-" + k).result(WAIT)));
        all.add(pool.submit(() -> n.start("parallel", 1, "p", String.class, "par-" + k).result(WAIT)));
        all.add(pool.submit(() -> {
          try {
            n.start("fails", 1, "f", String.class, "fails-" + k).result(WAIT);
          } catch (RuntimeException expected) {
            // fails by design
          }
          return null;
        }));
        all.add(pool.submit(() -> {
          String id = "waits-" + k;
          ENTERED.put(id, new CountDownLatch(1));
          WorkflowHandle<String> h = n.start("waits", 1, "w", String.class, id);
          ENTERED.get(id).await(60, TimeUnit.SECONDS);
          n.terminate(id, "enough");
          try {
            h.result(WAIT);
          } catch (RuntimeException expected) {
            // terminated
          }
          return null;
        }));
      }
      for (Future<?> f : all) {
        f.get();
      }
      pool.shutdown();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while (!OPEN.isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertThat(STARTED.get()).isPositive();
      assertThat(OPEN.values()).as("spans started but never ended (of %d started)", STARTED.get()).isEmpty();
    } finally {
      sdk.close();
    }
  }
}
