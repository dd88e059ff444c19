package io.raftoral.node;

import io.raftoral.common.Errors;
import io.raftoral.config.NodeOptions;
import io.raftoral.security.NodeSecurity;
import io.raftoral.proto.client.JoinReply;
import io.raftoral.runtime.NodeRuntime;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How a starting node enters its cluster, chosen from its data directory and its options:
 *
 * <ol>
 *   <li>RECOVER: the data directory holds this node's identity and Raft storage, so it restarts
 *       as that node (alone in its peer list: its groups come back from storage);
 *   <li>JOIN: join seeds are set, so it registers with the running cluster, which allocates its
 *       id (an identity without Raft storage belongs to a start that never ran, and is rewritten);
 *   <li>BOOTSTRAP: otherwise it forms the cluster from {@code members} (or alone).
 * </ol>
 *
 * The identity is written before the runtime starts, so that a crash after that restarts the
 * same node.
 *
 * @param peers the Raft addresses the runtime starts with, this node's included
 */
record StartPlan(NodeRuntime.Entry entry, long id, String incarnation, Map<Long, String> peers) {

  /**
   * Chooses; a join registers with the cluster already and adds, to {@code opened}, the call
   * that withdraws the registration when the start fails later.
   *
   * @param identity what the data directory holds (null: none, or no data directory)
   */
  static StartPlan choose(NodeOptions o, NodeSecurity security, NodeIdentity identity, NodeHome home, List<AutoCloseable> opened) {
    Path dataDir = o.dataDir();
    Map<Long, String> peers = new LinkedHashMap<>(o.members());
    if (identity != null && home.hasRaftStorage()) {
      long id = identity.nodeId();
      String self = raftAddress(o, id);
      identity.withRaftAddress(self).write(dataDir); // records what an older identity lacks
      return new StartPlan(NodeRuntime.Entry.RECOVER, id, identity.incarnation(), Map.of(id, self));
    }
    if (!o.join().isEmpty()) {
      String self = raftAddress(o, 0);
      String incarnation = NodeIdentity.newIncarnation();
      JoinReply reply = Joiner.join(security, o.join(), o.clusterId(), self, o.apiAddress(), 0, incarnation, Launch.JOIN_CALL);
      long id = reply.getNodeId();
      opened.add(() -> Joiner.leave(security, o.join(), o.clusterId(), id, incarnation, "its start failed"));
      peers.clear();
      reply.getMembersList().forEach(m -> peers.put(m.getNodeId(), m.getRaftAddress()));
      peers.put(id, self);
      if (dataDir != null) {
        new NodeIdentity(id, o.clusterId(), incarnation, self).write(dataDir);
      }
      return new StartPlan(NodeRuntime.Entry.JOIN, id, incarnation, peers);
    }
    long id = identity != null ? identity.nodeId() : o.nodeId();
    if (id < 1) {
      throw new Errors.InvalidArgumentException("nodeId must be >= 1, got " + id);
    }
    if (peers.isEmpty()) {
      peers.put(id, raftAddress(o, id));
    }
    if (!peers.containsKey(id)) {
      throw new Errors.InvalidArgumentException("members " + peers.keySet() + " do not include node " + id);
    }
    String incarnation = identity != null ? identity.incarnation() : NodeIdentity.newIncarnation();
    if (dataDir != null) {
      new NodeIdentity(id, o.clusterId(), incarnation, peers.get(id)).write(dataDir);
    }
    return new StartPlan(NodeRuntime.Entry.BOOTSTRAP, id, incarnation, peers);
  }

  /** Node {@code id}'s Raft address: the one set, else its entry in the members. */
  private static String raftAddress(NodeOptions o, long id) {
    String address = o.raftAddress() != null ? o.raftAddress() : o.members().get(id);
    if (address == null) {
      throw new Errors.InvalidArgumentException("set raftAddress(...) (or members(...) including this node)");
    }
    return address;
  }
}
