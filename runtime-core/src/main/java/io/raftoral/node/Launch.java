package io.raftoral.node;

import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.config.NodeOptions;
import io.raftoral.raft.RaftTls;
import io.raftoral.security.NodeSecurity;
import io.raftoral.proto.client.JoinReply;
import io.raftoral.raft.RaftSettings;
import io.raftoral.runtime.NodeMetrics;
import io.raftoral.runtime.NodeTracing;
import io.raftoral.runtime.NodeRuntime;
import io.raftoral.runtime.Payloads;
import io.raftoral.workflow.WorkflowRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a node was started with, kept so that it can start its runtime again: as the same node
 * after a disk fault, or as a new node when its cluster removed it (a rejoin). Immutable.
 *
 * @param options the node's options (validated, tuning properties applied)
 * @param raftAddress this node's Raft address (from {@code raftAddress} or its entry in {@code members})
 * @param metrics the node's meters, which outlive its runtimes
 * @param tracing the node's tracing, which outlives its runtimes
 * @param security how the node reaches its peers' API ports (joins) and serves its own
 */
record Launch(NodeOptions options, String raftAddress, NodeHome home, WorkflowRegistry registry, Payloads payloads,
    NodeMetrics metrics, NodeTracing tracing, NodeSecurity security) {
  private static final Logger LOG = LoggerFactory.getLogger(Launch.class);
  /** How long a joining node waits for the management leader to add it. */
  static final Duration ADMISSION = Duration.ofSeconds(60);
  /** How long a join waits for a seed to answer. */
  static final Duration JOIN_CALL = Duration.ofSeconds(15);

  String clusterId() {
    return options.clusterId();
  }

  String apiAddress() {
    return options.apiAddress();
  }

  List<String> joinSeeds() {
    return options.join();
  }

  /** Null for a node without a data directory. */
  Path dataDirectory() {
    return options.dataDir();
  }

  /**
   * A runtime (not started) for node {@code id} with these peers. The one place where the node
   * options become the runtime's and Raft's settings.
   */
  NodeRuntime newRuntime(long id, Map<Long, String> peers, String incarnation) throws IOException {
    return new NodeRuntime(raftSettings(id, peers), options, payloads, incarnation, registry, metrics, tracing);
  }

  /** Raft's settings of node {@code id} with these peers, from the node options. */
  RaftSettings raftSettings(long id, Map<Long, String> peers) {
    return new RaftSettings(id, peers, home.raft(), home.state(), options.snapshotThreshold(),
        options.electionTimeout(), options.electionTimeout().multipliedBy(2), options.snapshotTransferRate(),
        options.snapshotChunkBytes(), raftTls());
  }

  /**
   * Mutual TLS between the nodes when they have the cluster's CA (a certificate alone is for
   * clients: the peers could not verify each other by it).
   */
  private RaftTls raftTls() {
    return options.tlsCa() == null ? null : new RaftTls(options.tlsCert(), options.tlsKey(), options.tlsCa());
  }

  /**
   * Joins the cluster as a new node in place of {@code removed} (closed already): registers with
   * a fresh incarnation and, only once the cluster accepted it, moves the stale replicas aside
   * ({@code <data>/removed-<old id>-<time>/}), writes the new identity and starts a fresh runtime
   * that waits until the management leader added it.
   *
   * @throws Errors.NodeRemovedException or {@link Errors.InvalidArgumentException} when the
   *     cluster refuses the join (final)
   * @throws IOException or another {@link RaftoralException} when it may work later
   */
  NodeRuntime rejoin(NodeRuntime removed, List<String> seeds) throws IOException {
    String incarnation = NodeIdentity.newIncarnation();
    JoinReply reply = Joiner.join(security, seeds, clusterId(), raftAddress, apiAddress(), 0, incarnation, JOIN_CALL);
    long id = reply.getNodeId();
    Path aside = home.moveReplicasAside(removed.nodeId());
    if (dataDirectory() != null) {
      new NodeIdentity(id, clusterId(), incarnation, raftAddress).write(dataDirectory());
    }
    LOG.info("node {}: rejoined cluster {} as node {}{}", removed.nodeId(), clusterId(), id,
        aside == null ? "" : "; its replicas as node " + removed.nodeId() + " are in " + aside);
    Map<Long, String> peers = new LinkedHashMap<>();
    reply.getMembersList().forEach(m -> peers.put(m.getNodeId(), m.getRaftAddress()));
    peers.put(id, raftAddress);
    NodeRuntime next = newRuntime(id, peers, incarnation);
    try {
      next.start(NodeRuntime.Entry.JOIN);
      awaitAdmission(next, id);
      return next;
    } catch (IOException | RuntimeException e) {
      Joiner.leave(security, seeds, clusterId(), id, incarnation, "its start failed: " + e.getMessage());
      next.close();
      throw e;
    }
  }

  static void awaitAdmission(NodeRuntime runtime, long id) {
    try {
      if (!runtime.awaitAdmitted(ADMISSION)) {
        throw new Errors.UnavailableException("node " + id + " registered with the cluster, but its management leader did not "
            + "add it within " + ADMISSION.toSeconds() + " s (is this node's raft address reachable from the others?)", null);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.UnavailableException("interrupted while joining", e);
    }
  }
}
