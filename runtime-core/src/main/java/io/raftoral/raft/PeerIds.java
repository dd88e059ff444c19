package io.raftoral.raft;

import org.apache.ratis.protocol.RaftPeerId;

/** Raftoral node ids (u64 >= 1) as Ratis peer ids ("n7") and back. */
final class PeerIds {
  private PeerIds() {}

  static RaftPeerId of(long nodeId) {
    return RaftPeerId.valueOf("n" + nodeId);
  }

  /** The node id of a peer; 0 for null or a peer id that is not ours. */
  static long nodeId(RaftPeerId peer) {
    if (peer == null) {
      return 0;
    }
    String s = peer.toString();
    try {
      return s.startsWith("n") ? Long.parseLong(s.substring(1)) : 0;
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
