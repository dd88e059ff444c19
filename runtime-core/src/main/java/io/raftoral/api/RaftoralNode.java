package io.raftoral.api;

import io.raftoral.common.Errors;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.RaftoralException;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowType;
import io.raftoral.node.ApiServer;
import io.raftoral.node.DataDirectoryLock;
import io.raftoral.node.Joiner;
import io.raftoral.node.NodeIdentity;
import io.raftoral.proto.client.JoinReply;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.runtime.NodeRuntime;
import io.raftoral.runtime.Payloads;
import io.raftoral.workflow.JsonCodec;
import io.raftoral.workflow.PayloadCodec;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Raftoral node embedded in the application: a Raft server hosting the management group and
 * the execution groups, the workflow types this process can run, and the client calls.
 *
 * <pre>{@code
 * try (RaftoralNode node = RaftoralNode.builder()
 *     .nodeId(1).members(Map.of(1L, "127.0.0.1:7001", 2L, "127.0.0.1:7002", 3L, "127.0.0.1:7003"))
 *     .dataDirectory(Path.of("raftoral_data/node-1"))
 *     .register(WorkflowDefinition.of("ping_pong", 1, String.class, String.class, PingPong::run))
 *     .start()) {
 *   String pong = node.start("ping_pong", 1, "ping", String.class).result(Duration.ofSeconds(30));
 * }
 * }</pre>
 *
 * <h2>Errors</h2>
 * Every call throws a subclass of {@link RaftoralException}; a call on a closed node throws
 * {@link Errors.NodeClosedException}, one on a node its cluster removed {@link
 * Errors.NodeRemovedException} (until it has rejoined as a new node, see {@link
 * Builder#rejoinAfterRemoval}).
 *
 * <h2>Thread safety</h2>
 * All methods may be called from any thread.
 */
public final class RaftoralNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RaftoralNode.class);
  // Restarts on the data directory after a fault, 2 s apart, before the node rejoins as a new one.
  private static final int RESTART_ATTEMPTS = 5;
  // A node restarted after faults this often within the window stops instead (the fault persists).
  private static final int MAX_RESTARTS_IN_WINDOW = 3;
  private static final Duration RESTART_WINDOW = Duration.ofMinutes(10);
  // When this node restarted after faults (nanos), within the window.
  private final java.util.ArrayDeque<Long> faultRestarts = new java.util.ArrayDeque<>();

  private final Launch launch;
  private final WorkflowRegistry registry;
  private final Payloads payloads;
  private final ApiServer api;
  private final DataDirectoryLock lock;
  private final java.util.concurrent.CompletableFuture<Void> stopped = new java.util.concurrent.CompletableFuture<>();
  private final Object lifecycle = new Object();
  // Replaced when the node rejoins its cluster as a new node (after the cluster removed it).
  private volatile NodeRuntime runtime;
  private volatile MembershipWatch watch;
  private volatile boolean closing;
  // Why the node stopped itself (it was removed, or its fault persists); null for a plain close.
  private volatile RaftoralException failure;

  private RaftoralNode(Launch launch, NodeRuntime runtime, ApiServer api, DataDirectoryLock lock) {
    this.launch = launch;
    this.runtime = runtime;
    this.registry = launch.registry();
    this.payloads = launch.payloads();
    this.api = api;
    this.lock = lock;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** This node's id; a node that rejoined its cluster as a new node has a new one. */
  public long nodeId() {
    return runtime.nodeId();
  }

  /** The workflow types this node runs; register more at any time. */
  public WorkflowRegistry registry() {
    return registry;
  }

  /**
   * Starts a workflow and returns once its {@code WorkflowStart} is committed. With a
   * {@code workflowId} the start is idempotent: the same id with the same type, version and input
   * returns the existing run; otherwise it throws {@link Errors.AlreadyExistsException}.
   *
   * @throws Errors.NotRegisteredException when the (type, version) is not registered
   * @throws Errors.PayloadTooLargeException when the encoded input is above the payload limit
   */
  public <O> WorkflowHandle<O> start(String type, int version, Object input, Class<O> resultType, String workflowId) {
    Objects.requireNonNull(resultType, "resultType");
    WorkflowType t = new WorkflowType(type, version);
    WorkflowDefinition<?, ?> definition = registry.find(t);
    Class<?> inputType = definition != null ? definition.inputType() : (input == null ? Object.class : input.getClass());
    byte[] bytes = payloads.encode("input of workflow " + t, input, inputType);
    NodeRuntime.Started started = runtime.start(t, bytes, workflowId);
    return new Handle<>(started.workflowId(), started.executionGroup(), resultType);
  }

  /** As {@link #start(String, int, Object, Class, String)} with a generated workflow id. */
  public <O> WorkflowHandle<O> start(String type, int version, Object input, Class<O> resultType) {
    return start(type, version, input, resultType, null);
  }

  /** A handle on an existing workflow, to await or describe it. */
  public <O> WorkflowHandle<O> handle(String workflowId, Class<O> resultType) {
    return new Handle<>(workflowId, runtime.executionGroupOf(workflowId), resultType);
  }

  /** @throws Errors.WorkflowNotFoundException for an unknown id */
  public WorkflowInfo describe(String workflowId) {
    return runtime.describe(workflowId);
  }

  /**
   * Workflows across every execution group matching the query, one page at a time, in
   * (started-at, id) order.
   */
  public ListPage list(ListQuery query) {
    return runtime.list(Objects.requireNonNull(query, "query"));
  }

  /**
   * Terminates a running workflow (SPEC §6); for a finished one it changes nothing. Returns the
   * workflow's info after the call.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   */
  public WorkflowInfo terminate(String workflowId, String reason) {
    return runtime.terminate(workflowId, reason);
  }

  /**
   * What tests, tools and operators look at inside the node (its replicas, logs, where a workflow
   * lives); not a stable API. A node that restarted or rejoined hands out a new one.
   */
  public io.raftoral.runtime.NodeInspector inspector() {
    return runtime.inspector();
  }

  /**
   * Completes when the node stops: normally after {@link #close}, exceptionally when it stopped
   * itself: the cluster removed it and it does not rejoin by itself ({@link
   * Builder#rejoinAfterRemoval}, or it knows no other member to rejoin through), or a restart
   * the cluster refused. The exception ({@link Errors.NodeRemovedException} for a removal) says
   * what to do. A host process waits on it.
   */
  public java.util.concurrent.CompletableFuture<Void> stopped() {
    return stopped;
  }

  private void fail(RaftoralException why) {
    failure = why;
    close(); // completes stopped() with the failure, once the node is down (a host may exit then)
  }

  /** The address the client API is served on, or null when this node serves none. */
  public String apiAddress() {
    return api == null ? null : api.address();
  }

  /**
   * Stops serving, hands off the leadership of every group this node leads, and stops the node.
   * Its workflows continue on the other members.
   */
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
      runtime.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      if (lock != null) {
        lock.close();
      }
      if (launch.temporaryDirectory() != null) {
        deleteRecursively(launch.temporaryDirectory());
      }
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

  // --- removal and rejoin (docs/ARCHITECTURE.md, "Groups and membership") ---

  private void watch(NodeRuntime r, boolean restarted) {
    synchronized (lifecycle) {
      if (!closing) {
        watch = MembershipWatch.start(r, launch, restarted, this::removed, this::refused);
        r.onRecovery(() -> Thread.ofPlatform().name("raftoral-restart-" + r.nodeId()).start(() -> restartAfterFault(r)));
      }
    }
  }

  /**
   * Makes {@code next} (started already) the node's runtime behind this facade and its API
   * server, and watches it; closes it instead when the node is closing. Returns whether it took over.
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
        try {
          Thread.sleep(2000);
        } catch (InterruptedException interrupted) {
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
    boolean rejoin = launch.rejoinAfterRemoval();
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
        try {
          Thread.sleep(2000);
        } catch (InterruptedException interrupted) {
          return;
        }
      }
    }
  }

  private final class Handle<O> implements WorkflowHandle<O> {
    private final String workflowId;
    private final String executionGroup;
    private final Class<O> resultType;

    Handle(String workflowId, String executionGroup, Class<O> resultType) {
      this.workflowId = workflowId;
      this.executionGroup = executionGroup;
      this.resultType = resultType;
    }

    @Override
    public String workflowId() {
      return workflowId;
    }

    @Override
    public String executionGroup() {
      return executionGroup;
    }

    @Override
    public O result(Duration timeout) {
      WorkflowRecord r = runtime.awaitFinal(workflowId, timeout);
      return switch (r.getStatus()) {
        case COMPLETED -> payloads.decode(r.getResult().toByteArray(), resultType);
        case FAILED -> throw new Errors.WorkflowFailedException(workflowId, r.getError().getType(), r.getError().getMessage());
        case TERMINATED -> throw new Errors.WorkflowTerminatedException(workflowId, r.getTerminationReason());
        default -> throw new IllegalStateException("workflow " + workflowId + " is not final: " + r.getStatus());
      };
    }

    @Override
    public WorkflowInfo describe() {
      return runtime.describe(workflowId);
    }

    @Override
    public String toString() {
      return "WorkflowHandle[" + workflowId + " in " + executionGroup + "]";
    }
  }

  /** Configures and starts a node: {@link #nodeId} (or {@link #join}) and a Raft address or member list are required. */
  public static final class Builder {
    private static final Duration MAX_BATCH_LINGER = Duration.ofSeconds(1);
    /**
     * Long enough that a long GC pause or a short VM stall does not shrink the cluster (the
     * workflows of an unreachable owner fail over within the election timeout regardless),
     * short enough that a dead node's groups get their replacement within a minute. A node
     * removed by mistake rejoins by itself as a new node.
     */
    public static final Duration DEFAULT_NODE_FAILURE_TIMEOUT = Duration.ofSeconds(30);

    private long nodeId;
    private Map<Long, String> members = new LinkedHashMap<>();
    private String raftAddress;
    private Path dataDirectory;
    private String clusterId = "raftoral";
    private int executionGroups = 1;
    private int payloadLimitBytes = 4 * 1024 * 1024;
    private PayloadCodec codec = new JsonCodec();
    private Duration electionTimeout = Duration.ofMillis(1000);
    private Duration requestTimeout = Duration.ofSeconds(30);
    private int maxInFlight = 2;
    private Duration batchLinger = Duration.ofNanos(200_000);
    private String apiAddress;
    private List<String> joinSeeds = List.of();
    private int maxVoters = 3;
    private int targetGroupSize = 3;
    private Duration nodeFailureTimeout = DEFAULT_NODE_FAILURE_TIMEOUT;
    private boolean rejoinAfterRemoval = true;
    private Duration retention = Duration.ofDays(7);
    private long snapshotThreshold = io.raftoral.raft.RaftSettings.DEFAULT_SNAPSHOT_THRESHOLD;
    private final WorkflowRegistry registry = new WorkflowRegistry();

    private Builder() {}

    /** This node's id, >= 1, unique in the cluster. */
    public Builder nodeId(long nodeId) {
      this.nodeId = nodeId;
      return this;
    }

    /** Every member's Raft address by node id, this node included (the bootstrap member list). */
    public Builder members(Map<Long, String> members) {
      this.members = new LinkedHashMap<>(members);
      return this;
    }

    /** This node's Raft address; needed only without {@link #members} (a one-node cluster). */
    public Builder raftAddress(String hostPort) {
      this.raftAddress = hostPort;
      return this;
    }

    /**
     * Keep the node's identity, Raft log, snapshots and state stores under this directory, so
     * the node survives restarts; without it, nothing survives the node.
     */
    public Builder dataDirectory(Path dir) {
      this.dataDirectory = dir;
      return this;
    }

    /** Keep everything in memory (the default): state is lost when the node stops. */
    public Builder inMemory() {
      this.dataDirectory = null;
      return this;
    }

    /** Names the cluster; nodes of different clusters never share a Raft group. */
    public Builder clusterId(String clusterId) {
      this.clusterId = clusterId;
      return this;
    }

    /** How many execution groups the cluster runs (each with every member, for now). */
    public Builder executionGroups(int count) {
      this.executionGroups = count;
      return this;
    }

    /** The largest input, checkpoint value or result, in bytes (default 4 MiB). */
    public Builder payloadLimitBytes(int limit) {
      this.payloadLimitBytes = limit;
      return this;
    }

    public Builder codec(PayloadCodec codec) {
      this.codec = Objects.requireNonNull(codec, "codec");
      return this;
    }

    /**
     * The minimum Raft election timeout (the maximum is twice it). A crashed owner is replaced
     * after about this long. Default 1 s.
     */
    public Builder electionTimeout(Duration min) {
      this.electionTimeout = min;
      return this;
    }

    /** How long a start or describe waits for the cluster before failing (default 30 s). */
    public Builder requestTimeout(Duration timeout) {
      this.requestTimeout = timeout;
      return this;
    }

    /**
     * Under load, how long a group's free entry slot waits for more commands before it sends
     * (default 200 µs; zero never waits). It waits only while another entry is in flight and the
     * last entry carried several commands, so a lone client's steps never wait.
     */
    public Builder batchLinger(Duration linger) {
      this.batchLinger = linger;
      return this;
    }

    /** Raft entries a group may have in flight; commands wait and batch beyond it (default 2). */
    public Builder maxInFlightEntries(int count) {
      this.maxInFlight = count;
      return this;
    }

    /**
     * Serve the client API (gRPC, with {@code grpc.health.v1}) on this host:port; port 0 picks a
     * free one. Without it the node serves no API (embedding only).
     */
    public Builder apiAddress(String hostPort) {
      this.apiAddress = hostPort;
      return this;
    }

    /**
     * Join a running cluster through any of these nodes' API addresses instead of bootstrapping
     * one. The node id is then allocated by the cluster, so {@link #nodeId} is not needed; only
     * {@link #raftAddress} and {@link #apiAddress}. Ignored when the data directory already
     * holds this node's identity (a restart).
     */
    public Builder join(List<String> seedApiAddresses) {
      this.joinSeeds = List.copyOf(seedApiAddresses);
      return this;
    }

    /** Voters of the management group; further nodes are non-voting listeners (default 3). */
    public Builder maxVoters(int count) {
      this.maxVoters = count;
      return this;
    }

    /** Members per execution group, 1..7 (default 3). */
    public Builder targetGroupSize(int size) {
      this.targetGroupSize = size;
      return this;
    }

    /**
     * How long a member may stay unreachable before the management leader removes it from the
     * cluster, tops up its execution groups and promotes a listener (default 30 s). Silence is
     * counted only while the leader itself runs: a leader's own pause never removes anyone.
     */
    public Builder nodeFailureTimeout(Duration timeout) {
      this.nodeFailureTimeout = timeout;
      return this;
    }

    /**
     * What the node does when it learns that its cluster removed it (it was unreachable past
     * the failure timeout, e.g. a long pause or a network partition). With {@code true} (the
     * default) it rejoins by itself as a new node once it reaches the cluster: its stale
     * replicas are moved aside ({@code <data>/removed-<old id>-<time>/}), and this node object
     * and its api server carry on with the new node id. With {@code false} it stops: {@link
     * #stopped()} completes with {@link Errors.NodeRemovedException}. Either way, until then it
     * reports NOT_SERVING and every call fails with {@code NodeRemovedException}.
     */
    public Builder rejoinAfterRemoval(boolean rejoin) {
      this.rejoinAfterRemoval = rejoin;
      return this;
    }

    /**
     * How long finished (completed, failed, terminated) workflows are kept before they are
     * pruned on every replica, input, result and checkpoints included (default 7 days).
     */
    public Builder retention(Duration retention) {
      this.retention = retention;
      return this;
    }

    /**
     * Each group snapshots its state after this many Raft entries and purges its log up to
     * the snapshot; a member too far behind, or a new one, catches up from the snapshot
     * (default 10,000).
     */
    public Builder snapshotThreshold(long entries) {
      this.snapshotThreshold = entries;
      return this;
    }

    public <I, O> Builder register(WorkflowDefinition<I, O> definition) {
      registry.register(definition);
      return this;
    }

    /**
     * Creates the node and starts it: bootstraps a cluster from {@link #members} (or this node
     * alone), joins one through {@link #join}, or, when the data directory already holds this
     * node's identity, restarts it as that node.
     */
    public RaftoralNode start() {
      // Tuning experiments (docs/ARCHITECTURE.md, "Proposer"): system properties over the builder's values.
      maxInFlight = tuning(System.getProperties(), "raftoral.proposer.max-in-flight", maxInFlight, 1, 1024);
      if (batchLinger == null || batchLinger.isNegative() || batchLinger.compareTo(MAX_BATCH_LINGER) > 0) {
        throw new Errors.InvalidArgumentException("batchLinger must be between 0 and " + MAX_BATCH_LINGER + ", got " + batchLinger);
      }
      batchLinger = Duration.ofNanos(1000L * tuning(System.getProperties(), "raftoral.proposer.linger-micros",
          (int) (batchLinger.toNanos() / 1000), 0, (int) (MAX_BATCH_LINGER.toNanos() / 1000)));
      if (executionGroups < 1 || payloadLimitBytes < 1 || maxInFlight < 1 || maxVoters < 1) {
        throw new Errors.InvalidArgumentException("executionGroups, payloadLimitBytes, maxInFlightEntries and maxVoters must be >= 1");
      }
      if (targetGroupSize < 1 || targetGroupSize > 7) {
        throw new Errors.InvalidArgumentException("targetGroupSize must be between 1 and 7, got " + targetGroupSize);
      }
      if (retention == null || retention.isNegative() || retention.isZero()) {
        throw new Errors.InvalidArgumentException("retention must be positive, got " + retention);
      }
      if (snapshotThreshold < 1) {
        throw new Errors.InvalidArgumentException("snapshotThreshold must be >= 1, got " + snapshotThreshold);
      }
      if (clusterId == null || clusterId.isBlank()) {
        throw new Errors.InvalidArgumentException("clusterId must not be blank");
      }
      if (nodeFailureTimeout == null || nodeFailureTimeout.toMillis() < 1) {
        throw new Errors.InvalidArgumentException("nodeFailureTimeout must be positive, got " + nodeFailureTimeout);
      }
      List<AutoCloseable> opened = new ArrayList<>();
      try {
        return startOrThrow(opened);
      } catch (RuntimeException e) {
        for (AutoCloseable c : opened.reversed()) {
          try {
            c.close();
          } catch (Exception suppressed) {
            e.addSuppressed(suppressed);
          }
        }
        throw e instanceof RaftoralException re ? re : new RaftoralException("cannot start node " + nodeId + ": " + e.getMessage(), e);
      }
    }

    private RaftoralNode startOrThrow(List<AutoCloseable> opened) {
      String selfRaft = raftAddress != null ? raftAddress : members.get(nodeId);
      // Both addresses first: a node that cannot bind them must not write its identity nor
      // register with a cluster (it would leave a ghost registration behind).
      if (selfRaft != null) {
        ensureBindable("raft", selfRaft);
      }
      if (apiAddress != null) {
        ensureBindable("api", apiAddress);
      }
      Path temporary = null;
      NodeIdentity identity = null;
      if (dataDirectory == null) {
        temporary = createTemporaryDirectory();
        Path toDelete = temporary;
        opened.add(() -> deleteRecursively(toDelete));
      } else {
        opened.add(DataDirectoryLock.acquire(dataDirectory));
        identity = NodeIdentity.read(dataDirectory);
        if (identity != null) {
          identity.check(dataDirectory, clusterId, nodeId, selfRaft);
        }
      }
      Payloads payloads = new Payloads(codec, payloadLimitBytes);
      // Room for one payload at the limit plus the command around it.
      int maxBatchBytes = Math.max(1 << 20, payloadLimitBytes + (64 << 10));
      Launch launch = new Launch(clusterId, selfRaft, apiAddress, dataDirectory, temporary, joinSeeds, registry, payloads,
          executionGroups, requestTimeout, maxInFlight, maxBatchBytes, maxVoters, targetGroupSize, nodeFailureTimeout,
          retention, batchLinger, snapshotThreshold, electionTimeout, rejoinAfterRemoval);
      Path raftDir = launch.home().resolve("raft");
      try {
        Files.createDirectories(raftDir);
        Files.createDirectories(launch.home().resolve("state"));
      } catch (IOException e) {
        throw new RaftoralException("cannot prepare the data directory " + launch.home() + ": " + e.getMessage(), e);
      }
      NodeRuntime.Entry entry;
      long id;
      String incarnation;
      Map<Long, String> peers = new LinkedHashMap<>(members);
      if (identity != null && hasRaftStorage(raftDir)) {
        entry = NodeRuntime.Entry.RECOVER;
        id = identity.nodeId();
        incarnation = identity.incarnation();
        peers.clear();
        peers.put(id, requireRaftAddress(id));
        identity.withRaftAddress(requireRaftAddress(id)).write(dataDirectory); // records what an older identity lacks
      } else if (!joinSeeds.isEmpty()) {
        // Without Raft storage an identity belongs to a start that never ran: join afresh and rewrite it.
        String self = requireRaftAddress(0);
        incarnation = NodeIdentity.newIncarnation();
        JoinReply reply = Joiner.join(joinSeeds, clusterId, self, apiAddress, 0, incarnation, Duration.ofSeconds(15));
        entry = NodeRuntime.Entry.JOIN;
        id = reply.getNodeId();
        long registered = id;
        opened.add(() -> Joiner.leave(joinSeeds, clusterId, registered, incarnation, "its start failed"));
        peers.clear();
        reply.getMembersList().forEach(m -> peers.put(m.getNodeId(), m.getRaftAddress()));
        peers.put(id, self);
        if (dataDirectory != null) {
          new NodeIdentity(id, clusterId, incarnation, self).write(dataDirectory);
        }
      } else {
        entry = NodeRuntime.Entry.BOOTSTRAP;
        id = identity != null ? identity.nodeId() : nodeId;
        if (id < 1) {
          throw new Errors.InvalidArgumentException("nodeId must be >= 1, got " + id);
        }
        if (peers.isEmpty()) {
          peers.put(id, requireRaftAddress(id));
        }
        if (!peers.containsKey(id)) {
          throw new Errors.InvalidArgumentException("members " + peers.keySet() + " do not include node " + id);
        }
        incarnation = identity != null ? identity.incarnation() : NodeIdentity.newIncarnation();
        if (dataDirectory != null) {
          new NodeIdentity(id, clusterId, incarnation, peers.get(id)).write(dataDirectory);
        }
      }
      if (dataDirectory != null) {
        LOG.info("node {}: data directory {} ({})", id, dataDirectory.toAbsolutePath(), entry);
      } else {
        // Ratis's in-memory log never commits in a one-member group, so the log and the state
        // stores go to a temporary directory instead (one code path); nothing survives the node.
        LOG.info("node {}: no data directory configured: the Raft log and the workflow state live in {}, "
            + "deleted when the node stops; nothing survives a restart", id, temporary);
      }
      NodeRuntime runtime;
      try {
        runtime = launch.newRuntime(id, peers, incarnation);
        opened.add(runtime);
        runtime.start(entry);
      } catch (IOException | RuntimeException e) {
        io.raftoral.storage.CorruptStateException corruptState = corruptState(e);
        if (dataDirectory != null && corruptState != null) {
          throw new RaftoralException("data directory " + dataDirectory + " of node " + id + ": " + corruptState.getMessage(), e);
        }
        if (dataDirectory != null && mentionsCorruption(e)) {
          throw new RaftoralException("data directory " + dataDirectory + " of node " + id + " holds a corrupted or truncated "
              + "Raft log (" + rootMessage(e) + "); refusing to use it. Restore it from a backup, or start the node with an "
              + "empty data directory to join the cluster again as a new node", e);
        }
        if (bindFailure(e)) {
          throw new RaftoralException("node " + id + ": cannot serve raft on " + peers.get(id) + ": the address is in use or not "
              + "bindable (" + rootMessage(e) + ")", e);
        }
        throw e instanceof RaftoralException re ? re : new RaftoralException("cannot start node " + id + ": " + e.getMessage(), e);
      }
      if (entry == NodeRuntime.Entry.JOIN) {
        Launch.awaitAdmission(runtime, id);
      }
      ApiServer api = null;
      if (apiAddress != null) {
        try {
          api = ApiServer.start(apiAddress, runtime);
        } catch (IOException e) {
          throw new RaftoralException("node " + id + ": cannot serve the api on " + apiAddress + ": " + e.getMessage(), e);
        }
      }
      DataDirectoryLock lock = opened.stream().filter(DataDirectoryLock.class::isInstance).map(DataDirectoryLock.class::cast)
          .findFirst().orElse(null);
      RaftoralNode node = new RaftoralNode(launch, runtime, api, lock);
      node.watch(runtime, entry == NodeRuntime.Entry.RECOVER);
      return node;
    }

    /** A whole number from {@code min} to {@code max} from a system property when it is set (logged as a warning), else {@code value}. */
    static int tuning(java.util.Properties system, String property, int value, int min, int max) {
      String set = system.getProperty(property);
      if (set == null) {
        return value;
      }
      int parsed;
      try {
        parsed = Integer.parseInt(set.strip());
      } catch (NumberFormatException e) {
        parsed = Integer.MIN_VALUE;
      }
      if (parsed < min || parsed > max) {
        throw new Errors.InvalidArgumentException(
            "system property " + property + " = '" + set + "': expected a whole number from " + min + " to " + max);
      }
      LOG.warn("{} = {} from a system property (tuning)", property, parsed);
      return parsed;
    }

    private static io.raftoral.storage.CorruptStateException corruptState(Throwable e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof io.raftoral.storage.CorruptStateException c) {
          return c;
        }
        for (Throwable s : t.getSuppressed()) {
          io.raftoral.storage.CorruptStateException c = corruptState(s);
          if (c != null) {
            return c;
          }
        }
      }
      return null;
    }

    /** Ratis reports a log it cannot read (checksum mismatch, garbage after the end) while it loads it. */
    private static boolean mentionsCorruption(Throwable e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        String m = String.valueOf(t.getMessage()).toLowerCase(java.util.Locale.ROOT);
        if (m.contains("initraftlog") || m.contains("corrupt") || m.contains("checksum")) {
          return true;
        }
      }
      return false;
    }

    private static String rootMessage(Throwable e) {
      Throwable t = e;
      while (t.getCause() != null && t.getCause() != t) {
        t = t.getCause();
      }
      String m = t.getMessage() == null ? t.toString() : t.getMessage();
      return m.length() > 300 ? m.substring(0, 300) + "..." : m;
    }

    private String requireRaftAddress(long id) {
      String address = raftAddress != null ? raftAddress : members.get(id);
      if (address == null) {
        throw new Errors.InvalidArgumentException("set raftAddress(...) (or members(...) including this node)");
      }
      return address;
    }

    private Path createTemporaryDirectory() {
      try {
        return Files.createTempDirectory("raftoral-node-");
      } catch (IOException e) {
        throw new RaftoralException("cannot create a temporary directory: " + e.getMessage(), e);
      }
    }

    /** Ratis keeps one directory per group under its storage directory. */
    private static boolean hasRaftStorage(Path raftDir) {
      try (Stream<Path> entries = Files.list(raftDir)) {
        return entries.anyMatch(Files::isDirectory);
      } catch (IOException e) {
        return false;
      }
    }

    /** Fails early, before anything is written or registered, when an address is taken or not bindable. */
    private static void ensureBindable(String what, String hostPort) {
      int colon = hostPort.lastIndexOf(':');
      try (java.net.ServerSocket s = new java.net.ServerSocket()) {
        s.setReuseAddress(true);
        s.bind(new java.net.InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))));
      } catch (java.net.BindException e) {
        throw new RaftoralException("cannot serve " + what + " on " + hostPort + ": the address is in use (another process "
            + "listens on it) or not this machine's (" + e.getMessage() + ")", e);
      } catch (IOException | RuntimeException e) {
        throw new RaftoralException("cannot serve " + what + " on " + hostPort + ": not bindable (" + e.getMessage() + ")", e);
      }
    }

    /** Ratis's server failed to bind its address (it used to exit the process on that). */
    private static boolean bindFailure(Throwable e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof java.net.BindException || String.valueOf(t.getMessage()).contains("Failed to start Grpc server")) {
          return true;
        }
      }
      return false;
    }
  }

  private static void deleteRecursively(Path dir) {
    Launch.deleteRecursively(dir);
  }
}
