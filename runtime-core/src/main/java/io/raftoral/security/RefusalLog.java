package io.raftoral.security;

import java.util.concurrent.atomic.AtomicLong;

/**
 * At most five log lines a second about refused calls on one port: a client retrying a bad token,
 * or a scan, must not flood the log. A line that is let through says how many were left out.
 */
final class RefusalLog {
  private static final long INTERVAL_NANOS = 200_000_000L;
  private final AtomicLong nextLogNanos = new AtomicLong(System.nanoTime());
  private final AtomicLong unlogged = new AtomicLong();

  /** The refusals left out since the last line, or -1 when this one is left out as well. */
  long admit() {
    long now = System.nanoTime();
    long next = nextLogNanos.get();
    if (now - next < 0 || !nextLogNanos.compareAndSet(next, now + INTERVAL_NANOS)) {
      unlogged.incrementAndGet();
      return -1;
    }
    return unlogged.getAndSet(0);
  }

  /** The suffix of a line let through after {@code skipped} were left out. */
  static String leftOut(long skipped) {
    return skipped > 0 ? " (and " + skipped + " refusals not logged since the last)" : "";
  }
}
