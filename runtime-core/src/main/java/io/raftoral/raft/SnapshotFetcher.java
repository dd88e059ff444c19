package io.raftoral.raft;

import io.raftoral.proto.transfer.Chunk;
import io.raftoral.proto.transfer.FetchRequest;
import io.raftoral.proto.transfer.FileEntry;
import io.raftoral.proto.transfer.ListReply;
import io.raftoral.proto.transfer.ListRequest;
import io.raftoral.proto.transfer.Manifest;
import io.raftoral.proto.transfer.ReleaseRequest;
import io.raftoral.storage.IncomingSnapshot;
import io.raftoral.storage.SnapshotFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.apache.ratis.proto.RaftProtos.RaftPeerProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.thirdparty.io.grpc.CallOptions;
import org.apache.ratis.thirdparty.io.grpc.ClientCall;
import org.apache.ratis.thirdparty.io.grpc.ManagedChannel;
import org.apache.ratis.thirdparty.io.grpc.Metadata;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.apache.ratis.thirdparty.io.grpc.StatusRuntimeException;
import org.apache.ratis.thirdparty.io.grpc.netty.NettyChannelBuilder;
import org.apache.ratis.thirdparty.io.netty.handler.ssl.SslContext;
import org.apache.ratis.thirdparty.io.grpc.stub.ClientCalls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiving side of out-of-band snapshot transfer. When a group's leader tells this
 * replica that the entries it needs are purged ({@link GroupStateMachine#notifyInstallSnapshotFromLeader}),
 * a transfer lists the snapshots every peer of the group holds, picks the newest that the
 * leader's log continues, fetches its files from the peers holding those exact bytes into an
 * {@link IncomingSnapshot} (checking each chunk's CRC32C, then each whole file's), installs it
 * atomically and answers Ratis with its position; Ratis then pauses the state machine and
 * reloads it, which restores the store from the new snapshot.
 *
 * <p>A transfer outlives Ratis's attempts: Ratis asks again on every heartbeat while one runs,
 * and a failed attempt (the leader changed) is asked again and joins the same transfer. A
 * transfer that fails leaves its journal, so the next one goes on from the verified offsets.
 */
final class SnapshotFetcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SnapshotFetcher.class);
  /** Incoming transfers at once on one node: each may fetch GBs. */
  static final int MAX_INCOMING = 2;
  // The stuck-mark watchdog looks this often (a stuck new member must not reach its election
  // timeout), and leaves alone a group that attached or ended a transfer this recently.
  private static final long WATCH_MILLIS = 100;
  private static final long QUIET_SECONDS = 3;
  // Received bytes are synced and journaled after this many, or this long: what a restart does not fetch again.
  private static final long SYNC_EVERY_BYTES = 8L << 20;
  private static final long SYNC_EVERY_NANOS = TimeUnit.SECONDS.toNanos(1);
  // A source that sends nothing for this long is given up (a frozen or partitioned node).
  private static final long IDLE_SECONDS = 30;
  // How often one file is fetched again when its whole content does not match, before the transfer fails.
  private static final int FILE_ATTEMPTS = 3;
  // Stream failures per source before the transfer lists the peers again.
  private static final int SOURCE_FAILURES = 3;
  // Corrupted chunks in a row, with no good byte between them, that count as one failure of their source.
  private static final int CORRUPT_IN_A_ROW = 10;
  // Streams one transfer runs at once, and per source (a node serves at most 4 in all).
  private static final int MAX_STREAMS_PER_TRANSFER = 4;
  private static final int STREAMS_PER_SOURCE = 2;
  private static final long AVOID_MINUTES = 10;
  // While a transfer runs, its progress is logged this often.
  static final long PROGRESS_EVERY_MILLIS = 5_000;
  private static final int CHUNKS_AHEAD = 2;

  /** What one transfer did, for logs and tests: bytes by how they came. */
  record Stats(String snapshotId, long term, long index, long totalBytes, long fetchedBytes, long resumedBytes,
      long refetchedBytes, Map<Long, Long> bytesBySource, long failedStreams, long millis, String state) {}

  private final long self;
  private final Semaphore incoming = new Semaphore(MAX_INCOMING);
  private final ExecutorService workers = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("snapshot-fetch-", 0).factory());
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final Map<GroupStateMachine, Transfer> transfers = new ConcurrentHashMap<>();
  private final Map<GroupId, Stats> lastStats = new ConcurrentHashMap<>();
  // For the stuck-mark watchdog: the state machines of this node, and when each last attached or ended a transfer.
  private final java.util.Set<GroupStateMachine> machines = ConcurrentHashMap.newKeySet();
  private final Map<GroupStateMachine, Long> lastActivityNanos = new ConcurrentHashMap<>();
  private final java.util.concurrent.ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(
      Thread.ofPlatform().daemon().name("snapshot-install-watchdog").factory());
  // Snapshot ids whose bytes never verified here, until when they are not chosen again.
  private final Map<String, Long> avoided = new ConcurrentHashMap<>();
  private volatile boolean closed;
  private final SslContext tls;

  SnapshotFetcher(long selfNode) {
    this(selfNode, null);
  }

  /** @param tls the channels' TLS toward the peers (mutual, the node's certificate), or null for plaintext */
  SnapshotFetcher(long selfNode, SslContext tls) {
    this.self = selfNode;
    this.tls = tls;
    watchdog.scheduleWithFixedDelay(this::clearStuckMarks, WATCH_MILLIS, WATCH_MILLIS, TimeUnit.MILLISECONDS);
  }

  /** A state machine of this node, watched for a stuck install mark ({@link StuckInstallMark}). */
  void register(GroupStateMachine machine) {
    machines.add(machine);
  }

  /**
   * Clears a division's install mark that is set while no transfer runs (nor ended moments ago,
   * waiting for Ratis's next notice to load it): Ratis failed between setting the mark and
   * asking us, and would otherwise never ask again. The look happens under the division's own
   * lock, the one Ratis holds from setting the mark to asking us, so a notice being handled is
   * never mistaken for a stuck one. The leader's next notice then starts a transfer.
   */
  private void clearStuckMarks() {
    try {
      long now = System.nanoTime();
      for (GroupStateMachine m : machines) {
        if ((m.isClosed() || m.getLifeCycleState().isClosingOrClosed())) {
          machines.remove(m);
          lastActivityNanos.remove(m);
          continue;
        }
        RaftServer server = m.getServer().getNow(null);
        RaftServer.Division division;
        try {
          division = server == null ? null : server.getDivision(m.getGroupId());
        } catch (IOException notHostedAnyMore) {
          continue;
        }
        if (division == null) {
          continue;
        }
        synchronized (division) {
          long mark = StuckInstallMark.read(division);
          Long active = lastActivityNanos.get(m);
          boolean busy = transfers.containsKey(m) || (active != null && now - active < TimeUnit.SECONDS.toNanos(QUIET_SECONDS));
          if (mark != -1 && !busy && StuckInstallMark.clear(division, mark)) {
            LOG.warn("group {}: Ratis marked a snapshot install in progress (leader's log from index {}) but never asked this "
                + "state machine for it; cleared the mark so the leader's next notice starts a transfer", m.group(), mark);
          }
        }
      }
    } catch (RuntimeException e) {
      LOG.warn("the snapshot install watchdog failed; it looks again", e);
    }
  }

  /**
   * One attempt of Ratis's: completes with the installed snapshot's position, with null when
   * no peer has a snapshot and the leader's log is whole (the follower replays it), or fails
   * (Ratis asks again on its next heartbeat).
   */
  CompletableFuture<TermIndex> attach(GroupStateMachine machine, RoleInfoProto role, TermIndex firstInLeaderLog) {
    lastActivityNanos.put(machine, System.nanoTime());
    Transfer t = transfers.compute(machine, (m, running) -> running != null && !running.done.isDone()
        ? running : new Transfer(m, role, firstInLeaderLog));
    t.startOnce();
    CompletableFuture<TermIndex> attempt = new CompletableFuture<>();
    t.attempts.add(attempt);
    t.done.whenComplete((at, failure) -> {
      if (failure != null) {
        attempt.completeExceptionally(failure);
      } else {
        attempt.complete(at);
      }
    });
    return attempt;
  }

  /** A transfer into {@code machine} from exactly {@code sources} (tests of one layer: no Ratis division around it). */
  CompletableFuture<TermIndex> fetchFrom(GroupStateMachine machine, List<Source> sources, TermIndex firstInLeaderLog) {
    Transfer t = new Transfer(machine, RoleInfoProto.getDefaultInstance(), firstInLeaderLog, List.copyOf(sources));
    transfers.put(machine, t);
    t.startOnce();
    return t.done;
  }

  /**
   * The group's leader changed: Ratis's outstanding attempt ends (failed), so that the new
   * leader's notification, which may name an earlier log start, is accepted; it joins the
   * transfer that goes on.
   */
  void leaderChanged(GroupStateMachine machine) {
    Transfer t = transfers.get(machine);
    if (t != null) {
      t.attempts.forEach(a -> a.completeExceptionally(new IllegalStateException("the leader changed; the snapshot transfer goes on")));
      t.attempts.clear();
    }
  }

  /**
   * Whether the node at {@code address} has started its replica of {@code group}; false when
   * it cannot say (unreachable). A node that does not know the question counts as started.
   */
  boolean replicaStarted(String address, GroupId group) {
    try {
      return ClientCalls.blockingUnaryCall(channel(address), SnapshotTransferService.REPLICA,
          CallOptions.DEFAULT.withDeadlineAfter(3, TimeUnit.SECONDS),
          io.raftoral.proto.transfer.ReplicaRequest.newBuilder().setGroupId(group.uuid().toString()).build()).getStarted();
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode() == Status.Code.UNIMPLEMENTED;
    }
  }

  /** Leaves snapshot {@code id} out of the choices for a while: what its sources sent never verified. */
  private void avoid(String id) {
    avoided.put(id, System.nanoTime() + TimeUnit.MINUTES.toNanos(AVOID_MINUTES));
  }

  private boolean avoided(String id) {
    Long until = avoided.get(id);
    return until != null && until - System.nanoTime() > 0;
  }

  /** What the group's last transfer on this node did (running or ended), or null. */
  Stats lastTransfer(GroupId group) {
    for (Transfer t : transfers.values()) {
      if (t.machine.group().equals(group) && t.target != null) {
        return t.stats(t.target, "fetching");
      }
    }
    return lastStats.get(group);
  }

  @Override
  public void close() {
    closed = true;
    watchdog.shutdownNow();
    workers.shutdownNow();
    channels.values().forEach(ManagedChannel::shutdownNow);
  }

  private NettyChannelBuilder secured(NettyChannelBuilder b) {
    return tls == null ? b.usePlaintext() : b.sslContext(tls);
  }

  private ManagedChannel channel(String address) {
    return channels.computeIfAbsent(address, a -> secured(NettyChannelBuilder.forTarget(a))
        .maxInboundMessageSize(RaftSettings.MAX_SNAPSHOT_CHUNK_BYTES + (1 << 20))
        .flowControlWindow(8 << 20)
        .build());
  }

  /** "{@code done} of {@code total} bytes (P%), R MB/s": a transfer's progress as its log line says it. */
  static String progressLine(long done, long total, double bytesPerSecond) {
    double percent = total <= 0 ? 100 : Math.min(100, 100.0 * done / total);
    return String.format(java.util.Locale.ROOT, "%,d of %,d bytes (%.1f%%), %.1f MB/s", done, total, percent, bytesPerSecond / 1e6);
  }

  /**
   * What this replica's log says to a transfer. {@code committed}: the last index known committed
   * here (what it applied, or its log's commit index); a snapshot older than that would move
   * committed state back. {@code last}: the log's last entry (null without a division: tests of
   * one layer). {@code holdsLeadersFirst}: the log has the leader's first entry (same index and
   * term), so the leader's log goes on from it and no snapshot is needed (Raft's log matching);
   * when the entry there has another term, the log's tail from there on is a deposed leader's,
   * which the leader's appends truncate, so it does not hold a snapshot back.
   */
  private record LogView(long committed, TermIndex last, boolean holdsLeadersFirst) {}

  private static LogView logView(GroupStateMachine machine, TermIndex firstInLeaderLog) {
    long committed = machine.lastAppliedIndex();
    RaftServer server = machine.getServer().getNow(null);
    if (server != null) {
      try {
        org.apache.ratis.server.raftlog.RaftLog log = server.getDivision(machine.getGroupId()).getRaftLog();
        committed = Math.max(committed, log.getLastCommittedIndex());
        TermIndex there = log.getTermIndex(firstInLeaderLog.getIndex());
        return new LogView(committed, log.getLastEntryTermIndex(), firstInLeaderLog.equals(there));
      } catch (IOException | RuntimeException noDivision) {
        // not hosted (any more), or no division around it: what it applied is what it holds
      }
    }
    return new LogView(committed, null, false);
  }

  /** A peer to fetch from: its node id and Raft address (where it serves {@code SnapshotTransfer}). */
  record Source(long node, String address) {}

  private final class Transfer {
    final GroupStateMachine machine;
    final RoleInfoProto role;
    final TermIndex firstInLeaderLog;
    final CompletableFuture<TermIndex> done = new CompletableFuture<>();
    final List<CompletableFuture<TermIndex>> attempts = new java.util.concurrent.CopyOnWriteArrayList<>();
    private boolean started;
    // Counters of this transfer.
    final java.util.concurrent.atomic.AtomicLong fetched = new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.atomic.AtomicLong refetched = new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.atomic.AtomicLong failedStreams = new java.util.concurrent.atomic.AtomicLong();
    long resumed;
    final Map<Long, Long> bySource = new ConcurrentHashMap<>();
    final long startNanos = System.nanoTime();
    volatile Manifest target; // once chosen

    // The peers to ask; null: the division's configuration and the leader of Ratis's notice.
    final List<Source> given;

    Transfer(GroupStateMachine machine, RoleInfoProto role, TermIndex firstInLeaderLog) {
      this(machine, role, firstInLeaderLog, null);
    }

    Transfer(GroupStateMachine machine, RoleInfoProto role, TermIndex firstInLeaderLog, List<Source> given) {
      this.machine = machine;
      this.role = role;
      this.firstInLeaderLog = firstInLeaderLog;
      this.given = given;
    }

    synchronized void startOnce() {
      if (!started) {
        started = true;
        workers.execute(() -> {
          try {
            done.complete(run());
          } catch (Throwable e) {
            if (target != null) {
              lastStats.put(machine.group(), stats(target, "failed: " + e.getMessage()));
            }
            done.completeExceptionally(e);
          }
        });
      }
    }

    private TermIndex run() throws Exception {
      GroupId group = machine.group();
      incoming.acquire();
      try {
        LogView atStart = logView(machine, firstInLeaderLog);
        if (atStart.holdsLeadersFirst()) {
          // Ratis asks whenever the leader believes this replica's next index is before its first
          // entry and the replica's last snapshot is older, even when the replica's log already
          // holds that entry. "Unavailable" lets the leader's appends go on from the replica's
          // log (docs/ARCHITECTURE.md, "Never backwards").
          LOG.info("group {}: no snapshot is needed: this replica's log holds the leader's first entry {} (it ends at {}); "
              + "replaying from it", group, firstInLeaderLog, atStart.last());
          return null;
        }
        long committed = atStart.committed();
        List<Source> sources = given != null ? given : sources();
        Map<String, List<Source>> holders = new LinkedHashMap<>();
        Map<String, Manifest> offered = new LinkedHashMap<>();
        for (Source s : sources) {
          ListReply listed;
          try {
            listed = ClientCalls.blockingUnaryCall(channel(s.address()), SnapshotTransferService.LIST,
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
                ListRequest.newBuilder().setGroupId(group.uuid().toString()).setHolderNode(self).build());
          } catch (StatusRuntimeException e) {
            LOG.info("group {}: cannot list the snapshots of node {}: {}", group, s.node(), e.getStatus());
            continue;
          }
          for (Manifest m : listed.getSnapshotsList()) {
            String malformed = malformed(m);
            if (malformed != null) {
              // A buggy peer's listing must not hide the good snapshots of the others.
              LOG.warn("group {}: node {} lists a malformed snapshot {} (t:{}, i:{}), left out: {}", group, s.node(),
                  m.getSnapshotId(), m.getTerm(), m.getIndex(), malformed);
              continue;
            }
            // Any replica's snapshot is a valid state at its index; the leader's log must go on from
            // it, and it must not be older than what this replica has committed.
            if (m.getIndex() + 1 < firstInLeaderLog.getIndex() || m.getIndex() < committed || avoided(m.getSnapshotId())) {
              continue;
            }
            holders.computeIfAbsent(m.getSnapshotId(), id -> new ArrayList<>()).add(s);
            offered.putIfAbsent(m.getSnapshotId(), m);
          }
        }
        // The newest; of equally new ones, the one more peers hold (more sources to fetch from at once).
        Manifest target = offered.values().stream()
            .max(java.util.Comparator.comparingLong(Manifest::getIndex)
                .thenComparingInt(m -> holders.get(m.getSnapshotId()).size()))
            .orElse(null);
        if (target == null) {
          if (committed + 1 >= firstInLeaderLog.getIndex()) {
            if (committed < 0) {
              LOG.info("group {}: no peer has a snapshot and the leader's log is whole: replaying it", group);
            } else {
              LOG.info("group {}: no newer snapshot is needed: this replica has committed up to index {}, the leader's log "
                  + "goes on from {}; replaying it", group, committed, firstInLeaderLog.getIndex());
            }
            return null;
          }
          throw new IOException("group " + group + ": no peer holds a snapshot the leader's log continues (from index "
              + firstInLeaderLog.getIndex() + "); asking again");
        }
        TermIndex installed = fetch(group, target, holders.get(target.getSnapshotId()), atStart);
        return installed;
      } finally {
        incoming.release();
        lastActivityNanos.put(machine, System.nanoTime());
        transfers.remove(machine, this);
      }
    }

    /** Why {@code m} cannot be fetched as it stands (plain file names, its id naming exactly its files, its total their sum), or null. */
    private static String malformed(Manifest m) {
      List<SnapshotFile> files = new ArrayList<>();
      long total = 0;
      try {
        for (FileEntry f : m.getFilesList()) {
          files.add(new SnapshotFile(f.getName(), f.getSize(), f.getCrc32C()));
          total = Math.addExact(total, f.getSize());
        }
      } catch (IllegalArgumentException | ArithmeticException e) {
        return e.getMessage();
      }
      if (m.getTerm() < 0 || m.getIndex() < 0) {
        return "a negative position";
      }
      if (!m.getSnapshotId().equals(SnapshotFile.snapshotId(m.getTerm(), m.getIndex(), files))) {
        return "its id does not name its files";
      }
      if (m.getTotalBytes() != total) {
        return "total " + m.getTotalBytes() + " is not the files' sum " + total;
      }
      return null;
    }

    /** The group's other members, the leader (from Ratis's notice) among them. */
    private List<Source> sources() throws IOException {
      Map<Long, Source> byNode = new LinkedHashMap<>();
      RaftServer server = machine.getServer().join();
      for (RaftPeer p : server.getDivision(machine.getGroupId()).getRaftConf().getAllPeers()) {
        long node = PeerIds.nodeId(p.getId());
        if (node != self && p.getAddress() != null) {
          byNode.put(node, new Source(node, p.getAddress()));
        }
      }
      if (role.hasFollowerInfo() && role.getFollowerInfo().hasLeaderInfo()) {
        RaftPeerProto leader = role.getFollowerInfo().getLeaderInfo().getId();
        long node = PeerIds.nodeId(RaftPeerId.valueOf(leader.getId()));
        if (node != self && !leader.getAddress().isEmpty()) {
          byNode.putIfAbsent(node, new Source(node, leader.getAddress()));
        }
      }
      // The leader last: it also replicates to everyone else.
      List<Source> all = new ArrayList<>(byNode.values());
      long leaderNode = role.hasFollowerInfo() && role.getFollowerInfo().hasLeaderInfo()
          ? PeerIds.nodeId(RaftPeerId.valueOf(role.getFollowerInfo().getLeaderInfo().getId().getId())) : 0;
      all.sort(java.util.Comparator.comparing(s -> s.node() == leaderNode));
      return all;
    }

    private TermIndex fetch(GroupId group, Manifest target, List<Source> holders, LogView atStart) throws Exception {
      List<SnapshotFile> files = new ArrayList<>();
      for (FileEntry f : target.getFilesList()) {
        files.add(new SnapshotFile(f.getName(), f.getSize(), f.getCrc32C()));
      }
      this.target = target;
      Path smDir = machine.snapshotDirectory();
      LOG.info("group {}: fetching snapshot {} (t:{}, i:{}, {} files, {} bytes) from node(s) {}", group, target.getSnapshotId(),
          target.getTerm(), target.getIndex(), files.size(), target.getTotalBytes(), holders.stream().map(Source::node).toList());
      try (IncomingSnapshot staged = IncomingSnapshot.open(smDir, target.getSnapshotId(), files)) {
        resumed = staged.resumedBytes();
        long needed = (long) ((target.getTotalBytes() - resumed) * 1.1);
        long free = Files.getFileStore(smDir).getUsableSpace();
        if (free < needed) {
          throw new IOException("group " + group + ": the snapshot needs " + needed + " more bytes in " + smDir + ", the disk has "
              + free + " free");
        }
        // Files go to a shared queue, largest first; each stream takes the next one from its
        // source, so a faster source takes more. A failed source passes the file to the next.
        java.util.concurrent.ConcurrentLinkedQueue<SnapshotFile> queue = new java.util.concurrent.ConcurrentLinkedQueue<>(
            files.stream().sorted(java.util.Comparator.comparingLong(SnapshotFile::size).reversed()).toList());
        java.util.concurrent.atomic.AtomicIntegerArray failures = new java.util.concurrent.atomic.AtomicIntegerArray(holders.size());
        int streams = Math.min(files.size(), Math.min(MAX_STREAMS_PER_TRANSFER, STREAMS_PER_SOURCE * holders.size()));
        List<java.util.concurrent.Future<?>> running = new ArrayList<>();
        for (int w = 0; w < streams; w++) {
          int first = w % holders.size();
          running.add(workers.submit(() -> {
            for (SnapshotFile f; (f = queue.poll()) != null; ) {
              fetchVerified(group, target.getSnapshotId(), staged, f, holders, failures, first);
            }
            return null;
          }));
        }
        Exception failure = null;
        Thread progress = Thread.ofVirtual().name("raftoral-snapshot-progress").start(this::logProgress);
        try {
          for (java.util.concurrent.Future<?> r : running) {
            try {
              r.get();
            } catch (java.util.concurrent.ExecutionException e) {
              queue.clear(); // the others stop after their current file
              if (failure == null) {
                failure = e.getCause() instanceof Exception cause ? cause : e;
              }
            }
          }
        } finally {
          progress.interrupt();
        }
        if (failure != null) {
          throw failure;
        }
        String passed = passedWhileFetched(target, atStart);
        if (passed != null) {
          staged.discard();
          throw new IOException("group " + group + ": this replica " + passed + " while snapshot " + target.getSnapshotId()
              + " was fetched; not installed");
        }
        try {
          machine.installFetched(staged, target.getTerm(), target.getIndex());
        } catch (io.raftoral.storage.CorruptStateException e) {
          // The files match the manifest but not the snapshot's own metadata: the source's copy is bad.
          staged.discard();
          avoid(target.getSnapshotId());
          throw e;
        }
      }
      for (Source s : holders) {
        release(group, target.getSnapshotId(), s);
      }
      Stats stats = stats(target, "installed");
      lastStats.put(group, stats);
      double seconds = Math.max(stats.millis(), 1) / 1000.0;
      LOG.info("group {}: installed snapshot {} (t:{}, i:{}) fetched out of band: total={} fetched={} resumed={} refetched={} "
              + "bySource={} in {} ms ({} MB/s)", group, target.getSnapshotId(), target.getTerm(), target.getIndex(),
          stats.totalBytes(), stats.fetchedBytes(), stats.resumedBytes(), stats.refetchedBytes(), stats.bytesBySource(),
          stats.millis(), String.format(java.util.Locale.ROOT, "%.1f", stats.fetchedBytes() / seconds / 1e6));
      return TermIndex.valueOf(target.getTerm(), target.getIndex());
    }

    /**
     * Why installing {@code target} now would move this replica back, or null: it committed past
     * the snapshot, or its log grew past it since the transfer began (a new leader's entries,
     * accepted once Ratis's install mark was cleared: Ratis would set the log's end back to the
     * snapshot and stop at the next write). A tail it already had is a deposed leader's (see
     * {@link LogView}): the leader's appends truncate it.
     */
    private String passedWhileFetched(Manifest target, LogView atStart) {
      LogView now = logView(machine, firstInLeaderLog);
      if (now.committed() > target.getIndex()) {
        return "passed index " + target.getIndex() + " (it has committed up to " + now.committed() + ")";
      }
      if (now.last() != null && now.last().getIndex() > target.getIndex() && !now.last().equals(atStart.last())) {
        return "passed index " + target.getIndex() + " (its log grew to " + now.last() + ")";
      }
      return null;
    }

    /** Until interrupted: every few seconds, the bytes this transfer holds of the snapshot's, and the rate since the last line. */
    private void logProgress() {
      Manifest m = target;
      long lastBytes = resumed + fetched.get();
      long lastAt = System.nanoTime();
      while (true) {
        try {
          Thread.sleep(PROGRESS_EVERY_MILLIS);
        } catch (InterruptedException e) {
          return;
        }
        long bytes = resumed + fetched.get();
        long now = System.nanoTime();
        LOG.info("group {}: snapshot {} transfer: {}", machine.group(), m.getSnapshotId(),
            progressLine(bytes, m.getTotalBytes(), (bytes - lastBytes) / ((now - lastAt) / 1e9)));
        lastBytes = bytes;
        lastAt = now;
      }
    }

    /**
     * Fetches one whole file (from {@code holders}, starting with {@code first}, passing to the
     * next on failure) until it matches the manifest; throws when every source failed or the
     * file never matches.
     */
    private void fetchVerified(GroupId group, String snapshotId, IncomingSnapshot staged, SnapshotFile f, List<Source> holders,
        java.util.concurrent.atomic.AtomicIntegerArray failures, int first) throws IOException, InterruptedException {
      int current = first;
      int fileAttempts = 0;
      int corruptInARow = 0;
      while (true) {
        while (good(staged, f) < f.size()) {
          if (closed || machine.isClosed() || machine.getLifeCycleState().isClosingOrClosed()) {
            throw new IOException("group " + group + ": the replica is closing; the transfer stops");
          }
          Source source = holders.get(current);
          try {
            long before = good(staged, f);
            fetchFile(group, snapshotId, staged, f, source);
            // fetchFile returns short only after a corrupted chunk: a source that sends nothing else is given up.
            if (good(staged, f) > before) {
              corruptInARow = 0;
            } else if (++corruptInARow >= CORRUPT_IN_A_ROW) {
              corruptInARow = 0;
              throw new IOException("node " + source.node() + " sent " + CORRUPT_IN_A_ROW + " chunks of " + f.name()
                  + " in a row that do not match their checksum");
            }
          } catch (StatusRuntimeException | IOException e) {
            LOG.info("group {}: fetching {} of snapshot {} from node {} failed at byte {}: {}", group, f.name(), snapshotId,
                source.node(), good(staged, f), e.toString());
            failedStreams.incrementAndGet();
            int failed = failures.incrementAndGet(current);
            if (allFailed(failures)) {
              throw new IOException("group " + group + ": every source of snapshot " + snapshotId
                  + " failed; the next attempt lists the peers again", e);
            }
            current = (current + 1) % holders.size();
            Thread.sleep(Math.min(1000L * failed, 5000));
          }
        }
        boolean matches;
        synchronized (staged) {
          matches = staged.check(f.name());
        }
        if (matches) {
          return;
        }
        refetched.addAndGet(f.size());
        LOG.warn("group {}: {} of snapshot {} does not match its checksum; fetching it again", group, f.name(), snapshotId);
        if (++fileAttempts >= FILE_ATTEMPTS) {
          avoid(snapshotId); // its sources' copy is damaged (bit rot): another replica's snapshot next time
          throw new IOException("group " + group + ": " + f.name() + " of snapshot " + snapshotId + " never matched its checksum");
        }
      }
    }

    private static long good(IncomingSnapshot staged, SnapshotFile f) {
      synchronized (staged) {
        return staged.good(f.name());
      }
    }

    private boolean allFailed(java.util.concurrent.atomic.AtomicIntegerArray failures) {
      for (int i = 0; i < failures.length(); i++) {
        if (failures.get(i) < SOURCE_FAILURES) {
          return false;
        }
      }
      return true;
    }

    private Stats stats(Manifest target, String state) {
      return new Stats(target.getSnapshotId(), target.getTerm(), target.getIndex(), target.getTotalBytes(), fetched.get(), resumed,
          refetched.get(), new java.util.TreeMap<>(bySource), failedStreams.get(), (System.nanoTime() - startNanos) / 1_000_000, state);
    }

    /**
     * Streams the rest of one file from one source into the staging, journaling the verified
     * prefix as it goes and when it stops. Returns early (to be called again) after a corrupted
     * chunk; throws when the stream fails.
     */
    private void fetchFile(GroupId group, String snapshotId, IncomingSnapshot staged, SnapshotFile f, Source source)
        throws IOException, InterruptedException {
      long expected = good(staged, f);
      BlockingQueue<Object> arrivals = new LinkedBlockingQueue<>();
      ClientCall<FetchRequest, Chunk> call = channel(source.address()).newCall(SnapshotTransferService.FETCH, CallOptions.DEFAULT);
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onMessage(Chunk chunk) {
          arrivals.add(chunk);
        }

        @Override
        public void onClose(Status status, Metadata trailers) {
          arrivals.add(status);
        }
      }, new Metadata());
      call.sendMessage(FetchRequest.newBuilder().setGroupId(group.uuid().toString()).setSnapshotId(snapshotId)
          .setFile(f.name()).setOffset(expected).setHolderNode(self).build());
      call.halfClose();
      // Chunks asked for ahead of the one being written: enough to keep the stream full while
      // this thread writes and checks; gRPC's flow-control window bounds the bytes on the way.
      call.request(CHUNKS_AHEAD);
      boolean finished = false;
      long unsynced = 0;
      long lastSync = System.nanoTime();
      try {
        while (true) {
          Object next = arrivals.poll(IDLE_SECONDS, TimeUnit.SECONDS);
          if (next == null) {
            throw new IOException("node " + source.node() + " sent nothing for " + IDLE_SECONDS + " s");
          }
          if (next instanceof Status status) {
            finished = true;
            if (!status.isOk()) {
              throw status.asRuntimeException();
            }
            if (expected != f.size()) {
              throw new IOException("node " + source.node() + " ended " + f.name() + " at byte " + expected + " of " + f.size());
            }
            return;
          }
          Chunk chunk = (Chunk) next;
          int length = chunk.getData().size();
          if (chunk.getOffset() != expected || length == 0 || expected + length > f.size()) {
            throw new IOException("node " + source.node() + " sent bytes [" + chunk.getOffset() + ", " + (chunk.getOffset() + length)
                + ") of " + f.name() + " where [" + expected + ", ...) was due");
          }
          CRC32C crc = new CRC32C();
          crc.update(chunk.getData().asReadOnlyByteBuffer());
          if ((int) crc.getValue() != chunk.getCrc32C()) {
            refetched.addAndGet(length);
            LOG.warn("group {}: a chunk of {} from node {} (bytes {}..{}) does not match its checksum; fetching it again",
                group, f.name(), source.node(), expected, expected + length);
            return; // the finally below journals the good prefix; the caller asks again from it
          }
          synchronized (staged) {
            staged.write(f.name(), expected, chunk.getData().asReadOnlyByteBuffer());
          }
          expected += length;
          fetched.addAndGet(length);
          unsynced += length;
          bySource.merge(source.node(), (long) length, Long::sum);
          if (unsynced >= SYNC_EVERY_BYTES || System.nanoTime() - lastSync >= SYNC_EVERY_NANOS) {
            synchronized (staged) {
              staged.synced(f.name(), expected);
            }
            unsynced = 0;
            lastSync = System.nanoTime();
          }
          call.request(1);
        }
      } finally {
        if (!finished) {
          call.cancel("the transfer stopped reading", null);
        }
        synchronized (staged) {
          if (expected > staged.good(f.name())) {
            staged.synced(f.name(), expected);
          }
        }
      }
    }

    private void release(GroupId group, String snapshotId, Source s) {
      try {
        ClientCalls.blockingUnaryCall(channel(s.address()), SnapshotTransferService.RELEASE,
            CallOptions.DEFAULT.withDeadlineAfter(5, TimeUnit.SECONDS), ReleaseRequest.newBuilder()
                .setGroupId(group.uuid().toString()).setSnapshotId(snapshotId).setHolderNode(self).build());
      } catch (StatusRuntimeException e) {
        LOG.debug("group {}: releasing snapshot {} on node {} failed (its hold expires): {}", group, snapshotId, s.node(), e.getStatus());
      }
    }
  }
}
