package io.raftoral.raft;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * How one node runs its Raft server.
 *
 * @param nodeId this node's id (>= 1)
 * @param members every member's Raft address (host:port) by node id, this node included
 * @param storageDir where Ratis keeps its metadata, its log and the snapshots
 * @param stateDir where the execution groups keep their state stores (one RocksDB per group)
 * @param snapshotThreshold a group takes a snapshot (and purges its log up to it) after this
 *     many entries since the last one
 * @param electionTimeoutMin lower bound of the randomized election timeout; a crashed leader
 *     is replaced after roughly this long
 * @param electionTimeoutMax upper bound of the election timeout
 * @param snapshotTransferRate the most bytes per second this node sends to followers fetching
 *     its snapshots out of band, over all of them (0: no limit)
 * @param snapshotChunkBytes the size of one chunk of a snapshot transfer
 */
public record RaftSettings(
    long nodeId,
    Map<Long, String> members,
    Path storageDir,
    Path stateDir,
    long snapshotThreshold,
    Duration electionTimeoutMin,
    Duration electionTimeoutMax,
    long snapshotTransferRate,
    int snapshotChunkBytes,
    RaftTls tls) {
  // The node options' (one table feeds every surface); the chunk bound stays below Ratis's gRPC message limit (32 MiB).
  public static final long DEFAULT_SNAPSHOT_TRANSFER_RATE = io.raftoral.config.NodeOptions.DEFAULT_SNAPSHOT_TRANSFER_RATE;
  public static final int DEFAULT_SNAPSHOT_CHUNK_BYTES = io.raftoral.config.NodeOptions.DEFAULT_SNAPSHOT_CHUNK_BYTES;
  public static final int MIN_SNAPSHOT_CHUNK_BYTES = io.raftoral.config.NodeOptions.MIN_SNAPSHOT_CHUNK_BYTES;
  public static final int MAX_SNAPSHOT_CHUNK_BYTES = io.raftoral.config.NodeOptions.MAX_SNAPSHOT_CHUNK_BYTES;

  /** In plaintext between the nodes. */
  public RaftSettings(long nodeId, Map<Long, String> members, Path storageDir, Path stateDir, long snapshotThreshold,
      Duration electionTimeoutMin, Duration electionTimeoutMax, long snapshotTransferRate, int snapshotChunkBytes) {
    this(nodeId, members, storageDir, stateDir, snapshotThreshold, electionTimeoutMin, electionTimeoutMax,
        snapshotTransferRate, snapshotChunkBytes, null);
  }

  /** With the default snapshot transfer settings. */
  public RaftSettings(long nodeId, Map<Long, String> members, Path storageDir, Path stateDir, long snapshotThreshold,
      Duration electionTimeoutMin, Duration electionTimeoutMax) {
    this(nodeId, members, storageDir, stateDir, snapshotThreshold, electionTimeoutMin, electionTimeoutMax,
        DEFAULT_SNAPSHOT_TRANSFER_RATE, DEFAULT_SNAPSHOT_CHUNK_BYTES);
  }

  public RaftSettings {
    members = Map.copyOf(members);
    if (!members.containsKey(nodeId)) {
      throw new IllegalArgumentException("members must contain this node (" + nodeId + ")");
    }
    if (snapshotThreshold < 1) {
      throw new IllegalArgumentException("snapshotThreshold must be >= 1, got " + snapshotThreshold);
    }
    if (electionTimeoutMax.compareTo(electionTimeoutMin) <= 0) {
      throw new IllegalArgumentException("electionTimeoutMax must be above electionTimeoutMin");
    }
    if (snapshotTransferRate < 0) {
      throw new IllegalArgumentException("snapshotTransferRate must be >= 0, got " + snapshotTransferRate);
    }
    if (snapshotChunkBytes < MIN_SNAPSHOT_CHUNK_BYTES || snapshotChunkBytes > MAX_SNAPSHOT_CHUNK_BYTES) {
      throw new IllegalArgumentException("snapshotChunkBytes must be between " + MIN_SNAPSHOT_CHUNK_BYTES + " and "
          + MAX_SNAPSHOT_CHUNK_BYTES + ", got " + snapshotChunkBytes);
    }
  }

  public String address() {
    return members.get(nodeId);
  }

  public SortedMap<Long, String> sortedMembers() {
    return new TreeMap<>(members);
  }
}
