package io.raftoral.worker;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.raftoral.proto.worker.Ack;
import io.raftoral.proto.worker.NodeMessage;
import io.raftoral.proto.worker.ProtocolError;
import io.raftoral.proto.worker.WorkerMessage;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker's stream: its registration, the runs it holds, what the node sends it (queued while
 * the worker does not read, up to a bound) and what it sends the node (handed to the runs it names).
 * The worker's messages arrive on gRPC's thread one at a time; the runs' threads send.
 */
final class WorkerSession implements StreamObserver<WorkerMessage> {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerSession.class);
  // Ids of runs that ended here, kept so that a late message of one is dropped silently.
  private static final int ENDED_REMEMBERED = 4096;
  // Messages naming no run the worker holds that a session may send before it is cut off as flooding.
  static final int MAX_PROTOCOL_ERRORS = 1000;

  private final WorkerHost host;
  private final ServerCallStreamObserver<NodeMessage> out;
  private final ArrayDeque<NodeMessage> queued = new ArrayDeque<>(); // guarded by queued
  private long queuedBytes; // guarded by queued
  private final Map<Long, RemoteRun> runs = new ConcurrentHashMap<>();
  private final Map<Long, Boolean> ended = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
      return size() > ENDED_REMEMBERED;
    }
  };
  private volatile long lastHeardNanos = System.nanoTime();
  private volatile Registration registration;
  private volatile boolean closed;
  private int protocolErrors; // gRPC's thread only
  private int active; // guarded by this: runs reserved or held

  /** What the worker registered: its name, and the types it runs, accepted by the host. */
  record Registration(String workerId, String library, int maxRuns, List<WorkerWorkflow> types) {}

  WorkerSession(WorkerHost host, ServerCallStreamObserver<NodeMessage> out) {
    this.host = host;
    this.out = out;
    out.setOnReadyHandler(this::drain);
    out.setOnCancelHandler(() -> ended("the worker cancelled its stream"));
  }

  String name() {
    Registration r = registration;
    return r == null ? "an unregistered worker" : "worker " + r.workerId();
  }

  Registration registration() {
    return registration;
  }

  long lastHeardNanos() {
    return lastHeardNanos;
  }

  boolean isClosed() {
    return closed;
  }

  int queuedMessages() {
    synchronized (queued) {
      return queued.size();
    }
  }

  // --- the worker's messages ---

  @Override
  public void onNext(WorkerMessage message) {
    lastHeardNanos = System.nanoTime();
    if (closed) {
      return;
    }
    if (registration == null) {
      if (message.getKindCase() != WorkerMessage.KindCase.REGISTER) {
        close(Status.INVALID_ARGUMENT.withDescription("the first message of a worker stream must be Register, got "
            + message.getKindCase()));
        return;
      }
      host.register(this, message.getRegister());
      return;
    }
    switch (message.getKindCase()) {
      case HEARTBEAT -> send(NodeMessage.newBuilder().setAck(Ack.newBuilder().setRun(0)).build());
      case CHECKPOINT -> toRun(message.getCheckpoint().getRun(), message);
      case COMPUTE_RESULT -> toRun(message.getComputeResult().getRun(), message);
      case WORKFLOW_RESULT -> toRun(message.getWorkflowResult().getRun(), message);
      case REGISTER -> protocolError(0, "a worker registers once per stream; this Register was ignored");
      default -> protocolError(0, "a message of no known kind was ignored (a newer protocol version?)");
    }
  }

  private void toRun(long runId, WorkerMessage message) {
    RemoteRun run = runs.get(runId);
    if (run == null) {
      boolean late;
      synchronized (ended) {
        late = ended.containsKey(runId);
      }
      if (!late) {
        protocolError(runId, "run " + runId + " is not held by this worker (never executed here, or already over); "
            + "the message was ignored");
      }
      return;
    }
    if (!run.deliver(message, host.maxCallsInFlight())) {
      close(Status.RESOURCE_EXHAUSTED.withDescription("run " + runId + " has more than " + host.maxCallsInFlight()
          + " unanswered calls: the worker floods the node"));
    }
  }

  private void protocolError(long runId, String message) {
    if (++protocolErrors > MAX_PROTOCOL_ERRORS) {
      close(Status.RESOURCE_EXHAUSTED.withDescription("more than " + MAX_PROTOCOL_ERRORS
          + " messages broke the protocol on this stream; the last: " + message));
      return;
    }
    LOG.debug("{}: {}", name(), message);
    send(NodeMessage.newBuilder().setProtocolError(ProtocolError.newBuilder().setRun(runId).setMessage(message)).build());
  }

  @Override
  public void onError(Throwable t) {
    ended("its stream failed: " + Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    ended("it closed its stream");
    synchronized (queued) {
      if (!queued.isEmpty()) {
        queued.clear();
      }
    }
    try {
      out.onCompleted();
    } catch (RuntimeException e) {
      // Already closed by the transport.
    }
  }

  void registered(Registration accepted, NodeMessage answer) {
    registration = accepted;
    send(answer);
  }

  // --- runs ---

  /** Takes a slot for a run if the worker has one free. */
  synchronized boolean reserve() {
    Registration r = registration;
    if (closed || r == null || active >= r.maxRuns()) {
      return false;
    }
    active++;
    return true;
  }

  synchronized int activeRuns() {
    return active;
  }

  /** A run on the slot {@link #reserve} took; null when the session ended meanwhile (the slot is given back). */
  RemoteRun open(long runId) {
    RemoteRun run = new RemoteRun(runId, this);
    runs.put(runId, run);
    if (closed && runs.remove(runId) != null) {
      release();
      return null;
    }
    return run;
  }

  /** The run is over here (a result, a cancel, or the worker is gone): late messages of it are dropped. */
  void close(RemoteRun run) {
    synchronized (ended) {
      ended.put(run.id, Boolean.TRUE);
    }
    if (runs.remove(run.id, run)) {
      release();
    }
  }

  void release() {
    synchronized (this) {
      active--;
    }
    host.slotFreed();
  }

  // --- sending ---

  /** Queues a message for the worker; a worker that leaves too many unread is cut off. */
  void send(NodeMessage message) {
    if (closed) {
      return;
    }
    int size;
    long bytes;
    synchronized (queued) {
      queued.add(message);
      size = queued.size();
      queuedBytes += message.getSerializedSize();
      bytes = queuedBytes;
    }
    // Counted and weighed: 4096 small answers, or a few large values and histories, not tens of GiB.
    if (size > host.maxQueuedMessages() || (size > 1 && bytes > WorkerHost.MAX_QUEUED_BYTES)) {
      close(Status.RESOURCE_EXHAUSTED.withDescription("the worker left " + size + " messages (" + bytes
          + " bytes) unread; the bounds are " + host.maxQueuedMessages() + " messages and " + WorkerHost.MAX_QUEUED_BYTES + " bytes"));
      return;
    }
    drain();
  }

  private void drain() {
    synchronized (queued) {
      try {
        while (!closed && out.isReady() && !queued.isEmpty()) {
          NodeMessage next = queued.poll();
          queuedBytes -= next.getSerializedSize();
          out.onNext(next);
        }
      } catch (RuntimeException e) {
        // The call was cancelled under us; onCancel ends the session.
      }
    }
  }

  /** Ends the stream with {@code status} (the worker sees it) and the session with it. */
  void close(Status status) {
    if (closed) {
      return;
    }
    if (status.getCode() != Status.Code.OK) {
      LOG.warn("{}: disconnected: {}", name(), status.getDescription());
    }
    ended(status.getDescription());
    synchronized (queued) {
      queued.clear();
      queuedBytes = 0;
      try {
        if (status.isOk()) {
          out.onCompleted();
        } else {
          out.onError(status.asRuntimeException());
        }
      } catch (RuntimeException e) {
        // Already closed by the transport.
      }
    }
  }

  /** The session is over: its runs go to other workers, its types lose it. Once. */
  private void ended(String why) {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    LOG.info("{}: left ({}); its {} run(s) go to other workers", name(), why, runs.size());
    host.sessionEnded(this);
    for (RemoteRun run : runs.values()) {
      run.lost();
    }
  }
}
