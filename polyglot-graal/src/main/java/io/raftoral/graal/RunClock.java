package io.raftoral.graal;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * The clock of the turn limit for one run: the CPU time of the thread that runs the workflow's
 * code, so that code that sleeps, or waits for a CPU on a busy machine, does not use up its
 * limit; only code that computes does. Where the JVM cannot tell a thread's CPU time (a virtual
 * thread: an embedder calling the definitions directly), the wall clock.
 */
final class RunClock {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private final long threadId;
  private final boolean cpu;

  RunClock(Thread thread) {
    this.threadId = thread.threadId();
    this.cpu = !thread.isVirtual() && THREADS.isThreadCpuTimeSupported() && THREADS.isThreadCpuTimeEnabled();
  }

  /** Nanoseconds on this run's clock; never 0 (callers keep 0 for "not running"). */
  long now() {
    long t = cpu ? THREADS.getThreadCpuTime(threadId) : System.nanoTime();
    return t <= 0 ? 1 : t; // -1: the thread has ended; no further progress to count
  }
}
