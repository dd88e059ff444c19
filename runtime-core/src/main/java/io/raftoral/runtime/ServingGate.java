package io.raftoral.runtime;

import io.raftoral.common.Errors;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Whether this node serves client calls now (closed, removed by the cluster, in a fault), and how
 * a wait for a commit ends as a client error, which depends on whether the node closed meanwhile.
 * Every part of the runtime asks this one object.
 */
final class ServingGate {
  private static final Duration FOREVER = Duration.ofNanos(Long.MAX_VALUE >> 2);

  private final long nodeId;
  private final Duration requestTimeout;
  // The node's health check, set once it is built (before any client call).
  private volatile NodeHealth health;
  private volatile boolean closed;
  // Set once the cluster removed this node: every client call then fails with this message.
  private volatile String removedMessage;

  ServingGate(long nodeId, Duration requestTimeout) {
    this.nodeId = nodeId;
    this.requestTimeout = requestTimeout;
  }

  void watch(NodeHealth health) {
    this.health = health;
  }

  boolean closed() {
    return closed;
  }

  void markClosed() {
    closed = true;
  }

  void markRemoved(String message) {
    removedMessage = message;
  }

  String removedMessage() {
    return removedMessage;
  }

  /** The node's fault (a full disk, a replica that stopped applying), or null. */
  String fault() {
    return health.fault();
  }

  /** Why this node does not serve clients now (closed, or in a fault), or null while it does. */
  String notServing() {
    return closed ? "node " + nodeId + " is closed" : fault();
  }

  void checkOpen() {
    String removed = removedMessage;
    if (removed != null) {
      throw new Errors.NodeRemovedException(removed);
    }
    if (closed) {
      throw new Errors.NodeClosedException("node " + nodeId + " is closed");
    }
  }

  /** As {@link #checkOpen}, and refuses workflow calls while the node is in a fault (a full disk). */
  void checkServing() {
    checkOpen();
    String fault = fault();
    if (fault != null) {
      throw new Errors.UnavailableException("node " + nodeId + " does not serve now: " + fault
          + "; ask another node, or fix this one (it resumes by itself)", null);
    }
  }

  /** Waits for a commit up to the request timeout; every way it can fail ends as a client error. */
  <T> T await(CompletableFuture<T> future, String what) {
    try {
      return future.get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.UnavailableException("interrupted during " + what, e);
    } catch (TimeoutException e) {
      throw new Errors.UnavailableException(what + " not committed within " + requestTimeout, e);
    } catch (ExecutionException e) {
      if (closed) {
        throw new Errors.NodeClosedException("node " + nodeId + " closed during " + what);
      }
      throw new Errors.UnavailableException(what + " failed: " + e.getCause(), e.getCause());
    }
  }

  /**
   * A {@link System#nanoTime} deadline {@code timeout} from now. A timeout beyond about 73 years
   * (a C caller's INT64_MAX, a gRPC timeout_millis without a deadline) waits "forever" instead of
   * overflowing.
   */
  static long deadlineAfter(Duration timeout) {
    return System.nanoTime() + (timeout.compareTo(FOREVER) >= 0 ? FOREVER.toNanos() : timeout.toNanos());
  }
}
