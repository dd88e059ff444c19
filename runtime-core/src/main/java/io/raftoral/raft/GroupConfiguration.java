package io.raftoral.raft;

import java.util.Collection;
import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.server.RaftConfiguration;

/**
 * A group's Raft configuration as one node's replica knows it, by node id.
 *
 * @param voters the current voting members
 * @param listeners the current listeners (receive the log, do not vote)
 * @param previousVoters the voters of the previous configuration while a change is under way, else empty
 */
public record GroupConfiguration(Set<Long> voters, Set<Long> listeners, Set<Long> previousVoters) {
  public GroupConfiguration {
    voters = sorted(voters);
    listeners = sorted(listeners);
    previousVoters = sorted(previousVoters);
  }

  /** A configuration change is under way (joint consensus). */
  public boolean changing() {
    return !previousVoters.isEmpty();
  }

  static GroupConfiguration of(RaftConfiguration conf) {
    return new GroupConfiguration(ids(conf.getCurrentPeers(RaftPeerRole.FOLLOWER)),
        ids(conf.getCurrentPeers(RaftPeerRole.LISTENER)), ids(conf.getPreviousPeers(RaftPeerRole.FOLLOWER)));
  }

  private static Set<Long> sorted(Set<Long> ids) {
    return Collections.unmodifiableSortedSet(new TreeSet<>(ids));
  }

  private static Set<Long> ids(Collection<RaftPeer> peers) {
    Set<Long> ids = new TreeSet<>();
    peers.forEach(p -> ids.add(PeerIds.nodeId(p.getId())));
    return ids;
  }
}
