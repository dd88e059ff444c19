package io.raftoral.api;

import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.node.Joiner;
import io.raftoral.node.NodeIdentity;
import io.raftoral.proto.client.JoinReply;
import io.raftoral.raft.RaftSettings;
import io.raftoral.runtime.NodeRuntime;
import io.raftoral.runtime.Payloads;
import io.raftoral.workflow.WorkflowRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a node was started with, kept so that it can start its runtime again as a new node when
 * its cluster removed it (a rejoin). Immutable; built by {@link RaftoralNode.Builder}.
 *
 * @param dataDirectory null for a node without one (then {@code temporaryDirectory} holds its files)
 * @param apiAddress null for a node that serves no api
 */
record Launch(
    String clusterId,
    String raftAddress,
    String apiAddress,
    Path dataDirectory,
    Path temporaryDirectory,
    List<String> joinSeeds,
    WorkflowRegistry registry,
    Payloads payloads,
    int executionGroups,
    Duration requestTimeout,
    int maxInFlight,
    int maxBatchBytes,
    int maxVoters,
    int targetGroupSize,
    Duration nodeFailureTimeout,
    Duration retention,
    Duration batchLinger,
    long snapshotThreshold,
    Duration electionTimeout,
    boolean rejoinAfterRemoval) {
  private static final Logger LOG = LoggerFactory.getLogger(Launch.class);
  /** How long a joining node waits for the management leader to add it. */
  static final Duration ADMISSION = Duration.ofSeconds(60);

  /** Where the node keeps its Raft log and state stores. */
  Path home() {
    return dataDirectory != null ? dataDirectory : temporaryDirectory;
  }

  /** A runtime (not started) for node {@code id} with these peers. */
  NodeRuntime newRuntime(long id, Map<Long, String> peers, String incarnation) throws IOException {
    RaftSettings settings = new RaftSettings(id, peers, home().resolve("raft"), home().resolve("state"), snapshotThreshold,
        electionTimeout, electionTimeout.multipliedBy(2));
    return new NodeRuntime(settings, new NodeRuntime.Options(clusterId, executionGroups, payloads, requestTimeout,
        maxInFlight, maxBatchBytes, maxVoters, targetGroupSize, nodeFailureTimeout, apiAddress, retention, batchLinger,
        incarnation), registry);
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
    JoinReply reply = Joiner.join(seeds, clusterId, raftAddress, apiAddress, 0, incarnation, Duration.ofSeconds(15));
    long id = reply.getNodeId();
    Path aside = moveReplicasAside(removed.nodeId());
    if (dataDirectory != null) {
      new NodeIdentity(id, clusterId, incarnation, raftAddress).write(dataDirectory);
    }
    LOG.info("node {}: rejoined cluster {} as node {}{}", removed.nodeId(), clusterId, id,
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
      Joiner.leave(seeds, clusterId, id, incarnation, "its start failed: " + e.getMessage());
      next.close();
      throw e;
    }
  }

  /**
   * Moves {@code raft/} and {@code state/} out of the way so a new node starts empty; returns
   * where they went (null without a data directory: they are deleted). The identity goes with
   * them. BEFORE the new identity is written: a crash in between leaves an identity without Raft
   * storage, which the next start treats as a node that never ran.
   */
  private Path moveReplicasAside(long oldId) throws IOException {
    Path raft = home().resolve("raft");
    Path state = home().resolve("state");
    if (dataDirectory == null) {
      deleteRecursively(raft);
      deleteRecursively(state);
      Files.createDirectories(raft);
      Files.createDirectories(state);
      return null;
    }
    Path aside = dataDirectory.resolve("removed-" + oldId + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    Files.createDirectories(aside);
    for (Path p : List.of(raft, state)) {
      if (Files.exists(p)) {
        Files.move(p, aside.resolve(p.getFileName()), StandardCopyOption.ATOMIC_MOVE);
      }
    }
    Path identity = dataDirectory.resolve(NodeIdentity.FILE);
    if (Files.exists(identity)) {
      Files.copy(identity, aside.resolve(NodeIdentity.FILE), StandardCopyOption.REPLACE_EXISTING);
    }
    Files.createDirectories(raft);
    Files.createDirectories(state);
    return aside;
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

  static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      LOG.debug("cannot delete {}", dir, e);
    }
  }
}
