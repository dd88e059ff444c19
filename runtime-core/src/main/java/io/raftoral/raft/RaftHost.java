package io.raftoral.raft;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.RaftClientAsynchronousProtocol;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Ratis {@link RaftServer} per node hosting many groups (multi-raft): the management group
 * and the execution groups. Submits entries locally when this node leads the group (no client
 * RPC hop) and through a {@link RaftClient} otherwise.
 *
 * <p>The wall around Ratis: its callers name groups by {@link GroupId}, pass entries as bytes and
 * get {@link RaftReply}s, {@link GroupConfiguration}s and {@link LoggedEntry}s back; no Ratis type
 * crosses this class's public methods.
 */
public final class RaftHost implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RaftHost.class);

  static {
    // Ratis calls System.exit on some start failures (a raft port in use: "Failed to start Grpc
    // server"); in an embedding process that would kill the host. Make it throw instead.
    org.apache.ratis.util.ExitUtils.disableSystemExit();
  }

  /** Far longer than a group with a leader takes to answer (an election takes a few seconds). */
  static final java.time.Duration CLIENT_CALL_LIMIT = java.time.Duration.ofSeconds(30);
  // A replaced client's calls are over by then: async ones at CLIENT_CALL_LIMIT, blocking ones sooner (their retries).
  private static final java.util.concurrent.Executor RETIRED_CLIENT_CLOSE =
      CompletableFuture.delayedExecutor(CLIENT_CALL_LIMIT.toSeconds() + 5, TimeUnit.SECONDS);
  // Clients replaced by knowPeers, until they are closed.
  private final java.util.Set<RaftClient> retiring = ConcurrentHashMap.newKeySet();

  private final RaftSettings settings;
  private final ReplicaDirectories replicaDirectories;
  private final RaftPeerId self;
  private final RaftProperties properties;
  /** Ratis's parameters: the snapshot transfer service on its server, and TLS when the nodes use it. */
  private final Parameters parameters;
  private final RaftServer server;
  private final ClientId localClientId = ClientId.randomId();
  private final AtomicLong callIds = new AtomicLong();
  private final Map<RaftGroupId, RaftGroup> groups = new ConcurrentHashMap<>();
  private final Map<RaftGroupId, RaftClient> clients = new ConcurrentHashMap<>();
  // Read-only queries go through clients of their own: Ratis orders a client's read-only requests
  // in the same window as its writes, and a request that exhausts its retries closes that window,
  // failing every call in it. A query that keeps failing (a group whose answer throws, a leader
  // that does not answer in time) must not fail the group's writes with it.
  private final Map<RaftGroupId, RaftClient> queryClients = new ConcurrentHashMap<>();
  // The membership controller's reads (group status, export pages): clients of their own, blocking
  // calls outside any ordered window, so a read that keeps failing delays no client call.
  private final Map<RaftGroupId, RaftClient> probeClients = new ConcurrentHashMap<>();
  // For reconfiguration and leadership calls: few, bounded retries, so a caller that loops
  // (the membership controller) is never stuck on one group for long.
  private final Map<RaftGroupId, RaftClient> adminClients = new ConcurrentHashMap<>();
  private final RaftProperties adminProperties;
  // Out-of-band snapshots: served to peers on the Raft port, fetched from them when behind.
  private final SnapshotTransferService transferService;
  private final SnapshotFetcher fetcher;

  /** Gives Ratis the state machine of each group it hosts (also those recovered from storage). */
  @FunctionalInterface
  public interface StateMachines {
    GroupStateMachine forGroup(GroupId group);
  }

  public RaftHost(RaftSettings settings, StateMachines stateMachines) throws IOException {
    this.settings = settings;
    this.replicaDirectories = new ReplicaDirectories(settings);
    // Before the server is built: building it recovers every group directory in storage.
    replicaDirectories.sweep();
    this.self = PeerIds.of(settings.nodeId());
    this.properties = properties(settings);
    LogSegmentCheck.check(settings.storageDir(), RaftServerConfigKeys.Log.Appender.bufferByteLimit(properties));
    this.adminProperties = properties(settings);
    org.apache.ratis.client.RaftClientConfigKeys.Rpc.setRequestTimeout(adminProperties, TimeDuration.valueOf(5, TimeUnit.SECONDS));
    this.transferService = new SnapshotTransferService(settings.snapshotChunkBytes(), settings.snapshotTransferRate());
    this.fetcher = new SnapshotFetcher(settings.nodeId(), settings.tls() == null ? null : settings.tls().peerChannel());
    this.parameters = new Parameters();
    OverflowingRequests overflowing = new OverflowingRequests();
    GrpcConfigKeys.Server.setServicesCustomizer(parameters,
        (builder, types) -> transferService.customizer().customize(builder, types).intercept(overflowing));
    if (settings.tls() != null) {
      // One configuration for Ratis's server, clients and admin calls: mutual TLS with the cluster's CA.
      GrpcConfigKeys.TLS.setConf(parameters, settings.tls().ratis());
    }
    this.server = RaftServer.newBuilder()
        .setServerId(self)
        .setProperties(properties)
        .setParameters(parameters)
        .setStateMachineRegistry((StateMachine.Registry) id -> {
          GroupStateMachine machine = stateMachines.forGroup(GroupId.of(id));
          machine.useFetcher(fetcher);
          return machine;
        })
        // FORMAT (the builder default) wipes a restarted node; RECOVER formats only empty storage.
        .setOption(RaftStorage.StartupOption.RECOVER)
        .build();
    transferService.serve(this::hostedMachine, this::replicaStarted);
  }

  /** One entry may carry a payload of the default 4 MiB limit plus its batch-mates. */
  private static final SizeInBytes MAX_ENTRY_BYTES = SizeInBytes.valueOf("16MB");

  private static RaftProperties properties(RaftSettings s) {
    RaftProperties p = new RaftProperties();
    RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
    String address = s.address();
    int colon = address.lastIndexOf(':');
    GrpcConfigKeys.Server.setHost(p, address.substring(0, colon));
    GrpcConfigKeys.Server.setPort(p, Integer.parseInt(address.substring(colon + 1)));
    RaftServerConfigKeys.setStorageDir(p, List.of(s.storageDir().toFile()));
    RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(s.electionTimeoutMin().toMillis(), TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(s.electionTimeoutMax().toMillis(), TimeUnit.MILLISECONDS));
    // A leader that stepped down (lost its majority's heartbeats) waits this long before it
    // campaigns again; Ratis's 10 s default would stall a group for 10 s after one slow follower.
    RaftServerConfigKeys.LeaderElection.setLeaderStepDownWaitTime(p,
        TimeDuration.valueOf(s.electionTimeoutMax().toMillis(), TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, MAX_ENTRY_BYTES);
    // The segmented log insists on room for a whole appender buffer plus its framing.
    RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf("17MB"));
    GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf("32MB"));
    // An appender sends no sooner than this after its previous send (Ratis default 1 ms). The
    // next step's entry usually comes well within 1 ms of the commit notice sent for the last
    // one, so every commit sat out the rest of that millisecond: seq10 on 3 nodes, C = 1,
    // p50 26 -> 18.5 ms (docs/BENCHMARKS.md). Batching is the proposer's job, not this wait's.
    RaftServerConfigKeys.Log.Appender.setWaitTimeMin(p, TimeDuration.ZERO);
    // ReadIndex with the leader lease, for confirmLeadership alone: every query of ours asks for a
    // non-linearizable read (sendReadOnlyNonLinearizable), which Ratis serves as before.
    RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
    RaftServerConfigKeys.Read.setLeaderLeaseEnabled(p, true);
    snapshots(p, s.snapshotThreshold());
    overrides(p, System.getProperties());
    return p;
  }

  /**
   * Snapshots bound the log (SPEC §7): each group snapshots its state every {@code threshold}
   * entries and purges its log up to the snapshot, even past what a slow or absent follower
   * has; such a follower, and a new member, fetches a snapshot from its peers out of band
   * ({@link SnapshotFetcher}): Ratis only tells it that it is needed. The switch is server-wide
   * and every node must agree on it (Ratis refuses the others' notices), so both kinds of group
   * fetch out of band.
   */
  private static void snapshots(RaftProperties p, long threshold) {
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, threshold);
    RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
    RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
    RaftServerConfigKeys.Log.setPurgeGap(p, (int) Math.min(1024, threshold));
    // Keep the last threshold entries past a purge: a follower that is only a little behind
    // then always finds its next entries. Purging right up to a live follower's position races
    // with its appender in Ratis 3.2 ("Previous TermIndex not found"), which then restarts and
    // sends a whole snapshot instead.
    RaftServerConfigKeys.Log.setPurgePreservationLogNum(p, threshold);
    // Purging drops whole closed segments: segments of roughly a threshold's worth of small
    // entries make the purge follow the snapshots instead of lagging by a 32 MB segment.
    long segmentBytes = Math.clamp(threshold * 512, 8L << 10, 32L << 20);
    RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(segmentBytes));
    RaftServerConfigKeys.Log.Appender.setInstallSnapshotEnabled(p, false);
  }

  /**
   * For tuning experiments: a JVM system property {@code raftoral.ratis.<ratis key>} sets that
   * Ratis key, over the values above (e.g. {@code -Draftoral.ratis.raft.server.log.appender.wait-time.min=1ms}).
   */
  static void overrides(RaftProperties p, java.util.Properties system) {
    String prefix = "raftoral.ratis.";
    for (String name : system.stringPropertyNames()) {
      if (name.startsWith(prefix) && name.length() > prefix.length()) {
        String key = name.substring(prefix.length());
        LOG.warn("Ratis setting {} = {} from system property {}", key, system.getProperty(name), name);
        p.set(key, system.getProperty(name));
      }
    }
  }

  /** The group with these peers (node id -> Raft address); an empty map for a replica that waits to be added. */
  public static GroupPeers group(GroupId id, Map<Long, String> members) {
    return new GroupPeers(id, members);
  }

  private static RaftGroup ratis(GroupPeers group) {
    return group.peers().isEmpty() ? RaftGroup.valueOf(group.id().ratis()) : RaftGroup.valueOf(group.id().ratis(), peers(group.peers()));
  }

  /**
   * Starts the server (recovering the groups in its storage), then hosts every group of
   * {@code hosted} it does not have yet. Returns the ids of the groups recovered from storage.
   */
  public java.util.Set<GroupId> start(List<GroupPeers> hosted) throws IOException {
    server.start();
    java.util.Set<RaftGroupId> recovered = new java.util.HashSet<>();
    server.getGroupIds().forEach(recovered::add);
    // Until the management topology is replayed, a recovered group's own configuration is the
    // best peer list its client can have.
    for (RaftGroupId id : recovered) {
      RaftGroup g = server.getDivision(id).getGroup();
      if (!g.getPeers().isEmpty()) {
        groups.putIfAbsent(id, g);
      }
    }
    for (GroupPeers g : hosted) {
      if (recovered.contains(g.id().ratis())) {
        LOG.info("node {}: recovered group {} from storage", settings.nodeId(), g.id());
      } else {
        host(g);
      }
    }
    java.util.Set<GroupId> ids = new java.util.HashSet<>();
    recovered.forEach(id -> ids.add(GroupId.of(id)));
    return ids;
  }

  /**
   * Adds a division of {@code group} to this server. With this node among the group's peers
   * it starts as a member of that configuration; with an empty peer list it waits for the
   * group's leader to add it ({@link #setConfiguration}).
   */
  public void host(GroupPeers peers) throws IOException {
    RaftGroup group = ratis(peers);
    if (!group.getPeers().isEmpty()) {
      knowPeers(group);
    }
    RaftClientReply reply = server.groupManagement(
        GroupManagementRequest.newAdd(localClientId, self, callIds.incrementAndGet(), group));
    if (!reply.isSuccess()) {
      throw new IOException("cannot host group " + group.getGroupId() + ": " + reply.getException());
    }
  }

  /** The lower bound of this node's randomized election timeout (Raft's minimum). */
  public java.time.Duration electionTimeoutMin() {
    return settings.electionTimeoutMin();
  }

  /** The upper bound of this node's randomized election timeout. */
  public java.time.Duration electionTimeoutMax() {
    return settings.electionTimeoutMax();
  }

  public boolean hosts(GroupId groupId) {
    try {
      server.getDivision(groupId.ratis());
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Records the peers of a group so calls through its client can find them. A client built
   * with an older peer list is replaced.
   */
  public void knowPeers(GroupPeers peers) {
    knowPeers(ratis(peers));
  }

  /**
   * New calls to the group go through new clients that know its new peers. The old clients keep
   * the calls they carry: closed at once, they failed them (AlreadyClosedException) though the
   * group had its leader throughout, and every node learns a new member list at once (a merge
   * that ends, a join). They are closed once any call on them is over ({@link #CLIENT_CALL_LIMIT}).
   */
  private void knowPeers(RaftGroup group) {
    RaftGroup previous = groups.put(group.getGroupId(), group);
    if (previous != null && !java.util.Set.copyOf(previous.getPeers()).equals(java.util.Set.copyOf(group.getPeers()))) {
      for (Map<RaftGroupId, RaftClient> m : List.of(clients, queryClients, probeClients, adminClients)) {
        RaftClient stale = m.remove(group.getGroupId());
        if (stale != null) {
          retiring.add(stale);
          RETIRED_CLIENT_CLOSE.execute(() -> {
            if (retiring.remove(stale)) {
              closeQuietly(stale);
            }
          });
        }
      }
    }
  }

  /** The group's configuration as this node's division knows it; null when not hosted. */
  public GroupConfiguration configuration(GroupId groupId) {
    try {
      return GroupConfiguration.of(server.getDivision(groupId.ratis()).getRaftConf());
    } catch (IOException e) {
      return null;
    }
  }

  /** The ids of the peers at {@code address} in this node's configuration of the group (current and previous). */
  public java.util.Set<Long> peersAt(GroupId groupId, String address) {
    org.apache.ratis.server.RaftConfiguration conf;
    try {
      conf = server.getDivision(groupId.ratis()).getRaftConf();
    } catch (IOException e) {
      conf = null;
    }
    java.util.Set<Long> ids = new java.util.TreeSet<>();
    if (conf != null) {
      for (var peers : List.of(conf.getCurrentPeers(), conf.getPreviousPeers(),
          conf.getCurrentPeers(org.apache.ratis.proto.RaftProtos.RaftPeerRole.LISTENER),
          conf.getPreviousPeers(org.apache.ratis.proto.RaftProtos.RaftPeerRole.LISTENER))) {
        peers.stream().filter(p -> address.equals(p.getAddress())).forEach(p -> ids.add(PeerIds.nodeId(p.getId())));
      }
    }
    return ids;
  }

  /**
   * On the group's leader: for every follower and listener, how long ago it last answered
   * (ms). Empty on a non-leader.
   */
  public Map<Long, Long> followerSilenceMillis(GroupId groupId) {
    Map<Long, Long> silence = new java.util.HashMap<>();
    try {
      var role = server.getDivision(groupId.ratis()).getInfo().getRoleInfoProto();
      if (role.hasLeaderInfo()) {
        for (var f : role.getLeaderInfo().getFollowerInfoList()) {
          silence.put(PeerIds.nodeId(RaftPeerId.valueOf(f.getId().getId())), f.getLastRpcElapsedTimeMs());
        }
      }
    } catch (IOException e) {
      // not hosted: nothing known
    }
    return silence;
  }

  /**
   * Changes the group's configuration through its leader: {@code voters} vote, {@code
   * listeners} only receive the log. New peers must host the group (with an empty
   * configuration) so the leader can bring them up to date first.
   */
  public RaftReply setConfiguration(GroupId group, Map<Long, String> voters, Map<Long, String> listeners)
      throws IOException {
    return RaftReply.of(setConfiguration(group.ratis(), voters, listeners));
  }

  private RaftClientReply setConfiguration(RaftGroupId groupId, Map<Long, String> voters, Map<Long, String> listeners)
      throws IOException {
    awaitNewPeersStarted(groupId, voters, listeners);
    if (isLeader(groupId)) {
      // On the leader itself: no client hop that could bounce between peers while new members catch up.
      var request = new org.apache.ratis.protocol.SetConfigurationRequest(
          localClientId, self, groupId, callIds.incrementAndGet(), peers(voters), peers(listeners));
      try {
        RaftClientReply reply = server.setConfigurationAsync(request).get(15, TimeUnit.SECONDS);
        if (causedBy(reply.getException(), org.apache.ratis.protocol.exceptions.ReconfigurationTimeoutException.class)) {
          rebuildLogSenders(groupId);
        }
        return reply;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while reconfiguring " + groupId, e);
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        if (causedBy(e, org.apache.ratis.protocol.exceptions.ReconfigurationTimeoutException.class)) {
          rebuildLogSenders(groupId);
        }
        throw new IOException("reconfiguring " + groupId + " is not done yet: " + e, e);
      }
    }
    return admin(groupId, c -> c.admin().setConfiguration(peers(voters), peers(listeners)));
  }

  /**
   * Refuses (for now) a configuration that adds a peer whose replica of the group is not started
   * yet: the leader would at once send it a snapshot notice, which Ratis 3.2 mishandles on a
   * replica still starting (its follower timer starts, every heartbeat fails "not ready", and the
   * replica gives up on the group when its vote finds it outside the configuration). The caller
   * tries again on its next round.
   */
  private void awaitNewPeersStarted(RaftGroupId groupId, Map<Long, String> voters, Map<Long, String> listeners)
      throws IOException {
    java.util.Set<Long> current = new java.util.HashSet<>();
    try {
      var conf = server.getDivision(groupId).getRaftConf();
      conf.getAllPeers().forEach(p -> current.add(PeerIds.nodeId(p.getId())));
      conf.getAllPeers(org.apache.ratis.proto.RaftProtos.RaftPeerRole.LISTENER).forEach(p -> current.add(PeerIds.nodeId(p.getId())));
    } catch (IOException notHosted) {
      return; // reconfigured through another member's division: it checks
    }
    Map<Long, String> wanted = new java.util.TreeMap<>(voters);
    wanted.putAll(listeners);
    for (var peer : wanted.entrySet()) {
      if (!current.contains(peer.getKey()) && peer.getKey() != settings.nodeId()
          && !fetcher.replicaStarted(peer.getValue(), GroupId.of(groupId))) {
        throw new IOException("node " + peer.getKey() + " has not started its replica of group " + GroupId.of(groupId)
            + " yet; it is added once it has");
      }
    }
  }

  /**
   * Whether this node's replica of the group is started: its state machine loaded and its log
   * open. (A replica waiting to be added stays in Ratis's STARTING state until it is, so the
   * lifecycle cannot say.)
   */
  private boolean replicaStarted(GroupId group) {
    try {
      RaftServer.Division division = server.getDivision(group.ratis());
      division.getRaftLog(); // throws until the log is initialized
      return division.getInfo().isAlive();
    } catch (IOException | IllegalStateException notYet) {
      return false;
    }
  }

  /**
   * A reconfiguration that timed out (a new peer made no progress) makes the Ratis leader
   * (3.2.0, also its main branch) stop the log senders of every follower it does not count as
   * caught up, and it never counts a listener added during its term as caught up: those
   * listeners would get no entry again. A new leader starts a sender for every member and
   * listener of the configuration, so this one hands its leadership over.
   */
  private void rebuildLogSenders(RaftGroupId groupId) {
    try {
      if (server.getDivision(groupId).getRaftConf()
          .getCurrentPeers(org.apache.ratis.proto.RaftProtos.RaftPeerRole.LISTENER).isEmpty()) {
        return; // no listener to lose (an execution group)
      }
    } catch (IOException e) {
      return;
    }
    LOG.info("node {}: a reconfiguration of {} timed out; handing its leadership over so its listeners get the log again",
        settings.nodeId(), groupId);
    stepDown(GroupId.of(groupId), 5_000);
  }

  /**
   * The peers of the group's current configuration as its leader reports it (or, when no
   * leader answers, the first member that does); null when no member answers.
   */
  public java.util.Set<Long> voters(GroupId group) {
    RaftGroupId groupId = group.ratis();
    RaftGroup known = groups.get(groupId);
    if (known == null) {
      return null;
    }
    java.util.Set<Long> fallback = null;
    for (RaftPeer p : known.getPeers()) {
      try {
        var reply = admin(groupId, c -> c.getGroupManagementApi(p.getId()).info(groupId));
        if (!reply.isSuccess() || reply.getGroup() == null) {
          continue;
        }
        // The reply's conf field does not survive the gRPC transport in 3.2; its group (the
        // division's current peers) does. Execution groups have no listeners, so these are voters.
        java.util.Set<Long> ids = new java.util.TreeSet<>();
        reply.getGroup().getPeers().forEach(peer -> ids.add(PeerIds.nodeId(peer.getId())));
        if (reply.getRoleInfoProto().getRole() == org.apache.ratis.proto.RaftProtos.RaftPeerRole.LEADER) {
          return ids;
        }
        if (fallback == null) {
          fallback = ids;
        }
      } catch (IOException | RuntimeException e) {
        LOG.debug("group info of {} from {} failed", groupId, p.getId(), e);
      }
    }
    return fallback;
  }

  /** A group's leader and the voters of its configuration, as the leader itself reports them. */
  public record LeaderView(long leader, java.util.Set<Long> voters) {}

  /**
   * Asks the group's known peers for the group's state and returns the leader's own answer;
   * null when no leader answers (unlike {@link #voters}, never a follower's possibly stale view).
   */
  public LeaderView leaderView(GroupId group) {
    RaftGroupId groupId = group.ratis();
    RaftGroup known = groups.get(groupId);
    if (known == null) {
      return null;
    }
    for (RaftPeer p : known.getPeers()) {
      try {
        var reply = admin(groupId, c -> c.getGroupManagementApi(p.getId()).info(groupId));
        if (reply.isSuccess() && reply.getGroup() != null
            && reply.getRoleInfoProto().getRole() == org.apache.ratis.proto.RaftProtos.RaftPeerRole.LEADER) {
          java.util.Set<Long> ids = new java.util.TreeSet<>();
          reply.getGroup().getPeers().forEach(peer -> ids.add(PeerIds.nodeId(peer.getId())));
          return new LeaderView(PeerIds.nodeId(p.getId()), ids);
        }
      } catch (IOException | RuntimeException e) {
        LOG.debug("group info of {} from {} failed", groupId, p.getId(), e);
      }
    }
    return null;
  }

  /**
   * Stops this node's division of the group and deletes its replica: Raft storage (log,
   * snapshots) and state store, crash-safely ({@link ReplicaDirectories}). The caller has made
   * sure the replica is no longer needed: the group is retired, or its leader's configuration no
   * longer lists this node.
   */
  public void removeGroup(GroupId group) throws IOException {
    StateMachine machine = server.getDivision(group.ratis()).getStateMachine();
    // Ratis keeps the directory (neither delete nor rename: both go file by file, and a crash
    // half way would leave a replica that cannot be opened); ReplicaDirectories moves it whole.
    RaftClientReply reply = server.groupManagement(GroupManagementRequest.newRemove(localClientId, self,
        callIds.incrementAndGet(), group.ratis(), false, false));
    if (!reply.isSuccess()) {
      throw new IOException("cannot remove group " + group + ": " + reply.getException());
    }
    machine.close(); // closed by Ratis already unless its apply thread had failed; closing twice is harmless
    replicaDirectories.drop(group);
  }

  /** The committed entries of a hosted group still in its log, in order (for tests and tools). */
  public List<LoggedEntry> committedEntries(GroupId groupId) throws IOException {
    var log = server.getDivision(groupId.ratis()).getRaftLog();
    List<LoggedEntry> entries = new java.util.ArrayList<>();
    for (long i = Math.max(0, log.getStartIndex()); i <= log.getLastCommittedIndex(); i++) {
      var entry = log.get(i);
      if (entry != null && entry.hasStateMachineLogEntry()) {
        entries.add(new LoggedEntry(entry.getTerm(), entry.getIndex(), entry.getStateMachineLogEntry().getLogData().toByteArray()));
      }
    }
    return entries;
  }

  private static List<RaftPeer> peers(Map<Long, String> members) {
    return members.entrySet().stream()
        .map(e -> RaftPeer.newBuilder().setId(PeerIds.of(e.getKey())).setAddress(e.getValue()).build())
        .toList();
  }

  public boolean isLeader(GroupId groupId) {
    return isLeader(groupId.ratis());
  }

  private boolean isLeader(RaftGroupId groupId) {
    try {
      return server.getDivision(groupId).getInfo().isLeader();
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * The Raft term in which this node leads the group, or 0 when it does not lead it (or does not
   * host it). A decision taken because this node leads carries this term, so the apply rules can
   * refuse it once another leader has been elected ("every decision carries its term").
   */
  public long leaderTerm(GroupId groupId) {
    try {
      var info = server.getDivision(groupId.ratis()).getInfo();
      long term = info.getCurrentTerm();
      // Read the role after the term: a node that led in the term read still leads in it only
      // if it is leader now and the term has not moved meanwhile.
      return info.isLeader() && info.getCurrentTerm() == term ? term : 0;
    } catch (IOException e) {
      return 0;
    }
  }

  /**
   * Whether this node leads the group in {@code term} now, confirmed as Raft confirms a
   * linearizable read (ReadIndex, through this node's own division): by Ratis's leader lease (a
   * majority answered requests this leader <em>sent</em> within 0.9 of the shortest election
   * timeout; with pre-vote, which Ratis has on by default, a follower that heard from its leader
   * that recently refuses to help elect another), or else by a heartbeat round a majority
   * acknowledges. A leader frozen (a long GC pause, a suspended VM, SIGSTOP) or cut off believes
   * it leads until it hears of a newer term, and may even commit its last entries from answers
   * that waited in its sockets: those answer requests sent before the freeze, so they renew no
   * lease, and the heartbeat round finds the newer term. False when not confirmed within
   * {@code timeout}.
   */
  public boolean confirmLeadership(GroupId groupId, long term, java.time.Duration timeout) {
    if (term == 0 || leaderTerm(groupId) != term) {
      return false;
    }
    RaftClientRequest request = RaftClientRequest.newBuilder()
        .setClientId(localClientId)
        .setServerId(self)
        .setGroupId(groupId.ratis())
        .setCallId(callIds.incrementAndGet())
        .setMessage(Message.EMPTY) // a query every group's state machine answers at once
        .setType(RaftClientRequest.readRequestType())
        .build();
    try {
      RaftClientReply reply = local(groupId.ratis()).submitClientRequestAsync(request)
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      // A node that stepped down meanwhile may have had the read confirmed by the new leader.
      return reply.isSuccess() && leaderTerm(groupId) == term;
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException | IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Appends {@code data} through this node's own division only, never forwarded: it fails with
   * a {@link RaftError.Kind#NOT_LEADER} error (inside the reply) when this node does not lead the group.
   * For decisions that are only valid while this node leads (ownership claims, membership
   * decisions): forwarding would let another leader append them in a term they were not taken in.
   */
  public CompletableFuture<RaftReply> submitLocal(GroupId groupId, byte[] data) {
    return ours(submitLocal(groupId.ratis(), Message.valueOf(UnsafeByteOperations.unsafeWrap(data))));
  }

  private CompletableFuture<RaftClientReply> submitLocal(RaftGroupId groupId, Message message) {
    RaftClientRequest request = RaftClientRequest.newBuilder()
        .setClientId(localClientId)
        .setServerId(self)
        .setGroupId(groupId)
        .setCallId(callIds.incrementAndGet())
        .setMessage(message)
        .setType(RaftClientRequest.writeRequestType())
        .build();
    try {
      return local(groupId).submitClientRequestAsync(request);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * How long ago this node's division of the group last heard from the group's leader (ms): 0
   * while it leads; Long.MAX_VALUE when it does not host the group. A node removed from the
   * group stops hearing from its leader, so this only grows.
   */
  public long millisSinceLeaderContact(GroupId groupId) {
    try {
      var role = server.getDivision(groupId.ratis()).getInfo().getRoleInfoProto();
      if (role.hasLeaderInfo()) {
        return 0;
      }
      if (role.hasFollowerInfo() && role.getFollowerInfo().hasLeaderInfo()) {
        return role.getFollowerInfo().getLeaderInfo().getLastRpcElapsedTimeMs();
      }
      if (role.hasCandidateInfo()) {
        return role.getCandidateInfo().getLastLeaderElapsedTimeMs();
      }
      return role.getRoleElapsedTimeMs(); // a follower that knows no leader: since it became one
    } catch (IOException e) {
      return Long.MAX_VALUE;
    }
  }

  /** This node's replica's view of the group's Raft progress, or null when it does not host the group. */
  public GroupStats stats(GroupId groupId) {
    try {
      RaftServer.Division division = server.getDivision(groupId.ratis());
      var info = division.getInfo();
      var log = division.getRaftLog();
      Map<Long, Long> members = new java.util.HashMap<>();
      for (var commit : division.getCommitInfos()) {
        members.put(PeerIds.nodeId(RaftPeerId.valueOf(commit.getServer().getId())), commit.getCommitIndex());
      }
      var last = log.getLastEntryTermIndex();
      return new GroupStats(info.getCurrentTerm(), PeerIds.nodeId(info.getLeaderId()), info.isLeader(),
          log.getLastCommittedIndex(), info.getLastAppliedIndex(), log.getStartIndex(),
          last == null ? -1 : last.getIndex(), log.getSnapshotIndex(), members);
    } catch (IOException e) {
      return null; // not hosted
    }
  }

  /** The node that leads the group as this node sees it, or 0 when it knows none (or does not host the group). */
  public long leaderNode(GroupId groupId) {
    try {
      return PeerIds.nodeId(server.getDivision(groupId.ratis()).getInfo().getLeaderId());
    } catch (IOException e) {
      return 0;
    }
  }

  /**
   * Appends {@code data} as one entry of the group and completes with the reply once it is
   * applied on the leader. Local when this node leads; otherwise (or when leadership moved
   * meanwhile, or the new leader is not ready yet) through a client that finds the leader and
   * retries.
   */
  public CompletableFuture<RaftReply> submit(GroupId group, byte[] data) {
    RaftGroupId groupId = group.ratis();
    Message message = Message.valueOf(UnsafeByteOperations.unsafeWrap(data));
    if (!isLeader(groupId)) {
      return ours(viaClientAcrossHandOffs(groupId, message));
    }
    return ours(submitLocal(groupId, message).thenCompose(reply ->
        reply.getException() instanceof NotLeaderException || reply.getException() instanceof LeaderNotReadyException
            || handingOff(reply)
            ? viaClientAcrossHandOffs(groupId, message)
            : CompletableFuture.completedFuture(reply)));
  }

  private static final int HAND_OFF_RETRIES = 100;
  private static final java.util.concurrent.Executor HAND_OFF_PAUSE =
      CompletableFuture.delayedExecutor(100, TimeUnit.MILLISECONDS);

  /**
   * A leader handing its leadership over (LeaderPlacement, a clean stop) refuses writes and reads
   * until the next one leads; a refused entry was not appended, so sending it again (briefly
   * later, to whoever leads then) cannot write it twice. Ratis' client returns that refusal as a
   * reply, without retrying it.
   */
  private static boolean handingOff(RaftClientReply reply) {
    return handingOff(reply.getException());
  }

  private static boolean handingOff(Throwable e) {
    return e instanceof org.apache.ratis.protocol.exceptions.LeaderSteppingDownException
        || e instanceof org.apache.ratis.protocol.exceptions.TransferLeadershipException;
  }

  private CompletableFuture<RaftClientReply> viaClientAcrossHandOffs(RaftGroupId groupId, Message message) {
    return acrossHandOffs(() -> viaClient(clients, groupId, c -> c.async().send(message)), 0);
  }

  private static CompletableFuture<RaftClientReply> acrossHandOffs(
      java.util.function.Supplier<CompletableFuture<RaftClientReply>> call, int attempt) {
    // Ratis' async client completes exceptionally with a reply's exception; the local division replies with it.
    return call.get().handle((reply, error) -> {
      boolean again = attempt < HAND_OFF_RETRIES && (error != null ? handingOff(unwrap(error)) : handingOff(reply));
      if (again) {
        return CompletableFuture.supplyAsync(() -> null, HAND_OFF_PAUSE).thenCompose(x -> acrossHandOffs(call, attempt + 1));
      }
      return error != null ? CompletableFuture.<RaftClientReply>failedFuture(error) : CompletableFuture.completedFuture(reply);
    }).thenCompose(f -> f);
  }

  /**
   * Ratis's reply as ours. A call that failed outright (no reply: no leader found in time, a
   * closed client, no answer within {@link #CLIENT_CALL_LIMIT}) fails with a {@link RaftError}
   * whose cause is what Ratis threw.
   */
  static CompletableFuture<RaftReply> ours(CompletableFuture<RaftClientReply> call) {
    CompletableFuture<RaftReply> out = new CompletableFuture<>();
    call.whenComplete((reply, error) -> {
      if (error == null) {
        out.complete(RaftReply.of(reply));
      } else {
        out.completeExceptionally(RaftError.of(unwrap(error)));
      }
    });
    return out;
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /**
   * The group's member on this server, called directly: {@code RaftServer.submitClientRequestAsync}
   * hands every request to a client thread pool and blocks on that hand-off, one thread switch
   * per entry for nothing (the member's own method is what that thread calls).
   */
  private RaftClientAsynchronousProtocol local(RaftGroupId groupId) throws IOException {
    return server.getDivision(groupId) instanceof RaftClientAsynchronousProtocol member
        ? member
        : server;
  }

  /** Asks the group's leader a read-only query (answered by its state machine). */
  public CompletableFuture<RaftReply> query(GroupId groupId, byte[] data) {
    Message message = Message.valueOf(UnsafeByteOperations.unsafeWrap(data));
    return ours(acrossHandOffs(() -> viaClient(queryClients, groupId.ratis(), c -> c.async().sendReadOnlyNonLinearizable(message)), 0));
  }

  /**
   * Asks the group's leader a read-only query through a client used for nothing else, blocking
   * (at most the client's retries, about ten seconds): for the management leader's reads of a
   * group's status and of merge pages, which must not hold back or fail the group's client calls.
   */
  public RaftReply probe(GroupId group, byte[] data) throws IOException {
    RaftGroupId groupId = group.ratis();
    RaftGroup known = groups.get(groupId);
    if (known == null || known.getPeers().isEmpty()) {
      throw new IOException("no peers of group " + groupId + " known yet");
    }
    RaftClient c = client(probeClients, groupId);
    try {
      return RaftReply.of(c.io().sendReadOnlyNonLinearizable(Message.valueOf(UnsafeByteOperations.unsafeWrap(data))));
    } catch (IOException | RuntimeException e) {
      if (probeClients.remove(groupId, c)) {
        closeQuietly(c); // a fresh client next time: this one may have given up on its peers
      }
      throw e;
    }
  }

  /**
   * Sends through the group's client. A client whose connection Ratis reports closed never
   * recovers, and one with a call unanswered for {@link #CLIENT_CALL_LIMIT} is taken as stuck
   * (its writes are ordered, so one lost reply holds back every later write of the group, and
   * the caller's proposer slot with it): either is dropped, failing its calls, and the next call
   * builds a fresh client.
   */
  private CompletableFuture<RaftClientReply> viaClient(Map<RaftGroupId, RaftClient> clients,
      RaftGroupId groupId, java.util.function.Function<RaftClient, CompletableFuture<RaftClientReply>> call) {
    RaftGroup known = groups.get(groupId);
    if (known == null || known.getPeers().isEmpty()) {
      return CompletableFuture.failedFuture(new IOException("no peers of group " + groupId + " known yet"));
    }
    RaftClient c = client(clients, groupId);
    return call.apply(c).orTimeout(CLIENT_CALL_LIMIT.toMillis(), TimeUnit.MILLISECONDS).whenComplete((reply, error) -> {
      boolean stuck = causedBy(error, java.util.concurrent.TimeoutException.class);
      if ((stuck || causedBy(error, AlreadyClosedException.class)) && clients.remove(groupId, c)) {
        if (stuck) {
          LOG.warn("node {}: a call to group {} got no answer within {}; replacing its client", settings.nodeId(), groupId,
              CLIENT_CALL_LIMIT);
        }
        CompletableFuture.runAsync(() -> closeQuietly(c));
      }
    });
  }

  private static boolean causedBy(Throwable t, Class<? extends Throwable> type) {
    for (; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  private static void closeQuietly(RaftClient c) {
    try {
      c.close();
    } catch (IOException e) {
      LOG.debug("closing raft client", e);
    }
  }

  private boolean hasReadyLeader(RaftGroupId id) {
    try {
      var info = server.getDivision(id).getInfo();
      return info.getLeaderId() != null && (!info.isLeader() || info.isLeaderReady());
    } catch (IOException e) {
      return false;
    }
  }

  /** Waits until every hosted group knows a leader, or the deadline passes; returns whether all do. */
  public boolean awaitLeaders(java.util.Collection<GroupId> ids, java.time.Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (GroupId id : ids) {
      while (!hasReadyLeader(id.ratis())) {
        if (System.nanoTime() > deadline) {
          return false;
        }
        Thread.sleep(10);
      }
    }
    return true;
  }

  /**
   * Hands this node's leadership of the group to another voter, when it leads; returns whether
   * another node leads it now. Used on a clean stop so the group does not wait an election timeout.
   */
  public boolean handOffLeadership(GroupId group, long timeoutMs) {
    RaftGroupId groupId = group.ratis();
    try {
      var division = server.getDivision(groupId);
      if (!division.getInfo().isLeader()) {
        return true;
      }
      // The most recently heard voter: handing off to a dead one would only waste the timeout.
      Map<Long, Long> silence = followerSilenceMillis(group);
      long best = 0;
      for (RaftPeer p : division.getRaftConf().getCurrentPeers()) {
        long id = PeerIds.nodeId(p.getId());
        Long quiet = silence.get(id);
        if (!p.getId().equals(self) && quiet != null && quiet < settings.electionTimeoutMin().toMillis()
            && (best == 0 || quiet < silence.get(best))) {
          best = id;
        }
      }
      return best != 0 && transferLeadership(group, best, timeoutMs);
    } catch (IOException | RuntimeException e) {
      LOG.debug("node {}: handing off leadership of {} failed", settings.nodeId(), groupId, e);
    }
    return false;
  }

  /**
   * Stops (or, with {@code paused} false, allows again) this node's own campaigns for the
   * group's leadership; it still votes and follows. A node that cannot write its disk must not
   * win the leadership back.
   */
  public void pauseElections(GroupId group, boolean paused) {
    RaftGroupId groupId = group.ratis();
    var request = paused
        ? org.apache.ratis.protocol.LeaderElectionManagementRequest.newPause(localClientId, self, groupId, callIds.incrementAndGet())
        : org.apache.ratis.protocol.LeaderElectionManagementRequest.newResume(localClientId, self, groupId, callIds.incrementAndGet());
    try {
      server.leaderElectionManagementAsync(request).get(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException | RuntimeException e) {
      LOG.debug("node {}: {} elections of {} failed", settings.nodeId(), paused ? "pausing" : "resuming", groupId, e);
    }
  }

  /**
   * Gives up this node's leadership of the group, when it leads: to the most recently heard
   * voter if one is up to date, else by stepping down without a successor (the others elect one).
   */
  public void stepDown(GroupId group, long timeoutMs) {
    RaftGroupId groupId = group.ratis();
    if (!isLeader(groupId) || handOffLeadership(group, timeoutMs)) {
      return;
    }
    var request = new org.apache.ratis.protocol.TransferLeadershipRequest(
        localClientId, self, groupId, callIds.incrementAndGet(), null, timeoutMs);
    try {
      server.transferLeadershipAsync(request).get(timeoutMs + 1000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException | java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException | RuntimeException e) {
      LOG.debug("node {}: stepping down from {} failed", settings.nodeId(), groupId, e);
    }
  }

  /** The groups this server hosts. */
  public java.util.Set<GroupId> hostedGroups() {
    java.util.Set<GroupId> ids = new java.util.HashSet<>();
    try {
      server.getGroupIds().forEach(id -> ids.add(GroupId.of(id)));
    } catch (RuntimeException e) {
      LOG.debug("listing the hosted groups failed", e);
    }
    return ids;
  }

  /**
   * On the group's leader: asks this node's own division to hand its leadership to {@code
   * newLeaderNode} (no client hop, bounded by {@code timeoutMs}); returns whether it did in time.
   */
  public boolean transferLeadershipHere(GroupId group, long newLeaderNode, long timeoutMs) {
    var request = new org.apache.ratis.protocol.TransferLeadershipRequest(
        localClientId, self, group.ratis(), callIds.incrementAndGet(), PeerIds.of(newLeaderNode), timeoutMs);
    try {
      return server.transferLeadershipAsync(request).get(timeoutMs + 1000, TimeUnit.MILLISECONDS).isSuccess();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException | java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException | RuntimeException e) {
      LOG.debug("node {}: transferring the leadership of {} to {} failed", settings.nodeId(), group, newLeaderNode, e);
    }
    return false;
  }

  /** Asks the group to make {@code newLeader} its leader; returns whether it did in time. */
  public boolean transferLeadership(GroupId groupId, long newLeaderNode, long timeoutMs) throws IOException {
    return admin(groupId.ratis(), c -> c.admin().transferLeadership(PeerIds.of(newLeaderNode), timeoutMs)).isSuccess();
  }

  private RaftClient client(Map<RaftGroupId, RaftClient> clients, RaftGroupId groupId) {
    return clients.computeIfAbsent(groupId, id -> RaftClient.newBuilder()
        .setProperties(properties)
        .setParameters(parameters)
        .setRaftGroup(groups.getOrDefault(id, RaftGroup.valueOf(id)))
        .setClientId(ClientId.randomId())
        // Bounded: with no leader for ~10 s the caller gets an error instead of hanging.
        .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(100, TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
        .build());
  }

  /** An admin call; a client whose connection Ratis closed is dropped so the next call gets a fresh one. */
  private <T> T admin(RaftGroupId groupId, org.apache.ratis.util.function.CheckedFunction<RaftClient, T, IOException> call)
      throws IOException {
    RaftClient c = adminClient(groupId);
    try {
      return call.apply(c);
    } catch (IOException | RuntimeException e) {
      if (causedBy(e, AlreadyClosedException.class) && adminClients.remove(groupId, c)) {
        closeQuietly(c);
      }
      throw e;
    }
  }

  private RaftClient adminClient(RaftGroupId groupId) {
    return adminClients.computeIfAbsent(groupId, id -> RaftClient.newBuilder()
        .setProperties(adminProperties)
        .setParameters(parameters)
        .setRaftGroup(groups.getOrDefault(id, RaftGroup.valueOf(id)))
        .setClientId(ClientId.randomId())
        .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(10, TimeDuration.valueOf(200, TimeUnit.MILLISECONDS)))
        .build());
  }

  @Override
  public void close() throws IOException {
    fetcher.close();
    clients.values().forEach(RaftHost::closeQuietly);
    adminClients.values().forEach(RaftHost::closeQuietly);
    queryClients.values().forEach(RaftHost::closeQuietly);
    probeClients.values().forEach(RaftHost::closeQuietly);
    retiring.forEach(RaftHost::closeQuietly);
    retiring.clear();
    server.close();
    transferService.close();
  }

  /** The state machine of a group this node hosts, or null. */
  private GroupStateMachine hostedMachine(GroupId group) {
    try {
      return server.getDivision(group.ratis()).getStateMachine() instanceof GroupStateMachine machine ? machine : null;
    } catch (IOException notHosted) {
      return null;
    }
  }
}
