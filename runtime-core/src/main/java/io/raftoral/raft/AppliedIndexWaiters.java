package io.raftoral.raft;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Futures that complete once a replica has applied up to a log index. {@link #advanced} is called
 * after every move of the applied position (on the apply thread: it only completes futures, and
 * what depends on them runs elsewhere).
 */
final class AppliedIndexWaiters {
  private final LongSupplier appliedIndex;
  private final TreeMap<Long, List<CompletableFuture<Void>>> waiting = new TreeMap<>();

  AppliedIndexWaiters(LongSupplier appliedIndex) {
    this.appliedIndex = appliedIndex;
  }

  /**
   * Completes once the applied index is at least {@code index} (at once when it is already), or
   * fails with a {@link java.util.concurrent.TimeoutException} after {@code limit}.
   */
  CompletableFuture<Void> await(long index, Duration limit) {
    if (appliedIndex.getAsLong() >= index) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    synchronized (waiting) {
      waiting.computeIfAbsent(index, k -> new ArrayList<>()).add(f);
    }
    advanced(); // the position may have moved before the future was registered
    f.orTimeout(limit.toNanos(), TimeUnit.NANOSECONDS).whenComplete((v, e) -> {
      if (e != null) {
        forget(index, f);
      }
    });
    return f;
  }

  private void forget(long index, CompletableFuture<Void> f) {
    synchronized (waiting) {
      List<CompletableFuture<Void>> at = waiting.get(index);
      if (at != null && at.remove(f) && at.isEmpty()) {
        waiting.remove(index);
      }
    }
  }

  /** The applied position moved: completes every future it has reached. */
  void advanced() {
    long applied = appliedIndex.getAsLong();
    List<CompletableFuture<Void>> reached = new ArrayList<>();
    synchronized (waiting) {
      Map<Long, List<CompletableFuture<Void>>> head = waiting.headMap(applied, true);
      head.values().forEach(reached::addAll);
      head.clear();
    }
    reached.forEach(f -> f.complete(null));
  }

  /** How many futures wait (for tests). */
  int waiting() {
    synchronized (waiting) {
      return waiting.values().stream().mapToInt(List::size).sum();
    }
  }
}
