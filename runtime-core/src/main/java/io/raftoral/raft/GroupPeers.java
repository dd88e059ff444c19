package io.raftoral.raft;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A group and the Raft addresses (host:port) of its peers by node id. No peers: a replica that
 * waits for the group's leader to add it.
 */
public record GroupPeers(GroupId id, Map<Long, String> peers) {
  public GroupPeers {
    peers = Collections.unmodifiableMap(new LinkedHashMap<>(peers)); // in the caller's order, as Ratis gets them
  }
}
