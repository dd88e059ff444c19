package io.raftoral.config;

import io.raftoral.common.Errors;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The options of one node: the one options type that every surface maps onto (the Java
 * builder {@code RaftoralNode.Builder}, the CLI's {@code raftoral node}, the C ABI's JSON
 * configuration, Python's {@code Node(...)} keywords and Go's {@code Config}). {@link #OPTIONS}
 * documents each one: name, default, unit, allowed range and what it does; docs/CONFIGURATION.md
 * is the same table.
 *
 * <p>Names follow one rule from the option's name here ({@link Option#name}, e.g.
 * {@code snapshotThreshold}): builder method {@code snapshotThreshold}, CLI flag
 * {@code --snapshot-threshold}, C ABI key {@code snapshot_threshold} (a duration carries its
 * unit: {@code retention_ms}, {@code batch_linger_us}), Python keyword {@code snapshot_threshold}
 * (durations in seconds or a {@code timedelta}), Go field {@code SnapshotThreshold} (with Go's
 * initialisms: {@code NodeID}, {@code APIAddress}, {@code HTTPAddress}).
 *
 * <p>Immutable; {@link #validate()} refuses a value outside its range with an {@link
 * Errors.InvalidArgumentException} naming the option.
 *
 * @param nodeId this node's id; 0 when not set (a joining node gets one from the cluster)
 * @param members the bootstrap members, node id to Raft host:port (empty: this node alone)
 * @param raftAddress this node's Raft host:port, or null (then its entry in {@code members})
 * @param apiAddress where the client API is served, or null (none)
 * @param workerAddress where workers connect (the worker protocol), or null (none)
 * @param httpAddress where the console, {@code /metrics} and health are served over HTTP, or null (none)
 * @param join API addresses of a running cluster to join (empty: bootstrap or restart)
 * @param dataDir where the node keeps its files, or null (in memory: nothing survives)
 * @param tlsCert this node's certificate chain (PEM), or null (plaintext)
 * @param tlsKey the private key of {@code tlsCert} (PKCS#8 PEM), or null
 * @param tlsCa the certificates (PEM) a client certificate must chain to, or null (none asked for)
 * @param authTokens the bearer tokens file ({@code raftoral token create}), or null (no tokens)
 */
public record NodeOptions(
    long nodeId,
    Map<Long, String> members,
    String raftAddress,
    String apiAddress,
    String workerAddress,
    String httpAddress,
    List<String> join,
    Path dataDir,
    String clusterId,
    int executionGroups,
    Duration electionTimeout,
    Duration requestTimeout,
    int maxInFlightEntries,
    Duration batchLinger,
    int maxVoters,
    int minGroupSize,
    int targetGroupSize,
    int maxGroupSize,
    Duration nodeFailureTimeout,
    boolean rejoinAfterRemoval,
    Duration retention,
    long snapshotThreshold,
    int payloadLimitBytes,
    long snapshotTransferRate,
    int snapshotChunkBytes,
    Path tlsCert,
    Path tlsKey,
    Path tlsCa,
    Path authTokens) {

  /** What kind of value an option holds, which says how each surface spells a value of it. */
  public enum Kind { ID, MEMBERS, ADDRESS, ADDRESSES, PATH, TEXT, COUNT, DURATION, BOOLEAN }

  /**
   * One option: its name (the record component and builder method), kind, unit (durations: the
   * C ABI key's suffix), default and allowed range as text, and what it does.
   */
  public record Option(String name, Kind kind, String unit, String defaultValue, String range, String doc) {
    /** The CLI flag: {@code --snapshot-threshold}. */
    public String cliName() {
      return "--" + String.join("-", words());
    }

    /** The C ABI JSON key: {@code snapshot_threshold}; a duration's carries its unit ({@code retention_ms}). */
    public String cKey() {
      return pythonName() + (kind == Kind.DURATION ? "_" + unit : "");
    }

    /** The Python keyword: {@code snapshot_threshold}. */
    public String pythonName() {
      return String.join("_", words());
    }

    /** The Go Config field: {@code SnapshotThreshold}, with Go's initialisms ({@code NodeID}, {@code APIAddress}). */
    public String goName() {
      StringBuilder b = new StringBuilder();
      for (String w : words()) {
        b.append(switch (w) {
          case "id", "api", "http", "tls", "ca" -> w.toUpperCase(Locale.ROOT);
          default -> Character.toUpperCase(w.charAt(0)) + w.substring(1);
        });
      }
      return b.toString();
    }

    private List<String> words() {
      return List.of(name.split("(?=[A-Z])")).stream().map(w -> w.toLowerCase(Locale.ROOT)).toList();
    }
  }

  public static final Duration DEFAULT_NODE_FAILURE_TIMEOUT = Duration.ofSeconds(30);
  public static final long DEFAULT_SNAPSHOT_THRESHOLD = 10_000;
  // The snapshot transfer's are RaftSettings's (config may not import raft, the layer above it);
  // NodeOptionsEdgeTest pins them equal, so a value valid here is valid there.
  public static final long DEFAULT_SNAPSHOT_TRANSFER_RATE = 0;
  public static final int DEFAULT_SNAPSHOT_CHUNK_BYTES = 1 << 20;
  public static final int MIN_SNAPSHOT_CHUNK_BYTES = 64 << 10;
  public static final int MAX_SNAPSHOT_CHUNK_BYTES = 8 << 20;
  public static final Duration MAX_BATCH_LINGER = Duration.ofSeconds(1);
  public static final int MAX_EXECUTION_GROUPS = 1024;
  public static final int MAX_IN_FLIGHT_ENTRIES = 1024;
  public static final int MAX_VOTERS = 99;
  public static final int MAX_GROUP_SIZE = 99;
  /** The longest duration option: what the C ABI's milliseconds can say, so that its nanoseconds never overflow (~292 years). */
  public static final Duration MAX_DURATION = Duration.ofMillis(Long.MAX_VALUE / 1_000_000);

  /** Every option, in the order the docs list them. */
  public static final List<Option> OPTIONS = List.of(
      new Option("nodeId", Kind.ID, "", "1 with the CLI's --bootstrap; none when joining", ">= 1",
          "This node's id, unique in the cluster; a joining node gets one from the cluster, a restarted one reads it from its data directory."),
      new Option("members", Kind.MEMBERS, "", "this node alone", "node id >= 1 -> host:port",
          "The bootstrap members, node id to Raft host:port, this node included; every member is given the same map."),
      new Option("raftAddress", Kind.ADDRESS, "", "this node's entry in members", "host:port",
          "Where this node's Raft server listens; peers reach it there."),
      new Option("apiAddress", Kind.ADDRESS, "", "none (embedding only)", "host:port (port 0: any free port)",
          "Where this node serves the client API (gRPC, with grpc.health.v1)."),
      new Option("workerAddress", Kind.ADDRESS, "", "none (no workers)", "host:port (port 0: any free port)",
          "Where worker processes connect to run workflow types beside this node (worker.proto); the CLI also accepts --worker-listen. Keep it on loopback: a worker is trusted with the workflows it runs."),
      new Option("httpAddress", Kind.ADDRESS, "", "none (no console, metrics or HTTP health)", "host:port (port 0: any free port)",
          "Where this node serves its web console, Prometheus metrics (/metrics) and health (/health/live, /health/ready) over HTTP; the CLI also accepts --http-addr. The console can terminate workflows: keep it on a trusted network."),
      new Option("join", Kind.ADDRESSES, "", "none (bootstrap)", "host:port, ...",
          "API addresses of a running cluster to join instead of bootstrapping one; ignored on a restart."),
      new Option("dataDir", Kind.PATH, "", "none (in memory: nothing survives the node)", "a directory",
          "Where the node keeps its identity, Raft log, snapshots and state stores, so that it survives restarts."),
      new Option("clusterId", Kind.TEXT, "", "raftoral", "not blank",
          "The cluster's name; nodes of different clusters never share a group, and a data directory of another cluster is refused."),
      new Option("executionGroups", Kind.COUNT, "", "1", "1..1024",
          "Execution groups the bootstrap members run side by side, each over all of them (set when the cluster is bootstrapped); groups that joins form later are disjoint."),
      new Option("electionTimeout", Kind.DURATION, "ms", "1000", ">= 1",
          "Raft's minimum election timeout (the maximum is twice it); a crashed leader is replaced after about this long."),
      new Option("requestTimeout", Kind.DURATION, "ms", "30000", ">= 1",
          "How long a start, describe or list waits for the cluster before it fails."),
      new Option("maxInFlightEntries", Kind.COUNT, "", "2", "1..1024",
          "Raft entries a group may have in flight; commands wait and are batched beyond it."),
      new Option("batchLinger", Kind.DURATION, "us", "200", "0..1000000",
          "Under load, how long a group's free entry slot waits for more commands before it sends (0: never waits)."),
      new Option("maxVoters", Kind.COUNT, "", "3", "1..99",
          "Voters of the management group; further nodes are non-voting listeners."),
      new Option("minGroupSize", Kind.COUNT, "", "3", "1..50, <= targetGroupSize",
          "The fewest members an execution group keeps: a group below it is topped up from a group above the target, else merged into another."),
      new Option("targetGroupSize", Kind.COUNT, "", "3", "minGroupSize..maxGroupSize",
          "Members per execution group the cluster works toward: members beyond it in several groups form a new group."),
      new Option("maxGroupSize", Kind.COUNT, "", "5", "targetGroupSize..99, >= 2 * minGroupSize - 1",
          "The most members an execution group has: a join that would pass it splits the group in two of at least minGroupSize."),
      new Option("nodeFailureTimeout", Kind.DURATION, "ms", "30000", ">= 1",
          "How long a member may stay unreachable before the cluster removes it and replaces it in its groups."),
      new Option("rejoinAfterRemoval", Kind.BOOLEAN, "", "true", "true, false",
          "Whether a node its cluster removed rejoins by itself as a new node (true) or stops saying so (false)."),
      new Option("retention", Kind.DURATION, "ms", "604800000 (7 days)", ">= 1",
          "How long finished workflows are kept before they are pruned on every replica."),
      new Option("snapshotThreshold", Kind.COUNT, "entries", "10000", ">= 1",
          "Each group snapshots its state after this many Raft entries and purges its log up to the snapshot."),
      new Option("payloadLimitBytes", Kind.COUNT, "bytes", "4194304 (4 MiB)", "1..2147483647",
          "The largest input, checkpoint value or result."),
      new Option("snapshotTransferRate", Kind.COUNT, "bytes/s", "0 (no limit)", ">= 0",
          "The most bytes per second this node sends to followers that fetch its snapshots out of band, over all of them (0: no limit)."),
      new Option("snapshotChunkBytes", Kind.COUNT, "bytes", "1048576 (1 MiB)", "65536..8388608",
          "The bytes of one chunk of a snapshot transfer: what a follower verifies, and resumes after, at a time."),
      new Option("tlsCert", Kind.PATH, "", "none (plaintext)", "a PEM file, with tlsKey",
          "This node's certificate chain (PEM): the client API is served over TLS with it, and a join presents it to the cluster (docs/SECURITY.md)."),
      new Option("tlsKey", Kind.PATH, "", "none", "a PKCS#8 PEM file, with tlsCert",
          "The private key of tlsCert (PKCS#8 PEM, as raftoral certs init writes it)."),
      new Option("tlsCa", Kind.PATH, "", "none (no client certificates)", "a PEM file, with tlsCert",
          "The cluster's CA certificates (PEM): every API call except health must then authenticate, with a client certificate that chains to them (its role is the certificate's OU) or a token of authTokens; a joining node trusts the cluster's nodes by them."),
      new Option("authTokens", Kind.PATH, "", "none (no authentication)", "a tokens file",
          "The bearer tokens file (raftoral token create): every API call except health must then authenticate, with a token of the file or a certificate of tlsCa, and its role must allow the call; the file is reloaded when it changes."));

  public NodeOptions {
    members = members == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(members));
    join = join == null ? List.of() : List.copyOf(join);
  }

  /** The defaults: a one-node cluster in memory that serves no API (a Raft address is still needed). */
  public static NodeOptions defaults() {
    return new NodeOptions(0, Map.of(), null, null, null, null, List.of(), null, "raftoral", 1, Duration.ofMillis(1000),
        Duration.ofSeconds(30), 2, Duration.ofNanos(200_000), 3, 3, 3, 5, DEFAULT_NODE_FAILURE_TIMEOUT, true, Duration.ofDays(7),
        DEFAULT_SNAPSHOT_THRESHOLD, 4 * 1024 * 1024, DEFAULT_SNAPSHOT_TRANSFER_RATE,
        DEFAULT_SNAPSHOT_CHUNK_BYTES, null, null, null, null);
  }

  /** The option called {@code name}. */
  public static Option option(String name) {
    return OPTIONS.stream().filter(o -> o.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no node option " + name));
  }

  /**
   * An option set outside its allowed range.
   *
   * @param rule what it must be, e.g. "must be between 1 and 7"
   */
  public record Problem(Option option, String rule, Object got) {
    /** The message for a surface that spells the option {@code name} (e.g. a CLI flag). */
    public String message(String name) {
      return name + " " + rule + ", got " + got;
    }
  }

  /**
   * Returns this when every option is within its range.
   *
   * @throws Errors.InvalidArgumentException naming the first option that is not
   */
  public NodeOptions validate() {
    Problem p = problem();
    if (p != null) {
      throw new Errors.InvalidArgumentException(p.message(p.option().name()));
    }
    return this;
  }

  /** The first option outside its range, or null when every one is within. */
  public Problem problem() {
    if (nodeId < 0) {
      return problem("nodeId", "must be >= 1", nodeId);
    }
    for (Map.Entry<Long, String> m : members.entrySet()) {
      if (m.getKey() == null || m.getKey() < 1 || !isHostPort(m.getValue())) {
        return problem("members", "must map node ids >= 1 to host:port", members);
      }
    }
    // Checked here, not when the node binds: a bad address is the caller's error naming the
    // option, not a failed start.
    if (raftAddress != null && !isHostPort(raftAddress)) {
      return problem("raftAddress", "must be host:port", "'" + raftAddress + "'");
    }
    // The node listens on its entry in members; a different raftAddress would be ignored.
    if (raftAddress != null && members.containsKey(nodeId) && !members.get(nodeId).equals(raftAddress)) {
      return problem("raftAddress", "must equal this node's entry in members (" + members.get(nodeId) + ")", "'" + raftAddress + "'");
    }
    if (apiAddress != null && !isHostPort(apiAddress)) {
      return problem("apiAddress", "must be host:port", "'" + apiAddress + "'");
    }
    if (workerAddress != null && !isHostPort(workerAddress)) {
      return problem("workerAddress", "must be host:port", "'" + workerAddress + "'");
    }
    if (httpAddress != null && !isHostPort(httpAddress)) {
      return problem("httpAddress", "must be host:port", "'" + httpAddress + "'");
    }
    if (join.stream().anyMatch(a -> !isHostPort(a))) {
      return problem("join", "must be host:port addresses", join);
    }
    if (clusterId == null || clusterId.isBlank()) {
      return problem("clusterId", "must not be blank", "'" + clusterId + "'");
    }
    if (!wellFormed(clusterId)) {
      return problem("clusterId", "must be valid Unicode (no unpaired surrogate)", "'" + clusterId + "'");
    }
    Problem p = firstOf(
        range("executionGroups", executionGroups, 1, MAX_EXECUTION_GROUPS),
        positive("electionTimeout", electionTimeout),
        positive("requestTimeout", requestTimeout),
        range("maxInFlightEntries", maxInFlightEntries, 1, MAX_IN_FLIGHT_ENTRIES));
    if (p != null) {
      return p;
    }
    if (batchLinger == null || batchLinger.isNegative() || batchLinger.compareTo(MAX_BATCH_LINGER) > 0) {
      return problem("batchLinger", "must be between 0 and " + MAX_BATCH_LINGER, batchLinger);
    }
    p = firstOf(
        range("maxVoters", maxVoters, 1, MAX_VOTERS),
        // At most 50: a larger minimum would need a maximum above 99 (max >= 2 * min - 1).
        range("minGroupSize", minGroupSize, 1, (MAX_GROUP_SIZE + 1) / 2),
        range("targetGroupSize", targetGroupSize, minGroupSize, MAX_GROUP_SIZE),
        range("maxGroupSize", maxGroupSize, Math.max(targetGroupSize, 2L * minGroupSize - 1), MAX_GROUP_SIZE),
        positive("nodeFailureTimeout", nodeFailureTimeout),
        positive("retention", retention),
        range("snapshotThreshold", snapshotThreshold, 1, Long.MAX_VALUE),
        range("payloadLimitBytes", payloadLimitBytes, 1, Integer.MAX_VALUE),
        // RaftSettings's bounds, checked here so that a bad value is the caller's error naming the option, not a failed start.
        range("snapshotTransferRate", snapshotTransferRate, 0, Long.MAX_VALUE),
        range("snapshotChunkBytes", snapshotChunkBytes, MIN_SNAPSHOT_CHUNK_BYTES, MAX_SNAPSHOT_CHUNK_BYTES));
    return p != null ? p : tlsProblem();
  }

  /** TLS needs a certificate with its key; client certificates need TLS to arrive on. */
  private Problem tlsProblem() {
    if ((tlsCert == null) != (tlsKey == null)) {
      return tlsCert == null ? problem("tlsCert", "must be set with tlsKey", "none") : problem("tlsKey", "must be set with tlsCert", "none");
    }
    if (tlsCa != null && tlsCert == null) {
      return problem("tlsCa", "needs tlsCert and tlsKey (client certificates arrive over TLS)", "'" + tlsCa + "'");
    }
    return null;
  }

  private static Problem firstOf(Problem... problems) {
    for (Problem p : problems) {
      if (p != null) {
        return p;
      }
    }
    return null;
  }

  private static Problem range(String name, long value, long min, long max) {
    if (value >= min && value <= max) {
      return null;
    }
    return problem(name, max == Long.MAX_VALUE ? "must be >= " + min : "must be between " + min + " and " + max, value);
  }

  private static Problem positive(String name, Duration value) {
    // compareTo, not toMillis: toMillis throws on a duration beyond Long.MAX_VALUE ms.
    return value != null && value.compareTo(Duration.ofMillis(1)) >= 0 && value.compareTo(MAX_DURATION) <= 0 ? null
        : problem(name, "must be between 1 ms and " + MAX_DURATION.toMillis() + " ms", value);
  }

  private static boolean wellFormed(String s) {
    try {
      io.raftoral.common.Text.requireWellFormed("", s);
      return true;
    } catch (Errors.InvalidArgumentException e) {
      return false;
    }
  }

  /** {@code host:port}: no blank, IPv6 in brackets, a port of 0..65535 (0: any free port). */
  static boolean isHostPort(String address) {
    if (address == null || address.isEmpty() || address.chars().anyMatch(Character::isWhitespace) || !wellFormed(address)) {
      return false;
    }
    int colon = address.lastIndexOf(':');
    if (colon <= 0 || colon == address.length() - 1) {
      return false;
    }
    String host = address.substring(0, colon);
    String port = address.substring(colon + 1);
    boolean bracketed = host.startsWith("[") && host.endsWith("]") && host.length() > 2;
    if (!bracketed && host.contains(":")) {
      return false;
    }
    return port.length() <= 5 && port.chars().allMatch(c -> c >= '0' && c <= '9') && Integer.parseInt(port) <= 65535;
  }

  private static Problem problem(String name, String rule, Object got) {
    return new Problem(option(name), rule, got);
  }

  public static Builder builder() {
    return new Builder(defaults());
  }

  /** A copy of these options to change. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /** Sets options one by one; {@link #build} validates them. Not thread-safe. */
  public static final class Builder {
    private long nodeId;
    private Map<Long, String> members;
    private String raftAddress;
    private String apiAddress;
    private List<String> join;
    private Path dataDir;
    private String clusterId;
    private int executionGroups;
    private Duration electionTimeout;
    private Duration requestTimeout;
    private int maxInFlightEntries;
    private Duration batchLinger;
    private int maxVoters;
    private int minGroupSize;
    private int targetGroupSize;
    private int maxGroupSize;
    private Duration nodeFailureTimeout;
    private boolean rejoinAfterRemoval;
    private Duration retention;
    private long snapshotThreshold;
    private int payloadLimitBytes;
    private long snapshotTransferRate;
    private int snapshotChunkBytes;
    private String workerAddress;
    private String httpAddress;
    private Path tlsCert;
    private Path tlsKey;
    private Path tlsCa;
    private Path authTokens;

    private Builder(NodeOptions o) {
      nodeId = o.nodeId;
      members = o.members;
      raftAddress = o.raftAddress;
      apiAddress = o.apiAddress;
      join = o.join;
      dataDir = o.dataDir;
      clusterId = o.clusterId;
      executionGroups = o.executionGroups;
      electionTimeout = o.electionTimeout;
      requestTimeout = o.requestTimeout;
      maxInFlightEntries = o.maxInFlightEntries;
      batchLinger = o.batchLinger;
      maxVoters = o.maxVoters;
      minGroupSize = o.minGroupSize;
      targetGroupSize = o.targetGroupSize;
      maxGroupSize = o.maxGroupSize;
      nodeFailureTimeout = o.nodeFailureTimeout;
      rejoinAfterRemoval = o.rejoinAfterRemoval;
      retention = o.retention;
      snapshotThreshold = o.snapshotThreshold;
      payloadLimitBytes = o.payloadLimitBytes;
      snapshotTransferRate = o.snapshotTransferRate;
      snapshotChunkBytes = o.snapshotChunkBytes;
      workerAddress = o.workerAddress;
      httpAddress = o.httpAddress;
      tlsCert = o.tlsCert;
      tlsKey = o.tlsKey;
      tlsCa = o.tlsCa;
      authTokens = o.authTokens;
    }

    public Builder nodeId(long v) {
      nodeId = v;
      return this;
    }

    public Builder members(Map<Long, String> v) {
      members = Objects.requireNonNull(v, "members");
      return this;
    }

    public Builder raftAddress(String v) {
      raftAddress = v;
      return this;
    }

    public Builder apiAddress(String v) {
      apiAddress = v;
      return this;
    }

    public Builder workerAddress(String v) {
      workerAddress = v;
      return this;
    }

    public Builder httpAddress(String v) {
      httpAddress = v;
      return this;
    }

    public Builder join(List<String> v) {
      join = Objects.requireNonNull(v, "join");
      return this;
    }

    public Builder dataDir(Path v) {
      dataDir = v;
      return this;
    }

    public Builder clusterId(String v) {
      clusterId = v;
      return this;
    }

    public Builder executionGroups(int v) {
      executionGroups = v;
      return this;
    }

    public Builder electionTimeout(Duration v) {
      electionTimeout = v;
      return this;
    }

    public Builder requestTimeout(Duration v) {
      requestTimeout = v;
      return this;
    }

    public Builder maxInFlightEntries(int v) {
      maxInFlightEntries = v;
      return this;
    }

    public Builder batchLinger(Duration v) {
      batchLinger = v;
      return this;
    }

    public Builder maxVoters(int v) {
      maxVoters = v;
      return this;
    }

    public Builder minGroupSize(int v) {
      minGroupSize = v;
      return this;
    }

    public Builder targetGroupSize(int v) {
      targetGroupSize = v;
      return this;
    }

    public Builder maxGroupSize(int v) {
      maxGroupSize = v;
      return this;
    }

    public Builder nodeFailureTimeout(Duration v) {
      nodeFailureTimeout = v;
      return this;
    }

    public Builder rejoinAfterRemoval(boolean v) {
      rejoinAfterRemoval = v;
      return this;
    }

    public Builder retention(Duration v) {
      retention = v;
      return this;
    }

    public Builder snapshotThreshold(long v) {
      snapshotThreshold = v;
      return this;
    }

    public Builder payloadLimitBytes(int v) {
      payloadLimitBytes = v;
      return this;
    }

    public Builder snapshotTransferRate(long v) {
      snapshotTransferRate = v;
      return this;
    }

    public Builder snapshotChunkBytes(int v) {
      snapshotChunkBytes = v;
      return this;
    }

    public Builder tlsCert(Path v) {
      tlsCert = v;
      return this;
    }

    public Builder tlsKey(Path v) {
      tlsKey = v;
      return this;
    }

    public Builder tlsCa(Path v) {
      tlsCa = v;
      return this;
    }

    public Builder authTokens(Path v) {
      authTokens = v;
      return this;
    }

    /** The options as set so far, not validated. */
    public NodeOptions current() {
      return new NodeOptions(nodeId, members, raftAddress, apiAddress, workerAddress, httpAddress, join, dataDir, clusterId, executionGroups,
          electionTimeout, requestTimeout, maxInFlightEntries, batchLinger, maxVoters, minGroupSize, targetGroupSize, maxGroupSize, nodeFailureTimeout,
          rejoinAfterRemoval, retention, snapshotThreshold, payloadLimitBytes, snapshotTransferRate, snapshotChunkBytes,
          tlsCert, tlsKey, tlsCa, authTokens);
    }

    /**
     * @throws Errors.InvalidArgumentException naming the first option out of its range
     */
    public NodeOptions build() {
      return current().validate();
    }
  }
}
