package io.raftoral.worker;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.raftoral.security.ApiAccess;
import io.raftoral.security.NodeSecurity;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.raftoral.common.Errors;
import io.raftoral.client.HostPort;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.worker.NodeMessage;
import io.raftoral.proto.worker.Register;
import io.raftoral.proto.worker.Registered;
import io.raftoral.proto.worker.WorkerMessage;
import io.raftoral.proto.worker.WorkerServiceGrpc;
import io.raftoral.proto.worker.WorkflowTypeSpec;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowRegistry;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's half of the worker protocol ({@code worker.proto}): a gRPC server on the worker
 * address where worker processes register workflow types and run them. A type a worker registers
 * becomes a {@link WorkerWorkflow} in the node's registry (once, for the node's lifetime: runs of
 * it wait for a worker while none is connected), so that starts of it are admitted and the runs
 * the node should have start (the {@code typesAdded} hook).
 *
 * <p>Lives as long as the node, across its runtime's restarts and rejoins; close it after the
 * runtime, so that runs waiting for a worker see the node stopping rather than this host closing.
 */
public final class WorkerHost implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerHost.class);
  static final int PROTOCOL_VERSION = 1;
  static final int DEFAULT_MAX_RUNS = 256;
  static final int MAX_RUNS = 65_536;
  static final int MAX_CALLS_IN_FLIGHT = 64;
  static final int MAX_QUEUED_MESSAGES = 4096;
  /** The most bytes queued for a worker that does not read (one message is always let through). */
  static final long MAX_QUEUED_BYTES = 64L << 20;
  static final int MAX_WORKER_ID_CHARS = 256;
  static final int HEARTBEAT_INTERVAL_MILLIS = 1000;
  static final int HEARTBEAT_TIMEOUT_MILLIS = 5000;
  private static final long GRACE_MILLIS = 2000;

  /** What the host needs of its node. */
  public record Node(LongSupplier nodeId, String clusterId, WorkflowRegistry registry, int payloadLimitBytes,
      Runnable typesAdded) {}

  private final Node node;
  private final Server server;
  private final ExecutorService executor;
  private final Set<WorkerSession> sessions = ConcurrentHashMap.newKeySet();
  /** Whether a session's credentials still hold, when the node authenticates workers (ApiAccess). */
  private final Map<WorkerSession, BooleanSupplier> credentials = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<WorkflowType, WorkerWorkflow> types = new ConcurrentHashMap<>();
  private final AtomicLong runIds = new AtomicLong();
  private final Object slots = new Object();
  private long slotEpoch; // guarded by slots
  private final Thread watchdog;
  private volatile boolean closed;

  private WorkerHost(Node node, InetSocketAddress bind, NodeSecurity security, UnaryOperator<ServerServiceDefinition> guard) {
    this.node = node;
    this.executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("raftoral-worker-rpc-", 0).factory());
    ServerServiceDefinition service = guard.apply(new Service().bindService());
    this.server = security.secure(NettyServerBuilder.forAddress(bind))
        .executor(executor)
        .maxInboundMessageSize(maxMessageBytes(node.payloadLimitBytes()))
        // A worker holds one stream; a few more for reconnects that overlap the old stream's end.
        .maxConcurrentCallsPerConnection(64)
        .maxInboundMetadataSize(8 << 10)
        .permitKeepAliveTime(5, TimeUnit.SECONDS)
        // A worker authenticates (a worker token or certificate) when the node asks for it.
        .addService(security.access(node.nodeId()).map(a -> ServerInterceptors.intercept(service, a)).orElse(service))
        .build();
    this.watchdog = Thread.ofVirtual().name("raftoral-worker-watchdog").unstarted(this::watch);
  }

  /** A message carries one payload at most, plus its small envelope; Execute's history is bounded apart. */
  private static int maxMessageBytes(int payloadLimitBytes) {
    long max = Math.max((long) payloadLimitBytes, WorkerWorkflow.MAX_HISTORY_BYTES) + (1 << 20);
    return (int) Math.min(Integer.MAX_VALUE, max);
  }

  /**
   * Binds {@code hostPort} (port 0: a free one) and serves workers.
   *
   * @throws IOException when the address cannot be bound (the message names it and why)
   * @throws Errors.InvalidArgumentException when {@code hostPort} is not host:port
   */
  public static WorkerHost start(String hostPort, Node node) throws IOException {
    return start(hostPort, node, NodeSecurity.none(), UnaryOperator.identity());
  }

  /**
   * As {@link #start(String, Node)}, served with {@code security}'s TLS and access check (a
   * worker's role), the service wrapped by {@code guard} (the node's: a message that does not
   * parse is INVALID_ARGUMENT rather than UNKNOWN plus a logged stack trace).
   */
  public static WorkerHost start(String hostPort, Node node, NodeSecurity security, UnaryOperator<ServerServiceDefinition> guard)
      throws IOException {
    HostPort hp = HostPort.parse(hostPort, true);
    InetSocketAddress bind = new InetSocketAddress(hp.host(), hp.port());
    if (bind.isUnresolved()) {
      throw new IOException("cannot bind the worker address " + hp + ": unknown host " + hp.host());
    }
    WorkerHost host = new WorkerHost(node, bind, security, guard);
    try {
      host.server.start();
    } catch (IOException e) {
      host.executor.shutdownNow();
      String why = e.getCause() instanceof BindException || e instanceof BindException
          ? "it is in use (another process listens on it) or not this machine's" : e.getMessage();
      throw new IOException("cannot bind the worker address " + hp + ": " + why, e);
    }
    host.watchdog.start();
    security.warnIfExposed("worker port", "register as a worker and run, and read, the workflows of its types", (InetSocketAddress) host.server.getListenSockets().getFirst(), node.nodeId().getAsLong());
    LOG.info("node {}: serving workers on {}{}", node.nodeId().getAsLong(), host.address(),
        (security.tls() ? " over TLS" : "") + (security.authenticates() ? ", authenticated" : ""));
    return host;
  }

  /** host:port actually bound. */
  public String address() {
    InetSocketAddress a = (InetSocketAddress) server.getListenSockets().getFirst();
    return a.getHostString() + ":" + a.getPort();
  }

  /** How many workers are connected and registered, for tests and diagnostics. */
  public int connectedWorkers() {
    return (int) sessions.stream().filter(s -> s.registration() != null && !s.isClosed()).count();
  }

  boolean isClosed() {
    return closed;
  }

  long nextRunId() {
    return runIds.incrementAndGet();
  }

  int maxCallsInFlight() {
    return MAX_CALLS_IN_FLIGHT;
  }

  int maxQueuedMessages() {
    return MAX_QUEUED_MESSAGES;
  }

  int maxValueBytes() {
    return node.payloadLimitBytes();
  }

  // --- slots: a run waiting for a worker wakes when one may have room ---

  long slotEpoch() {
    synchronized (slots) {
      return slotEpoch;
    }
  }

  void slotFreed() {
    synchronized (slots) {
      slotEpoch++;
      slots.notifyAll();
    }
  }

  void awaitSlot(long seen, long millis) {
    synchronized (slots) {
      if (slotEpoch == seen) {
        try {
          slots.wait(millis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  // --- registration ---

  /** Checks a worker's Register and either registers its types (answering Registered) or ends its stream. */
  void register(WorkerSession session, Register r) {
    String problem = registerProblem(r);
    if (problem != null) {
      session.close(Status.INVALID_ARGUMENT.withDescription(problem));
      return;
    }
    List<WorkerWorkflow> accepted = new ArrayList<>();
    for (WorkflowTypeSpec spec : r.getTypesList()) {
      WorkflowType type = new WorkflowType(spec.getName(), spec.getVersion());
      ExecutionMode mode = spec.getMode() == io.raftoral.proto.worker.ExecutionMode.OWNER_ONLY
          ? ExecutionMode.OWNER_ONLY : ExecutionMode.HOT_STANDBY;
      String refused;
      WorkerWorkflow w;
      synchronized (types) {
        w = types.get(type);
        refused = null;
        if (w == null) {
          WorkflowDefinition<?, ?> existing = node.registry().find(type);
          if (existing != null) {
            refused = type + " is registered on node " + node.nodeId().getAsLong() + " as an embedded workflow; "
                + "a type runs either embedded or on workers";
          } else {
            w = new WorkerWorkflow(this, type, mode, spec.getKeepLastPerKey());
            try {
              node.registry().register(w.definition());
              types.put(type, w);
            } catch (Errors.AlreadyRegisteredException e) {
              refused = type + " was registered on node " + node.nodeId().getAsLong() + " as an embedded workflow meanwhile";
            }
          }
        } else if (w.definition().mode() != mode || w.definition().keepLastPerKey() != spec.getKeepLastPerKey()) {
          refused = "workers of " + type + " on node " + node.nodeId().getAsLong() + " run it " + w.definition().mode()
              + " keeping the last " + w.definition().keepLastPerKey() + " value(s) per key (0: all); this worker asked for "
              + mode + " and " + spec.getKeepLastPerKey() + ": every worker and every node must run a type the same way";
        }
      }
      if (refused != null) {
        session.close(Status.FAILED_PRECONDITION.withDescription(refused));
        return;
      }
      accepted.add(w);
    }
    int maxRuns = r.getMaxConcurrentRuns() == 0 ? DEFAULT_MAX_RUNS : r.getMaxConcurrentRuns();
    WorkerSession.Registration registration = new WorkerSession.Registration(r.getWorkerId(), r.getLibrary(), maxRuns,
        List.copyOf(accepted));
    session.registered(registration, NodeMessage.newBuilder().setRegistered(Registered.newBuilder()
        .setProtocolVersion(PROTOCOL_VERSION).setNodeId(node.nodeId().getAsLong()).setClusterId(node.clusterId())
        .setHeartbeatIntervalMs(HEARTBEAT_INTERVAL_MILLIS).setHeartbeatTimeoutMs(HEARTBEAT_TIMEOUT_MILLIS)
        .setMaxConcurrentRuns(maxRuns).setMaxCallsInFlight(MAX_CALLS_IN_FLIGHT)
        .setMaxValueBytes(node.payloadLimitBytes()).setMaxQueuedMessages(MAX_QUEUED_MESSAGES)).build());
    if (session.isClosed()) {
      return;
    }
    accepted.forEach(w -> w.add(session));
    if (session.isClosed()) {
      // It left while registering, maybe after its end removed it from its types: remove it again.
      accepted.forEach(w -> w.remove(session));
      return;
    }
    LOG.info("node {}: worker {} ({}) registered {} with room for {} run(s)", node.nodeId().getAsLong(), r.getWorkerId(),
        r.getLibrary().isEmpty() ? "library not named" : r.getLibrary(), accepted.stream().map(WorkerWorkflow::type).toList(),
        maxRuns);
    slotFreed();
    // Workflows of these types may be RUNNING here with no run yet (recovered before any worker came).
    Thread.ofVirtual().name("raftoral-worker-types").start(() -> {
      try {
        node.typesAdded().run();
      } catch (RuntimeException e) {
        LOG.warn("node {}: starting the runs of newly registered worker types failed", node.nodeId().getAsLong(), e);
      }
    });
  }

  private static String registerProblem(Register r) {
    if (r.getWorkerId().isBlank() || r.getWorkerId().length() > MAX_WORKER_ID_CHARS) {
      return "Register.worker_id must be 1.." + MAX_WORKER_ID_CHARS + " characters and not blank, got "
          + (r.getWorkerId().isBlank() ? "a blank one" : r.getWorkerId().length() + " characters");
    }
    if (!r.getProtocolVersionsList().contains(PROTOCOL_VERSION)) {
      return "this node speaks worker protocol version " + PROTOCOL_VERSION + "; the worker offers "
          + r.getProtocolVersionsList() + ": upgrade the worker library or the node";
    }
    if (r.getTypesCount() == 0) {
      return "Register.types is empty: a worker registers at least one workflow type";
    }
    if (Integer.compareUnsigned(r.getMaxConcurrentRuns(), MAX_RUNS) > 0) {
      return "Register.max_concurrent_runs must be 0 (the node's default, " + DEFAULT_MAX_RUNS + ") to " + MAX_RUNS
          + ", got " + Integer.toUnsignedString(r.getMaxConcurrentRuns());
    }
    Set<WorkflowType> seen = new HashSet<>();
    for (WorkflowTypeSpec spec : r.getTypesList()) {
      WorkflowType type;
      try {
        type = new WorkflowType(spec.getName(), spec.getVersion());
      } catch (RuntimeException e) {
        return "Register.types: " + e.getMessage();
      }
      if (!seen.add(type)) {
        return "Register.types names " + type + " twice";
      }
      if (spec.getModeValue() < 0 || spec.getModeValue() > 2) {
        return "Register.types: " + type + " has an unknown execution mode " + spec.getModeValue();
      }
      if (spec.getKeepLastPerKey() < 0) {
        return "Register.types: keep_last_per_key of " + type + " is above 2^63 - 1";
      }
    }
    return null;
  }

  static io.raftoral.proto.worker.ExecutionMode toProto(ExecutionMode mode) {
    return mode == ExecutionMode.OWNER_ONLY ? io.raftoral.proto.worker.ExecutionMode.OWNER_ONLY
        : io.raftoral.proto.worker.ExecutionMode.HOT_STANDBY;
  }

  void sessionEnded(WorkerSession session) {
    sessions.remove(session);
    credentials.remove(session);
    WorkerSession.Registration r = session.registration();
    if (r != null) {
      r.types().forEach(w -> w.remove(session));
    }
    slotFreed();
  }

  private boolean revoked(WorkerSession s) {
    BooleanSupplier allowed = credentials.get(s);
    try {
      return allowed != null && !allowed.getAsBoolean();
    } catch (RuntimeException e) {
      return true; // a check that cannot be made does not let a stream on
    }
  }

  /** Drops workers that stopped talking (a frozen process, a cut link): their runs go to others. */
  private void watch() {
    long timeoutNanos = TimeUnit.MILLISECONDS.toNanos(HEARTBEAT_TIMEOUT_MILLIS);
    while (!closed) {
      long now = System.nanoTime();
      for (WorkerSession s : sessions) {
        if (now - s.lastHeardNanos() > timeoutNanos) {
          s.close(Status.DEADLINE_EXCEEDED.withDescription("the node heard nothing from " + s.name() + " for "
              + HEARTBEAT_TIMEOUT_MILLIS + " ms (heartbeats are due every " + HEARTBEAT_INTERVAL_MILLIS + " ms)"));
        } else if (revoked(s)) {
          // Its runs go to other workers, as when it leaves.
          s.close(Status.UNAUTHENTICATED.withDescription("the credentials of " + s.name()
              + " no longer authenticate (a token removed from the tokens file, or a certificate that expired)"));
        }
      }
      try {
        Thread.sleep(250);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** Ends every worker's stream (UNAVAILABLE) and stops serving. Call after the node's runtime closed. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    watchdog.interrupt();
    for (WorkerSession s : sessions) {
      s.close(Status.UNAVAILABLE.withDescription("the node is stopping"));
    }
    slotFreed();
    server.shutdown();
    try {
      if (!server.awaitTermination(GRACE_MILLIS, TimeUnit.MILLISECONDS)) {
        server.shutdownNow();
        server.awaitTermination(GRACE_MILLIS, TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    executor.shutdownNow();
  }

  private final class Service extends WorkerServiceGrpc.WorkerServiceImplBase {
    @Override
    public StreamObserver<WorkerMessage> connect(StreamObserver<NodeMessage> responses) {
      ServerCallStreamObserver<NodeMessage> out = (ServerCallStreamObserver<NodeMessage>) responses;
      WorkerSession session = new WorkerSession(WorkerHost.this, out);
      BooleanSupplier allowed = ApiAccess.STILL_ALLOWED.get();
      if (allowed != null) {
        credentials.put(session, allowed);
      }
      if (closed) {
        session.close(Status.UNAVAILABLE.withDescription("the node is stopping"));
        return session;
      }
      sessions.add(session);
      return session;
    }
  }
}
