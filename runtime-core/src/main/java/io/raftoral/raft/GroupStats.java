package io.raftoral.raft;

import java.util.Map;

/**
 * What this node's replica of one group knows of its Raft progress, read at one moment: what
 * the metrics and the console show. Indexes are -1 where nothing is known.
 *
 * @param term the current term as this replica sees it
 * @param leader the node that leads the group as this replica sees it, 0 when none is known
 * @param leading whether this node leads the group
 * @param commitIndex the last index this replica knows to be committed
 * @param appliedIndex the last index this replica applied to its state
 * @param firstLogIndex the first index still in the log (older ones are in a snapshot)
 * @param lastLogIndex the last index in the log
 * @param snapshotIndex the index of the latest snapshot, -1 when none
 * @param memberCommitIndex on the leader, the commit index each member (itself included)
 *     acknowledged, by node id; elsewhere what this replica last heard of them (may be empty)
 */
public record GroupStats(long term, long leader, boolean leading, long commitIndex, long appliedIndex,
    long firstLogIndex, long lastLogIndex, long snapshotIndex, Map<Long, Long> memberCommitIndex) {

  public GroupStats {
    memberCommitIndex = Map.copyOf(memberCommitIndex);
  }

  /** Entries held in the log (not yet purged into a snapshot). */
  public long logEntries() {
    return firstLogIndex < 0 || lastLogIndex < firstLogIndex ? 0 : lastLogIndex - firstLogIndex + 1;
  }

  /** On the leader, how many committed entries each other member lacks; empty elsewhere. */
  public Map<Long, Long> followerLag() {
    if (!leading) {
      return Map.of();
    }
    java.util.Map<Long, Long> lag = new java.util.TreeMap<>();
    memberCommitIndex.forEach((node, index) -> {
      if (node != leader) {
        lag.put(node, Math.max(0, commitIndex - index));
      }
    });
    return lag;
  }
}
