package io.raftoral.graal;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.common.WorkflowType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.graalvm.polyglot.PolyglotException;
import org.junit.jupiter.api.Test;

/**
 * The idle contexts of a node: one bound for all its modules and types, the least recently used
 * closed first, and the memory guard drops them before it stops any run.
 */
class ContextPoolTest {
  static final Path FLOWS = Path.of("src/test/resources/flows");
  static final WorkflowType ORDER = new WorkflowType("order-js", 1);
  static final WorkflowType STEPS = new WorkflowType("steps-js", 1);
  static final WorkflowType SANDBOX = new WorkflowType("sandbox-js", 1);

  static GraalWorkflows load(int maxIdle) {
    return GraalWorkflows.load(List.of(FLOWS.resolve("order.mjs"), FLOWS.resolve("sandbox.mjs")),
        GraalOptions.builder().maxIdleContexts(maxIdle).build());
  }

  @Test
  void aModulesTypesShareItsContexts() {
    try (GraalWorkflows w = load(4)) {
      assertThat(w.moduleOf(ORDER)).isSameAs(w.moduleOf(STEPS));
      assertThat(w.idleContexts(ORDER)).isEqualTo(1); // the one that evaluated the module while loading
      assertThat(w.idleContexts(STEPS)).isEqualTo(1);
      assertThat(w.idleContexts(SANDBOX)).isEqualTo(1);
      assertThat(w.idleContexts()).isEqualTo(2);
    }
  }

  @Test
  void theBoundIsForTheWholeNodeAndTheLeastRecentlyUsedGoesFirst() {
    try (GraalWorkflows w = load(3)) {
      WorkflowModule order = w.moduleOf(ORDER);
      WorkflowModule sandbox = w.moduleOf(SANDBOX);
      ContextPool pool = w.pool();
      List<PooledContext> orders = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        orders.add(pool.take(order)); // the idle one, then two new ones
      }
      PooledContext sandboxContext = pool.take(sandbox);
      assertThat(w.idleContexts()).isZero();

      orders.forEach(c -> pool.give(order, c));
      assertThat(w.idleContexts(ORDER)).isEqualTo(3);
      pool.give(sandbox, sandboxContext); // a fourth idle context: the first order context given back goes
      assertThat(w.idleContexts()).isEqualTo(3);
      assertThat(w.idleContexts(ORDER)).isEqualTo(2);
      assertThat(w.idleContexts(SANDBOX)).isEqualTo(1);
      assertThat(isClosed(orders.getFirst())).isTrue();
      assertThat(isClosed(orders.get(1))).isFalse();
      assertThat(pool.take(order)).isSameAs(orders.get(2)); // the most recently used first
    }
  }

  @Test
  void noIdleContextIsKeptWithABoundOfZero() {
    try (GraalWorkflows w = load(0)) {
      assertThat(w.idleContexts()).isZero();
      PooledContext c = w.pool().take(w.moduleOf(ORDER));
      w.pool().give(w.moduleOf(ORDER), c);
      assertThat(w.idleContexts()).isZero();
      assertThat(isClosed(c)).isTrue();
    }
  }

  @Test
  void theMemoryGuardClosesTheIdleContextsBeforeItStopsARun() {
    try (GraalWorkflows w = load(4)) {
      List<String> stopped = new ArrayList<>();
      GraalWorkflows.Watched run = new GraalWorkflows.Watched() {
        @Override
        public void check(long nowNanos, long limitNanos) {}

        @Override
        public void memoryExceeded(String why) {
          stopped.add(why);
        }

        @Override
        public void stop(String type, String message) {}
      };
      w.watch(run);
      w.heapNearlyFull("Tenured Gen 250 of 256 MiB");
      assertThat(w.idleContexts()).isZero();
      assertThat(stopped).isEmpty();

      w.heapNearlyFull("Tenured Gen 250 of 256 MiB"); // nothing idle left: the running code is stopped
      assertThat(stopped).singleElement().asString().contains("memory guard's limit", "Tenured Gen 250 of 256 MiB");
      w.unwatch(run);
    }
  }

  @Test
  void aBrokenContextIsClosedNotKept() {
    try (GraalWorkflows w = load(4)) {
      PooledContext c = w.pool().take(w.moduleOf(ORDER));
      c.broken = true;
      w.pool().give(w.moduleOf(ORDER), c);
      assertThat(w.idleContexts(ORDER)).isZero();
      assertThat(isClosed(c)).isTrue();
    }
  }

  private static boolean isClosed(PooledContext c) {
    try {
      c.context.eval("js", "1");
      return false;
    } catch (IllegalStateException closed) {
      return true;
    } catch (PolyglotException e) {
      return e.isCancelled(); // closed with close(true)
    }
  }
}
