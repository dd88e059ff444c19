package io.raftoral.runtime;

import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When the workflows sleeping on this node wake (docs/ARCHITECTURE.md, "Durable sleep"): one
 * timer thread for the node, however many sleep; a sleeper costs one queued task, not a thread.
 * Times are wall-clock epoch milliseconds, as the committed wake-up times are: a wake-up that
 * finds the clock set back since it was scheduled waits again instead of running early.
 */
final class WakeUps implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WakeUps.class);

  private final ScheduledThreadPoolExecutor timer;

  WakeUps(long nodeId) {
    timer = new ScheduledThreadPoolExecutor(1, Thread.ofPlatform().daemon().name("raftoral-wake-ups-" + nodeId).factory());
    timer.setRemoveOnCancelPolicy(true); // a cancelled sleeper leaves the queue at once
  }

  /** A wake-up to come; {@link #cancel} makes it do nothing. */
  static final class WakeUp {
    private volatile boolean cancelled;
    private volatile Future<?> pending;

    void cancel() {
      cancelled = true;
      Future<?> f = pending;
      if (f != null) {
        f.cancel(false);
      }
    }
  }

  /** Runs {@code task} on the timer thread once the wall clock reaches {@code atMillis}: keep it short. */
  WakeUp at(long atMillis, Runnable task) {
    WakeUp w = new WakeUp();
    schedule(w, atMillis, task);
    return w;
  }

  private void schedule(WakeUp w, long atMillis, Runnable task) {
    try {
      w.pending = timer.schedule(() -> {
        if (w.cancelled) {
          return;
        }
        if (System.currentTimeMillis() < atMillis) {
          schedule(w, atMillis, task); // the clock was set back meanwhile
          return;
        }
        try {
          task.run();
        } catch (RuntimeException e) {
          LOG.warn("a wake-up failed", e);
        }
      }, delayMillis(atMillis, System.currentTimeMillis()), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException closing) {
      // The node is closing: its next start schedules the wake-ups again from the committed times.
    }
  }

  /** How long from {@code now} until {@code atMillis}, 0 when past; compared first, so that no time overflows. */
  static long delayMillis(long atMillis, long now) {
    return atMillis <= now ? 0 : atMillis - now; // now >= 0 on any clock this runs on
  }

  /** Tasks queued (for tests and the inspector). */
  int queued() {
    return timer.getQueue().size();
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
