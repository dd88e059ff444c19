package io.raftoral.node;

import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.runtime.NodeRuntime;
import io.raftoral.worker.WorkerHost;
import io.raftoral.runtime.Payloads;
import io.raftoral.workflow.WorkflowRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A started node and what keeps it running (docs/ARCHITECTURE.md, "Groups and membership" and
 * "Disk faults"): its current runtime, which it replaces by a fresh one when the runtime's disk
 * fault cleared (the same node, restarted on its data directory) or when the cluster removed
 * the node (a new node, rejoined), its API server, which follows the runtime, and its data
 * directory lock. Thread-safe.
 */
public final class RunningNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RunningNode.class);
  // Restarts on the data directory after a fault, 2 s apart, before the node rejoins as a new one.
  private static final int RESTART_ATTEMPTS = 5;
  // A node restarted after faults this often within the window stops instead (the fault persists).
  private static final int MAX_RESTARTS_IN_WINDOW = 3;
  private static final Duration RESTART_WINDOW = Duration.ofMinutes(10);
  private static final long RETRY_MILLIS = 2000;

  private final Launch launch;
  private final ApiServer api;
  private final HttpEndpoint http;
  private final WorkerHost workers;
  private final DataDirectoryLock lock;
  private final CompletableFuture<Void> stopped = new CompletableFuture<>();
  private final Object lifecycle = new Object();
  // When this node restarted after faults (nanos), within the window.
  private final ArrayDeque<Long> faultRestarts = new ArrayDeque<>();
  // Replaced when the node restarts after a fault or rejoins its cluster as a new node.
  private volatile NodeRuntime runtime;
  private volatile MembershipWatch watch;
  private volatile boolean closing;
  // Why the node stopped itself (it was removed, or its fault persists); null for a plain close.
  private volatile RaftoralException failure;

  private RunningNode(Launch launch, NodeRuntime runtime, ApiServer api, HttpEndpoint http, WorkerHost workers,
      DataDirectoryLock lock) {
    this.launch = launch;
    this.runtime = runtime;
    this.api = api;
    this.http = http;
    this.workers = workers;
    this.lock = lock;
  }

  /** Takes over {@code runtime} (started) and watches it; {@code restarted} for a node that recovered. */
  static RunningNode watch(Launch launch, NodeRuntime runtime, ApiServer api, HttpEndpoint http, WorkerHost workers,
      DataDirectoryLock lock, boolean restarted) {
    RunningNode node = new RunningNode(launch, runtime, api, http, workers, lock);
    node.watch(runtime, restarted);
    return node;
  }

  /** The node's current runtime (a new one after a restart or a rejoin). */
  public NodeRuntime runtime() {
    return runtime;
  }

  public WorkflowRegistry registry() {
    return launch.registry();
  }

  public Payloads payloads() {
    return launch.payloads();
  }

  /** The address workers connect to, or null when this node serves none. */
  public String workerAddress() {
    return workers == null ? null : workers.address();
  }

  /** The address of the node's HTTP port (console, metrics, health), or null when it serves none. */
  public String httpAddress() {
    return http == null ? null : http.address();
  }

  /** The node's meters (kept across its runtime's restarts). */
  public io.micrometer.core.instrument.MeterRegistry meters() {
    return launch.metrics().registry();
  }

  /** The address the client API is served on, or null when this node serves none. */
  public String apiAddress() {
    return api == null ? null : api.address();
  }

  /**
   * Completes when the node stops: normally after {@link #close}, exceptionally when it stopped
   * itself (removed and not rejoining, a restart the cluster refused, a fault that persists).
   */
  public CompletableFuture<Void> stopped() {
    return stopped;
  }

  /** Stops serving, hands off the leadership of every group this node leads, and stops the node. */
  @Override
  public void close() {
    MembershipWatch w;
    synchronized (lifecycle) {
      closing = true;
      w = watch;
    }
    try {
      if (w != null) {
        w.stop();
      }
      if (api != null) {
        api.close();
      }
      if (http != null) {
        http.close();
      }
      runtime.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      // After the runtime: runs waiting for a worker then see the node stopping, not their host gone.
      if (workers != null) {
        workers.close();
      }
      if (lock != null) {
        lock.close();
      }
      launch.home().deleteIfTemporary();
      launch.tracing().close(); // flushes the spans not yet exported
      // AFTER the node is down: a host that exits when stopped() completes must not cut its
      // close short (a snapshot being written, the data directory lock).
      RaftoralException why = failure;
      if (why != null) {
        stopped.completeExceptionally(why);
      } else {
        stopped.complete(null);
      }
    }
  }

  private void fail(RaftoralException why) {
    failure = why;
    close(); // completes stopped() with the failure, once the node is down (a host may exit then)
  }

  private void watch(NodeRuntime r, boolean restarted) {
    synchronized (lifecycle) {
      if (!closing) {
        watch = MembershipWatch.start(r, launch, restarted, this::removed, this::refused);
        r.onRecovery(() -> Thread.ofPlatform().name("raftoral-restart-" + r.nodeId()).start(() -> restartAfterFault(r)));
      }
    }
  }

  /**
   * Makes {@code next} (started already) the node's runtime, served by its API server, and
   * watches it; closes it instead when the node is closing. Returns whether it took over.
   */
  private boolean takeOver(NodeRuntime next, boolean restarted) throws IOException {
    synchronized (lifecycle) {
      if (closing) {
        next.close();
        return false;
      }
      runtime = next;
      if (api != null) {
        api.serve(next);
      }
    }
    watch(next, restarted);
    return true;
  }

  /**
   * The disk fault of {@code r} has cleared (docs/ARCHITECTURE.md, "Disk faults"): the node starts
   * again on its data directory as the same node, so that a Raft log that failed a write (Ratis
   * never writes to it again) is opened afresh and the replicas replay what they missed; the node
   * keeps answering UNAVAILABLE meanwhile. When its data directory cannot be opened again (a full
   * disk can leave Ratis's term-and-vote file empty, and a voter must never forget its vote),
   * it rejoins the cluster as a new node, as a removed node does.
   */
  private void restartAfterFault(NodeRuntime r) {
    synchronized (lifecycle) {
      if (closing || r != runtime) {
        return;
      }
    }
    long now = System.nanoTime();
    synchronized (faultRestarts) {
      faultRestarts.removeIf(at -> now - at > RESTART_WINDOW.toNanos());
      faultRestarts.add(now);
      if (faultRestarts.size() > MAX_RESTARTS_IN_WINDOW) {
        // The same fault comes back however often it restarts (not a disk that filled up once,
        // e.g. an entry a replica cannot apply): stop and say so instead of looping.
        String why = "node " + r.nodeId() + " stopped: it restarted " + MAX_RESTARTS_IN_WINDOW + " times within "
            + RESTART_WINDOW.toMinutes() + " minutes after faults and the fault came back: " + r.notServing();
        LOG.error(why);
        fail(new RaftoralException(why));
        return;
      }
    }
    LOG.warn("node {}: restarting on its data directory after the fault", r.nodeId());
    try {
      r.close();
    } catch (IOException | RuntimeException e) {
      LOG.warn("node {}: closing the faulted runtime failed", r.nodeId(), e);
    }
    for (int attempt = 1; !closing; attempt++) {
      try {
        NodeRuntime next = launch.newRuntime(r.nodeId(), Map.of(r.nodeId(), r.raftAddress()), r.incarnation());
        try {
          next.start(NodeRuntime.Entry.RECOVER);
        } catch (IOException | RuntimeException e) {
          next.close();
          throw e;
        }
        if (takeOver(next, true)) {
          LOG.warn("node {}: restarted after the fault; it serves again", next.nodeId());
        }
        return;
      } catch (IOException | RuntimeException e) {
        if (closing) {
          return;
        }
        if (attempt >= RESTART_ATTEMPTS) {
          removed(r, "node " + r.nodeId() + " cannot open its data directory again after the fault (" + e.getMessage() + ")");
          return;
        }
        LOG.warn("node {}: restarting after the fault failed ({}); trying again", r.nodeId(), e.getMessage());
        if (!pause()) {
          return;
        }
      }
    }
  }

  /** A restart the cluster refused for another reason than a removal (e.g. a raft address it records otherwise). */
  private void refused(NodeRuntime r, RaftoralException why) {
    if (r == runtime && !closing) {
      LOG.error("node {}: stopping: {}", r.nodeId(), why.getMessage());
      fail(why);
    }
  }

  /**
   * The cluster removed the node {@code r} runs: it says so (log, health, every client call),
   * then rejoins as a new node, or stops when it must not or cannot.
   */
  private void removed(NodeRuntime r, String whatHappened) {
    boolean rejoin = launch.options().rejoinAfterRemoval();
    List<String> seeds = MembershipWatch.peers(r, launch);
    String message = whatHappened + (rejoin && !seeds.isEmpty()
        ? ". It rejoins the cluster by itself as a new node (retry shortly)"
        : ". " + NodeRuntime.JOIN_ADVICE + (rejoin ? "; it cannot rejoin by itself: it knows no other member's api address" : ""));
    synchronized (lifecycle) {
      if (closing || r != runtime) {
        return;
      }
      r.markRemoved(message);
    }
    LOG.error("node {}: {}", r.nodeId(), message);
    if (!rejoin || seeds.isEmpty()) {
      fail(new Errors.NodeRemovedException(message));
      return;
    }
    try {
      r.close(); // frees the raft address for the new node; calls keep failing with the message
    } catch (IOException | RuntimeException e) {
      LOG.warn("node {}: closing the removed runtime failed", r.nodeId(), e);
    }
    while (!closing) {
      try {
        takeOver(launch.rejoin(r, seeds), false);
        return;
      } catch (Errors.NodeRemovedException | Errors.InvalidArgumentException refusedJoin) {
        LOG.error("node {}: stopping: the cluster refused it as a new node: {}", r.nodeId(), refusedJoin.getMessage());
        fail(new Errors.NodeRemovedException(message + "; rejoining failed: " + refusedJoin.getMessage()));
        return;
      } catch (IOException | RuntimeException e) {
        if (closing) {
          return;
        }
        LOG.warn("node {}: rejoining cluster {} failed ({}); trying again", r.nodeId(), launch.clusterId(), e.getMessage());
        if (!pause()) {
          return;
        }
      }
    }
  }

  /** Waits before the next attempt; false when interrupted (the node is closing). */
  private static boolean pause() {
    try {
      Thread.sleep(RETRY_MILLIS);
      return true;
    } catch (InterruptedException interrupted) {
      return false;
    }
  }
}
