package io.raftoral.node;

import io.raftoral.runtime.NodeMetrics;
import java.util.ArrayDeque;
import java.util.List;

/**
 * The console's activity chart: every few seconds, what this node's replicas have applied so
 * far (the execution groups' commit indexes, workflow starts and ends), the last few minutes
 * of it. The chart shows the differences between samples as rates.
 */
final class ActivityHistory implements AutoCloseable {
  static final long INTERVAL_MILLIS = 2_000;
  static final int SAMPLES = 150; // five minutes

  /** Totals at one moment. */
  record Sample(long atMillis, long commitIndexes, long started, long ended) {}

  private final NodeMetrics metrics;
  private final ArrayDeque<Sample> samples = new ArrayDeque<>();
  private final Thread sampler;

  ActivityHistory(NodeMetrics metrics) {
    this.metrics = metrics;
    this.sampler = Thread.ofVirtual().name("raftoral-console-activity").start(this::run);
  }

  private void run() {
    while (!Thread.currentThread().isInterrupted()) {
      sample();
      try {
        Thread.sleep(INTERVAL_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void sample() {
    Sample s = new Sample(System.currentTimeMillis(), metrics.executionCommitIndexes(), metrics.appliedStarts(),
        metrics.appliedEnds());
    synchronized (samples) {
      samples.addLast(s);
      while (samples.size() > SAMPLES) {
        samples.removeFirst();
      }
    }
  }

  /** The samples of the last minutes, oldest first. */
  List<Sample> samples() {
    synchronized (samples) {
      return List.copyOf(samples);
    }
  }

  @Override
  public void close() {
    sampler.interrupt();
  }
}
