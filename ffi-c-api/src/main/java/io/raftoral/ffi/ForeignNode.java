package io.raftoral.ffi;

import io.raftoral.api.RaftoralNode;
import io.raftoral.common.Errors;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.proto.client.ManagementRole;
import io.raftoral.proto.client.NodeInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A node created through the C ABI: its builder until started, then the node and the workflows C
 * registered.
 *
 * <p>{@link #start} returns once the node is part of a cluster with a quorum, or fails with a
 * typed timeout after {@code start_timeout_ms}; a {@link #close} during a start interrupts it.
 * {@link #close} stops the node, waits up to {@code close_grace_ms} for workflow callbacks in
 * flight, and finalizes each registration only once none of its callbacks runs any more.
 */
final class ForeignNode {
  static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(60);
  static final Duration DEFAULT_CLOSE_GRACE = Duration.ofSeconds(10);
  private static final long QUORUM_POLL_MILLIS = 50;

  // Interrupts a start at its deadline; one daemon thread for every node of the process.
  private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().daemon().name("raftoral-start-watchdog").factory());

  private final Duration startTimeout;
  private final Duration closeGrace;
  private final Object lock = new Object(); // guards the fields below; never held while starting or stopping
  private RaftoralNode.Builder builder;
  private volatile RaftoralNode node;
  private final List<ForeignWorkflow> workflows = new ArrayList<>();
  private Thread starting; // the thread inside start(), while it is there
  private boolean startInterrupted; // by close() or the watchdog, not by anyone else
  private String notStarted; // why a failed start left no node, for the calls that follow
  private boolean closed;

  // Longer waits are "forever": nanoTime deadlines must not overflow.
  private static final Duration FOREVER = Duration.ofNanos(Long.MAX_VALUE >> 2);

  ForeignNode(RaftoralNode.Builder builder, Duration startTimeout, Duration closeGrace) {
    this.builder = builder;
    this.startTimeout = startTimeout.compareTo(FOREVER) > 0 ? FOREVER : startTimeout;
    this.closeGrace = closeGrace.compareTo(FOREVER) > 0 ? FOREVER : closeGrace;
  }

  void register(ForeignWorkflow workflow) {
    synchronized (lock) {
      checkOpen();
      if (node != null) {
        node.registry().register(workflow.definition());
      } else if (builder != null) {
        builder.register(workflow.definition());
      } else {
        if (notStarted != null) {
          throw new Errors.NodeClosedException(notStarted);
        }
        throw new Errors.InvalidArgumentException("the node is starting: register before raftoral_node_start or after it returned");
      }
      workflows.add(workflow);
    }
  }

  /**
   * Starts the node and waits until it is part of a cluster with a quorum: the management group
   * has a leader, the applied topology lists this node as a voter or listener, and every
   * execution group whose Raft configuration includes this node has a leader.
   */
  void start() {
    RaftoralNode.Builder b;
    synchronized (lock) {
      checkOpen();
      if (node != null || starting != null) {
        throw new Errors.InvalidArgumentException("the node is started already");
      }
      if (builder == null) {
        throw new Errors.NodeClosedException(notStarted);
      }
      b = builder;
      builder = null;
      starting = Thread.currentThread();
    }
    long deadline = System.nanoTime() + startTimeout.toNanos();
    ScheduledFuture<?> watchdog = WATCHDOG.schedule(this::interruptStart, startTimeout.toNanos(), TimeUnit.NANOSECONDS);
    RaftoralNode started = null;
    RuntimeException failure = null;
    boolean inQuorum = false;
    try {
      started = b.start();
      inQuorum = awaitQuorum(started, deadline);
    } catch (RuntimeException e) {
      failure = e;
    } finally {
      watchdog.cancel(false);
    }
    boolean closedMeanwhile;
    boolean timedOut;
    synchronized (lock) {
      closedMeanwhile = closed;
      timedOut = startInterrupted || (failure == null && !inQuorum);
      if (failure == null && inQuorum && !closedMeanwhile) {
        node = started;
        starting = null;
        Thread.interrupted(); // a watchdog that fired just now; nobody else interrupts this thread
        lock.notifyAll();
        return;
      }
    }
    try {
      if (started != null) {
        started.close(); // outside the lock; a close() waiting for this start waits for this too
      }
    } catch (RuntimeException e) {
      if (failure != null) {
        failure.addSuppressed(e); // why the start failed matters more than how its stop did
      }
    } finally {
      synchronized (lock) {
        if (closedMeanwhile || closed) {
          closedMeanwhile = true;
          notStarted = "the node was closed while it started";
        } else if (timedOut) {
          notStarted = "the node did not join a cluster with a quorum within " + startTimeout.toMillis() + " ms (start_timeout_ms):"
              + " are a majority of its members up and reachable? It is stopped; create a new node to try again";
        } else {
          notStarted = "the node did not start: " + failure.getMessage();
        }
        starting = null;
        Thread.interrupted(); // set by close() or the watchdog, which interrupt only while starting != null
        lock.notifyAll();
      }
    }
    if (closedMeanwhile) {
      throw new Errors.NodeClosedException(notStarted);
    }
    if (timedOut) {
      throw new Errors.TimeoutException(notStarted);
    }
    throw failure;
  }

  private void interruptStart() {
    synchronized (lock) {
      if (starting != null) {
        startInterrupted = true;
        starting.interrupt();
      }
    }
  }

  /** Whether the node is part of a cluster with a quorum before the deadline or an interrupt. */
  private static boolean awaitQuorum(RaftoralNode started, long deadline) {
    while (!inQuorum(started.inspector().clusterInfo())) {
      if (System.nanoTime() - deadline >= 0 || Thread.currentThread().isInterrupted()) {
        return false;
      }
      try {
        Thread.sleep(QUORUM_POLL_MILLIS);
      } catch (InterruptedException e) {
        return false;
      }
    }
    return true;
  }

  private static boolean inQuorum(ClusterInfoReply info) {
    if (info.getManagementLeader() == 0) {
      return false;
    }
    boolean admitted = false;
    for (NodeInfo n : info.getNodesList()) {
      if (n.getNodeId() == info.getNodeId()
          && (n.getRole() == ManagementRole.VOTER || n.getRole() == ManagementRole.LISTENER)) {
        admitted = true;
      }
    }
    if (!admitted) {
      return false;
    }
    for (ExecutionGroupInfo g : info.getExecutionGroupsList()) {
      if (g.getRaftMembersList().contains(info.getNodeId()) && g.getLeaderNode() == 0) {
        return false;
      }
    }
    return true;
  }

  /** The running node. */
  RaftoralNode node() {
    RaftoralNode n = node;
    if (n == null) {
      synchronized (lock) {
        throw new Errors.NodeClosedException(closed ? "the node is closed"
            : notStarted != null ? notStarted
            : starting != null ? "the node is starting: wait for raftoral_node_start"
            : "the node is not started: call raftoral_node_start");
      }
    }
    return n;
  }

  /**
   * Stops the node (a start in progress is interrupted first and stops itself), then releases
   * what C gave each workflow type: at once when none of its callbacks runs any more, else
   * after up to {@code closeGrace}; a callback still running then finalizes its registration
   * when it returns, never before.
   *
   * @throws Errors.TimeoutException when callbacks were still running after the grace (the node
   *     is closed all the same)
   */
  void close() {
    RaftoralNode n;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      if (starting != null) {
        startInterrupted = true;
        starting.interrupt();
        while (starting != null) { // the start stops its node itself, then clears this
          try {
            lock.wait();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            break;
          }
        }
      }
      n = node;
      node = null;
      builder = null;
    }
    try {
      if (n != null) {
        n.close();
      }
    } finally {
      long deadline = System.nanoTime() + closeGrace.toNanos();
      List<ForeignWorkflow> toFinalize;
      synchronized (lock) {
        toFinalize = List.copyOf(workflows);
        workflows.clear();
      }
      List<String> stillRunning = new ArrayList<>();
      for (ForeignWorkflow w : toFinalize) {
        int running = w.closeAndFinalize(deadline);
        if (running > 0) {
          stillRunning.add(running + " of " + w.type());
        }
      }
      if (!stillRunning.isEmpty()) {
        throw new Errors.TimeoutException("the node is closed, but workflow callbacks were still running after the close grace of "
            + closeGrace.toMillis() + " ms (" + String.join(", ", stillRunning) + "): each registration's finalizer runs when its "
            + "last callback returns");
      }
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new Errors.NodeClosedException("the node is closed");
    }
  }
}
