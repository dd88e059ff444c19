package io.raftoral.api;

import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.raft.RaftSettings;
import io.raftoral.runtime.NodeRuntime;
import io.raftoral.runtime.Payloads;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
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
 * {@link Errors.NodeClosedException}.
 *
 * <h2>Thread safety</h2>
 * All methods may be called from any thread.
 */
public final class RaftoralNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RaftoralNode.class);

  private final NodeRuntime runtime;
  private final WorkflowRegistry registry;
  private final Payloads payloads;
  private final Path temporaryDirectory;

  private RaftoralNode(NodeRuntime runtime, WorkflowRegistry registry, Payloads payloads, Path temporaryDirectory) {
    this.runtime = runtime;
    this.registry = registry;
    this.payloads = payloads;
    this.temporaryDirectory = temporaryDirectory;
  }

  public static Builder builder() {
    return new Builder();
  }

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

  /** Internals for tests, tools and benchmarks; not a stable API. */
  public NodeRuntime runtime() {
    return runtime;
  }

  @Override
  public void close() {
    try {
      runtime.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      if (temporaryDirectory != null) {
        deleteRecursively(temporaryDirectory);
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

  /** Configures and starts a node. Only {@link #nodeId} is required. */
  public static final class Builder {
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
    private String apiAddress;
    private java.util.List<String> joinSeeds = java.util.List.of();
    private int maxVoters = 3;
    private int targetGroupSize = 3;
    private Duration nodeFailureTimeout = Duration.ofSeconds(10);
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

    /** Keep the Raft log and metadata under this directory; without it, everything is in memory. */
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
    public Builder join(java.util.List<String> seedApiAddresses) {
      this.joinSeeds = java.util.List.copyOf(seedApiAddresses);
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
     * cluster, tops up its execution groups and promotes a listener (default 10 s).
     */
    public Builder nodeFailureTimeout(Duration timeout) {
      this.nodeFailureTimeout = timeout;
      return this;
    }

    public <I, O> Builder register(WorkflowDefinition<I, O> definition) {
      registry.register(definition);
      return this;
    }

    /** Creates the node and starts its Raft server. */
    public RaftoralNode start() {
      if (nodeId < 1) {
        throw new Errors.InvalidArgumentException("nodeId must be >= 1, got " + nodeId);
      }
      if (members.isEmpty()) {
        if (raftAddress == null) {
          throw new Errors.InvalidArgumentException("set members(...) or raftAddress(...)");
        }
        members.put(nodeId, raftAddress);
      }
      if (!members.containsKey(nodeId)) {
        throw new Errors.InvalidArgumentException("members " + members.keySet() + " do not include node " + nodeId);
      }
      if (executionGroups < 1 || payloadLimitBytes < 1 || maxInFlight < 1) {
        throw new Errors.InvalidArgumentException("executionGroups, payloadLimitBytes and maxInFlightEntries must be >= 1");
      }
      Path temporary = null;
      Path raftDir;
      try {
        if (dataDirectory == null) {
          temporary = Files.createTempDirectory("raftoral-node-" + nodeId + "-");
          raftDir = temporary;
          // Ratis's in-memory log never commits in a one-member group, so the log goes to a
          // temporary directory instead; either way nothing survives the node.
          LOG.info("node {}: no data directory configured: workflow state lives in memory and the Raft log in {}, "
              + "deleted when the node stops; nothing survives a restart", nodeId, temporary);
        } else {
          raftDir = Files.createDirectories(dataDirectory.resolve("raft"));
          LOG.info("node {}: data directory {}", nodeId, dataDirectory.toAbsolutePath());
        }
      } catch (IOException e) {
        throw new RaftoralException("cannot prepare the data directory of node " + nodeId + ": " + e.getMessage(), e);
      }
      Payloads payloads = new Payloads(codec, payloadLimitBytes);
      // Room for one payload at the limit plus the command around it.
      int maxBatchBytes = Math.max(1 << 20, payloadLimitBytes + (64 << 10));
      RaftSettings settings = new RaftSettings(nodeId, members, raftDir, electionTimeout, electionTimeout.multipliedBy(2));
      NodeRuntime runtime = null;
      try {
        runtime = new NodeRuntime(settings,
            new NodeRuntime.Options(clusterId, executionGroups, payloads, requestTimeout, maxInFlight, maxBatchBytes), registry);
        runtime.start();
        return new RaftoralNode(runtime, registry, payloads, temporary);
      } catch (IOException | RuntimeException e) {
        if (runtime != null) {
          try {
            runtime.close();
          } catch (IOException | RuntimeException suppressed) {
            e.addSuppressed(suppressed);
          }
        }
        if (temporary != null) {
          deleteRecursively(temporary);
        }
        throw e instanceof RaftoralException re ? re
            : new RaftoralException("cannot start node " + nodeId + ": " + e.getMessage(), e);
      }
    }
  }

  private static void deleteRecursively(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      LOG.debug("cannot delete {}", dir, e);
    }
  }
}
