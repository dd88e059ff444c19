package io.raftoral.worker;

import io.raftoral.proto.worker.WorkerMessage;
import java.util.ArrayDeque;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One run handed to one worker: the run id the node gave it, the session it is on, and the
 * mailbox of the worker's messages about it, read only by the node's thread of the run
 * ({@link WorkerWorkflow}). The session puts messages in; the run takes them out one at a time.
 */
final class RemoteRun {
  /** Put in the mailbox when the worker's stream ended: the run must go to another worker. */
  static final WorkerMessage LOST = WorkerMessage.newBuilder().build();

  final long id;
  final WorkerSession session;
  private final LinkedBlockingQueue<WorkerMessage> mailbox = new LinkedBlockingQueue<>();
  // Messages taken from the mailbox while a compute step ran, to be handled after it, in order.
  private final ArrayDeque<WorkerMessage> deferred = new ArrayDeque<>();

  RemoteRun(long id, WorkerSession session) {
    this.id = id;
    this.session = session;
  }

  /**
   * Queues a message of the worker; false when the run already holds as many unanswered calls as
   * the protocol allows (the worker floods it).
   */
  boolean deliver(WorkerMessage message, int maxInFlight) {
    if (message != LOST && mailbox.size() + deferredSize() >= maxInFlight) {
      return false;
    }
    mailbox.add(message);
    return true;
  }

  private int deferredSize() {
    // Read by the session's thread: a stale size only delays the flood check by a message.
    synchronized (deferred) {
      return deferred.size();
    }
  }

  void lost() {
    mailbox.add(LOST);
  }

  /** The next message (deferred ones first), or null when none came within {@code millis}. */
  WorkerMessage next(long millis) throws InterruptedException {
    synchronized (deferred) {
      WorkerMessage m = deferred.poll();
      if (m != null) {
        return m;
      }
    }
    return mailbox.poll(millis, TimeUnit.MILLISECONDS);
  }

  /** The next message from the worker itself, skipping what was deferred. */
  WorkerMessage nextFromWorker(long millis) throws InterruptedException {
    return mailbox.poll(millis, TimeUnit.MILLISECONDS);
  }

  void defer(WorkerMessage message) {
    synchronized (deferred) {
      deferred.add(message);
    }
  }
}
