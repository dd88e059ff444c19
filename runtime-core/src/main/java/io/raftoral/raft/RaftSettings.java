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
 */
public record RaftSettings(
    long nodeId,
    Map<Long, String> members,
    Path storageDir,
    Path stateDir,
    long snapshotThreshold,
    Duration electionTimeoutMin,
    Duration electionTimeoutMax) {

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
  }

  public String address() {
    return members.get(nodeId);
  }

  public SortedMap<Long, String> sortedMembers() {
    return new TreeMap<>(members);
  }
}
