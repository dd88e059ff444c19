package io.raftoral.api;

import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.RaftoralException;
import io.raftoral.common.ReplayReport;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowType;
import io.raftoral.config.NodeOptions;
import io.raftoral.node.NodeStarter;
import io.raftoral.node.RunningNode;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.runtime.NodeRuntime;
import io.raftoral.runtime.Payloads;
import io.raftoral.workflow.JsonCodec;
import io.raftoral.workflow.PayloadCodec;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

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
  // Startup, the data directory, restarts after faults and rejoins live in the node layer
  // (io.raftoral.node.NodeStarter, RunningNode); this class is the user's surface over it.
  private final RunningNode node;
  private final WorkflowRegistry registry;
  private final Payloads payloads;

  private RaftoralNode(RunningNode node) {
    this.node = node;
    this.registry = node.registry();
    this.payloads = node.payloads();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** This node's id; a node that rejoined its cluster as a new node has a new one. */
  public long nodeId() {
    return node.runtime().nodeId();
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
    // The definition's input type when the input is one (a workflow over raw bytes, e.g. run by a
    // worker or a C callback, still takes a JSON-encoded value); else the value's own class, and the
    // leader's admission checks that the bytes decode as the definition's input.
    Class<?> inputType = definition != null && (input == null || definition.inputType().isInstance(input))
        ? definition.inputType() : (input == null ? Object.class : input.getClass());
    byte[] bytes = payloads.encode("input of workflow " + t, input, inputType);
    // The caller's current span, if it has one: the workflow's spans join its trace.
    NodeRuntime.Started started = node.runtime().start(t, bytes, workflowId, io.raftoral.runtime.NodeTracing.currentTraceParent());
    return new Handle<>(started.workflowId(), started.executionGroup(), resultType);
  }

  /**
   * A new workflow id naming the least-loaded execution group open to starts
   * ({@code g<index>-<uuid>}, see {@link io.raftoral.common.WorkflowIds}), as a start without an
   * id would choose: start with it to be able to retry that start (idempotent by id) after a
   * timeout, without the cost of a caller-chosen id's claim.
   */
  public String newWorkflowId() {
    return node.runtime().newWorkflowId();
  }

  /** As {@link #start(String, int, Object, Class, String)} with a generated workflow id. */
  public <O> WorkflowHandle<O> start(String type, int version, Object input, Class<O> resultType) {
    return start(type, version, input, resultType, null);
  }

  /** A handle on an existing workflow, to await or describe it. */
  public <O> WorkflowHandle<O> handle(String workflowId, Class<O> resultType) {
    return new Handle<>(workflowId, node.runtime().executionGroupOf(workflowId), resultType);
  }

  /** @throws Errors.WorkflowNotFoundException for an unknown id */
  public WorkflowInfo describe(String workflowId) {
    return node.runtime().describe(workflowId);
  }

  /**
   * Workflows across every execution group matching the query, one page at a time, in
   * (started-at, id) order.
   */
  public ListPage list(ListQuery query) {
    return node.runtime().list(Objects.requireNonNull(query, "query"));
  }

  /**
   * Every committed checkpoint of the workflow, every key, in the order they were committed (see
   * {@link HistoryQuery}). Reads page after page to the end; use
   * {@link #history(String, HistoryQuery)} to page yourself.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   */
  public List<HistoryEntry> history(String workflowId) {
    return allPages(workflowId, HistoryQuery.allKeys());
  }

  /**
   * Every committed value of one checkpoint key, in seq order, read page after page to the end.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   * @throws Errors.InvalidArgumentException for a null or empty key (use {@link #history(String)})
   */
  public List<HistoryEntry> history(String workflowId, String key) {
    if (key == null || key.isEmpty()) {
      throw new Errors.InvalidArgumentException("checkpoint key must not be null or empty; history(workflowId) reads every key");
    }
    return allPages(workflowId, HistoryQuery.ofKey(key));
  }

  /**
   * One page of the workflow's history (see {@link HistoryQuery} for the order); pass the page's
   * {@link HistoryPage#nextPageToken()} in {@link HistoryQuery#after} for the next one.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   */
  public HistoryPage history(String workflowId, HistoryQuery query) {
    return node.runtime().history(workflowId, Objects.requireNonNull(query, "query"));
  }

  /** A history entry's value decoded as this node's codec decodes checkpoint values and results. */
  public <T> T decode(HistoryEntry entry, Class<T> type) {
    return payloads.decode(entry.value(), type);
  }

  /**
   * Runs {@code definition}'s function on this node, read-only, against the workflow's recorded
   * input and checkpoint history, and reports whether it makes the same checkpoint calls in the
   * same order and ends as the recorded run ended, or the first step where it diverges: the check
   * before deploying a new version of a workflow's code. Every checkpoint call returns the
   * recorded value of its (key, seq); a {@code checkpointCompute} function never runs; nothing is
   * proposed to the cluster. A {@code checkpointCompute} the history has no value for is taken as
   * failed in the recorded run (a failure commits nothing): it throws
   * {@link io.raftoral.workflow.ReplayedSideEffectFailure} and the report notes it. The definition
   * may be of another version than the workflow's (the code to be deployed). Rules:
   * docs/ARCHITECTURE.md, "Replay".
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   * @throws Errors.TimeoutException when the function does not end within the request timeout
   *     (it blocks outside checkpoint calls)
   */
  public ReplayReport replay(String workflowId, WorkflowDefinition<?, ?> definition) {
    return replay(workflowId, definition, node.runtime().requestTimeout());
  }

  /**
   * As {@link #replay(String, WorkflowDefinition)}, waiting up to {@code timeout} for the function
   * (code that sleeps between its checkpoints needs longer than the request timeout). A function
   * still running then is interrupted.
   *
   * @throws Errors.TimeoutException when the function has not ended within {@code timeout}
   */
  public ReplayReport replay(String workflowId, WorkflowDefinition<?, ?> definition, Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new Errors.InvalidArgumentException("replay timeout must be positive, got " + timeout);
    }
    return node.runtime().replay(workflowId, Objects.requireNonNull(definition, "definition"), timeout);
  }

  /**
   * As {@link #replay(String, WorkflowDefinition)} with the definition registered on this node
   * for the workflow's type and version.
   *
   * @throws Errors.NotRegisteredException when none is registered here
   */
  public ReplayReport replay(String workflowId) {
    return node.runtime().replay(workflowId, null, node.runtime().requestTimeout());
  }

  private List<HistoryEntry> allPages(String workflowId, HistoryQuery first) {
    List<HistoryEntry> all = new java.util.ArrayList<>();
    HistoryQuery q = first;
    while (true) {
      HistoryPage page = history(workflowId, q);
      all.addAll(page.entries());
      if (page.nextPageToken() == null) {
        return all;
      }
      q = q.after(page.nextPageToken());
    }
  }

  /**
   * Terminates a running workflow (SPEC §6); for a finished one it changes nothing. Returns the
   * workflow's info after the call.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   */
  public WorkflowInfo terminate(String workflowId, String reason) {
    return node.runtime().terminate(workflowId, reason);
  }

  /**
   * What tests, tools and operators look at inside the node (its replicas, logs, where a workflow
   * lives); not a stable API. A node that restarted or rejoined hands out a new one.
   */
  public io.raftoral.runtime.NodeInspector inspector() {
    return node.runtime().inspector();
  }

  /**
   * Completes when the node stops: normally after {@link #close}, exceptionally when it stopped
   * itself: the cluster removed it and it does not rejoin by itself ({@link
   * Builder#rejoinAfterRemoval}, or it knows no other member to rejoin through), or a restart
   * the cluster refused. The exception ({@link Errors.NodeRemovedException} for a removal) says
   * what to do. A host process waits on it.
   */
  public CompletableFuture<Void> stopped() {
    return node.stopped();
  }

  /** The address the client API is served on, or null when this node serves none. */
  public String apiAddress() {
    return node.apiAddress();
  }

  /** The address workers connect to (the bound one), or null when this node serves none. */
  public String workerAddress() {
    return node.workerAddress();
  }

  /** The address of the HTTP port (console, {@code /metrics}, health; the bound one), or null when this node serves none. */
  public String httpAddress() {
    return node.httpAddress();
  }

  /**
   * The node's meters (docs/OPERATIONS.md, "Metrics"), also without an HTTP port: bind them into
   * the application's own registry, or read them in a test.
   */
  public io.micrometer.core.instrument.MeterRegistry meters() {
    return node.meters();
  }

  /**
   * Stops serving, hands off the leadership of every group this node leads, and stops the node.
   * Its workflows continue on the other members.
   */
  @Override
  public void close() {
    node.close();
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
      WorkflowRecord r = node.runtime().awaitFinal(workflowId, timeout);
      return switch (r.getStatus()) {
        case COMPLETED -> payloads.decode(r.getResult().toByteArray(), resultType);
        case FAILED -> throw new Errors.WorkflowFailedException(workflowId, r.getError().getType(), r.getError().getMessage());
        case TERMINATED -> throw new Errors.WorkflowTerminatedException(workflowId, r.getTerminationReason());
        default -> throw new IllegalStateException("workflow " + workflowId + " is not final: " + r.getStatus());
      };
    }

    @Override
    public WorkflowInfo describe() {
      return node.runtime().describe(workflowId);
    }

    @Override
    public String toString() {
      return "WorkflowHandle[" + workflowId + " in " + executionGroup + "]";
    }
  }

  /**
   * Configures and starts a node: {@link #nodeId} (or {@link #join}) and a Raft address or member
   * list are required. Each option is one of {@link NodeOptions} (its default, unit and range
   * are documented there and in docs/CONFIGURATION.md); {@link #start} validates them.
   */
  public static final class Builder {
    /**
     * Long enough that a long GC pause or a short VM stall does not shrink the cluster (the
     * workflows of an unreachable owner fail over within the election timeout regardless),
     * short enough that a dead node's groups get their replacement within a minute. A node
     * removed by mistake rejoins by itself as a new node.
     */
    public static final Duration DEFAULT_NODE_FAILURE_TIMEOUT = NodeOptions.DEFAULT_NODE_FAILURE_TIMEOUT;

    private final NodeOptions.Builder options = NodeOptions.builder();
    private PayloadCodec codec = new JsonCodec();
    private io.opentelemetry.api.OpenTelemetry openTelemetry;
    private final WorkflowRegistry registry = new WorkflowRegistry();

    private Builder() {}

    /** This node's id, >= 1, unique in the cluster. */
    public Builder nodeId(long nodeId) {
      options.nodeId(nodeId);
      return this;
    }

    /** Every member's Raft address by node id, this node included (the bootstrap member list). */
    public Builder members(Map<Long, String> members) {
      options.members(members);
      return this;
    }

    /** This node's Raft address; needed only without {@link #members} (a one-node cluster). */
    public Builder raftAddress(String hostPort) {
      options.raftAddress(hostPort);
      return this;
    }

    /**
     * Keep the node's identity, Raft log, snapshots and state stores under this directory, so
     * the node survives restarts; without it (null), nothing survives the node.
     */
    public Builder dataDir(Path dir) {
      options.dataDir(dir);
      return this;
    }

    /** Same as {@link #dataDir}. */
    public Builder dataDirectory(Path dir) {
      return dataDir(dir);
    }

    /** Keep everything in memory (the default): state is lost when the node stops. */
    public Builder inMemory() {
      return dataDir(null);
    }

    /** Names the cluster; nodes of different clusters never share a Raft group. */
    public Builder clusterId(String clusterId) {
      options.clusterId(clusterId);
      return this;
    }

    /** How many execution groups the cluster runs, 1..1024 (default 1). */
    public Builder executionGroups(int count) {
      options.executionGroups(count);
      return this;
    }

    /** The largest input, checkpoint value or result, in bytes (default 4 MiB). */
    public Builder payloadLimitBytes(int limit) {
      options.payloadLimitBytes(limit);
      return this;
    }

    /**
     * Trace through the application's OpenTelemetry (docs/OPERATIONS.md, "Tracing"): the runs this
     * node executes as owner make spans in the trace of the code that started them. Without it
     * the node exports over OTLP when {@code OTEL_EXPORTER_OTLP_ENDPOINT} is set, else uses the
     * global OpenTelemetry (a no-op unless the application set one).
     */
    public Builder openTelemetry(io.opentelemetry.api.OpenTelemetry openTelemetry) {
      this.openTelemetry = Objects.requireNonNull(openTelemetry, "openTelemetry");
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
      options.electionTimeout(min);
      return this;
    }

    /** How long a start or describe waits for the cluster before failing (default 30 s). */
    public Builder requestTimeout(Duration timeout) {
      options.requestTimeout(timeout);
      return this;
    }

    /**
     * Under load, how long a group's free entry slot waits for more commands before it sends
     * (0..1 s, default 200 µs; zero never waits). It waits only while another entry is in flight
     * and the last entry carried several commands, so a lone client's steps never wait.
     */
    public Builder batchLinger(Duration linger) {
      options.batchLinger(linger);
      return this;
    }

    /** Raft entries a group may have in flight, 1..1024; commands wait and batch beyond it (default 2). */
    public Builder maxInFlightEntries(int count) {
      options.maxInFlightEntries(count);
      return this;
    }

    /**
     * Serve the client API (gRPC, with {@code grpc.health.v1}) on this host:port; port 0 picks a
     * free one. Without it the node serves no API (embedding only).
     */
    public Builder apiAddress(String hostPort) {
      options.apiAddress(hostPort);
      return this;
    }

    /**
     * Serve the worker protocol ({@code worker.proto}) on this host:port (port 0 picks a free
     * one): worker processes in any language connect there and run workflow types beside this
     * node. Keep it on loopback. Without it the node serves no workers.
     */
    public Builder workerAddress(String hostPort) {
      options.workerAddress(hostPort);
      return this;
    }

    /**
     * Serve the web console, Prometheus metrics ({@code /metrics}) and health ({@code
     * /health/live}, {@code /health/ready}) over HTTP on this host:port (port 0 picks a free
     * one). The console can terminate workflows: keep it on a trusted network. Without it the
     * node serves no HTTP ({@link RaftoralNode#meters()} still counts).
     */
    public Builder httpAddress(String hostPort) {
      options.httpAddress(hostPort);
      return this;
    }

    /**
     * Serve the client API over TLS with this certificate chain (PEM) and its key (PKCS#8 PEM,
     * as {@code raftoral certs init} writes them); a join presents them to the cluster.
     */
    public Builder tlsCert(Path certificateChain) {
      options.tlsCert(certificateChain);
      return this;
    }

    /** The private key of {@link #tlsCert} (PKCS#8 PEM). */
    public Builder tlsKey(Path privateKey) {
      options.tlsKey(privateKey);
      return this;
    }

    /**
     * The cluster's CA certificates (PEM): API calls must authenticate (a client certificate that
     * chains to them, its role in the certificate's OU, or a token of {@link #authTokens}); a join
     * trusts the cluster's nodes by them. Needs {@link #tlsCert}.
     */
    public Builder tlsCa(Path caCertificates) {
      options.tlsCa(caCertificates);
      return this;
    }

    /**
     * The bearer tokens file ({@code raftoral token create}): API calls must authenticate, and the
     * token's role must allow the call (docs/SECURITY.md). Reloaded when it changes.
     */
    public Builder authTokens(Path tokensFile) {
      options.authTokens(tokensFile);
      return this;
    }

    /**
     * Join a running cluster through any of these nodes' API addresses instead of bootstrapping
     * one. The node id is then allocated by the cluster, so {@link #nodeId} is not needed; only
     * {@link #raftAddress} and {@link #apiAddress}. Ignored when the data directory already
     * holds this node's identity (a restart).
     */
    public Builder join(List<String> seedApiAddresses) {
      options.join(List.copyOf(seedApiAddresses));
      return this;
    }

    /** Voters of the management group, 1..99; further nodes are non-voting listeners (default 3). */
    public Builder maxVoters(int count) {
      options.maxVoters(count);
      return this;
    }

    /**
     * The fewest members an execution group keeps, 1..50, at most {@link #targetGroupSize}
     * (default 3): a group below it is topped up from a group above the target, else merged into
     * another.
     */
    public Builder minGroupSize(int size) {
      options.minGroupSize(size);
      return this;
    }

    /**
     * Members per execution group the cluster works toward, {@link #minGroupSize}..{@link
     * #maxGroupSize} (default 3): members beyond it in several groups form a new group.
     */
    public Builder targetGroupSize(int size) {
      options.targetGroupSize(size);
      return this;
    }

    /**
     * The most members an execution group has, {@link #targetGroupSize}..99 and at least
     * {@code 2 * minGroupSize - 1} (default 5): a join that would pass it splits the group into
     * two of at least {@link #minGroupSize}.
     */
    public Builder maxGroupSize(int size) {
      options.maxGroupSize(size);
      return this;
    }

    /**
     * How long a member may stay unreachable before the management leader removes it from the
     * cluster, tops up its execution groups and promotes a listener (default 30 s). Silence is
     * counted only while the leader itself runs: a leader's own pause never removes anyone.
     */
    public Builder nodeFailureTimeout(Duration timeout) {
      options.nodeFailureTimeout(timeout);
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
      options.rejoinAfterRemoval(rejoin);
      return this;
    }

    /**
     * How long finished (completed, failed, terminated) workflows are kept before they are
     * pruned on every replica, input, result and checkpoints included (default 7 days).
     */
    public Builder retention(Duration retention) {
      options.retention(retention);
      return this;
    }

    /**
     * Each group snapshots its state after this many Raft entries and purges its log up to
     * the snapshot; a member too far behind, or a new one, catches up from the snapshot
     * (default 10,000).
     */
    public Builder snapshotThreshold(long entries) {
      options.snapshotThreshold(entries);
      return this;
    }

    /**
     * The most bytes per second this node sends to followers that fetch its snapshots out of
     * band, over all of them (>= 0; default 0: no limit).
     */
    public Builder snapshotTransferRate(long bytesPerSecond) {
      options.snapshotTransferRate(bytesPerSecond);
      return this;
    }

    /** The bytes of one chunk of a snapshot transfer, 65536..8388608 (default 1 MiB). */
    public Builder snapshotChunkBytes(int bytes) {
      options.snapshotChunkBytes(bytes);
      return this;
    }

    public <I, O> Builder register(WorkflowDefinition<I, O> definition) {
      registry.register(definition);
      return this;
    }

    /** The options as set so far (not validated: {@link #start} does that). */
    public NodeOptions options() {
      return options.current();
    }

    /**
     * Creates the node and starts it: bootstraps a cluster from {@link #members} (or this node
     * alone), joins one through {@link #join}, or, when the data directory already holds this
     * node's identity, restarts it as that node.
     *
     * @throws Errors.InvalidArgumentException naming an option out of its range
     * @throws RaftoralException saying why the node cannot start
     */
    public RaftoralNode start() {
      return new RaftoralNode(NodeStarter.start(options.build(), registry, codec,
          openTelemetry == null ? null : io.raftoral.runtime.NodeTracing.with(openTelemetry)));
    }
  }
}
