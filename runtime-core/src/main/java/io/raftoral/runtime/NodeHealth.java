package io.raftoral.runtime;

import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches what a node needs to serve (SPEC §7, never apply silently nothing): disks it can
 * write, and replicas that apply their entries. Once a look finds a fault, {@link
 * Reaction#faulted} runs (once); once the fault has cleared for {@link #CLEAR_LOOKS} looks in a
 * row, {@link Reaction#recovered} runs. A replica that stopped applying is reopened only by a
 * restart: when recovering restarts the node ({@link Reaction#restarts}), usable disks are
 * enough to recover (a write that failed on a full disk halts its replica, and the disk being
 * freed must bring the node back). One daemon thread, one look per interval.
 */
final class NodeHealth implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(NodeHealth.class);
  /** Consecutive clean looks before a fault counts as cleared (a disk hovering at its limit must not flap). */
  static final int CLEAR_LOOKS = 3;
  /**
   * Below this much free space the disk counts as full: room for what Ratis preallocates for a
   * log segment and for a state store's flush, with a margin, so that the node stops before a
   * write fails rather than after.
   */
  static final long MIN_FREE_BYTES = 64L << 20;

  /** What the node does when its health changes. Called on the watch's thread. */
  interface Reaction {
    void faulted(String why);

    /**
     * The fault has cleared; returns whether the node serves again now (false: it is being
     * replaced, and stays in its fault until it closes).
     */
    boolean recovered(String was);

    /** Whether {@link #recovered} restarts the node, which reopens every replica. */
    boolean restarts();
  }

  private final long nodeId;
  private final List<DiskWatch> disks;
  private final Supplier<String> replicaFault;
  private final Duration interval;
  private final Reaction reaction;
  private volatile String fault;
  private volatile Thread thread;
  private volatile boolean closed;

  /**
   * @param replicaFault null when every hosted replica applies its entries, else what is wrong
   */
  NodeHealth(long nodeId, List<DiskWatch> disks, Supplier<String> replicaFault, Duration interval, Reaction reaction) {
    this.nodeId = nodeId;
    this.disks = List.copyOf(disks);
    this.replicaFault = replicaFault;
    this.interval = interval;
    this.reaction = reaction;
  }

  void start() {
    thread = Thread.ofPlatform().daemon().name("raftoral-health-" + nodeId).start(this::loop);
  }

  /** Null while the node is healthy, else the fault it is in (until it has recovered). */
  String fault() {
    return fault;
  }

  /** One look at the disks: the first problem found, or null. */
  private String diskProblem() {
    for (DiskWatch disk : disks) {
      String problem = disk.check();
      if (problem != null) {
        return problem;
      }
    }
    return null;
  }

  private void loop() {
    int clean = 0;
    while (!closed) {
      String problem;
      boolean clear;
      try {
        String disk = diskProblem();
        String replica = disk == null ? replicaFault.get() : null;
        problem = disk != null ? disk : replica;
        // The restart that recovery brings reopens a halted replica: only the disks must be usable.
        clear = disk == null && (replica == null || reaction.restarts());
      } catch (RuntimeException e) {
        problem = "health check failed: " + e;
        clear = false;
      }
      try {
        if (fault == null && problem != null) {
          clean = 0;
          fault = problem;
          reaction.faulted(problem);
        } else if (!clear) {
          clean = 0;
        } else if (fault != null && ++clean >= CLEAR_LOOKS) {
          clean = 0;
          if (reaction.recovered(fault)) {
            fault = null;
          } else {
            return; // replaced: this watch's node closes
          }
        }
      } catch (RuntimeException e) {
        LOG.warn("node {}: reacting to a health change failed", nodeId, e);
      }
      try {
        Thread.sleep(interval);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    Thread t = thread;
    if (t != null) {
      t.interrupt();
    }
  }
}
