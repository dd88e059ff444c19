package io.raftoral.node;

import io.raftoral.common.RaftoralException;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Properties;

/**
 * Who a data directory belongs to ({@code identity.properties}): node id, cluster id, the
 * directory's incarnation and the node's raft address. Written when the node first enters its
 * cluster (and again when it rejoins as a new node); a restart reads it back, so the same
 * command line restarts the same node, and a directory of another node or cluster, or a start
 * on another raft address, is refused before anything starts.
 *
 * <p>The incarnation is a random token created with the identity and sent with every join: the
 * cluster tells a restarted node (same incarnation) from a node that lost its data directory and
 * comes back on the same raft address (a new one), which must never get its old id back.
 *
 * @param incarnation never blank
 * @param raftAddress empty in an identity written before raft addresses were recorded
 */
public record NodeIdentity(long nodeId, String clusterId, String incarnation, String raftAddress) {
  public static final String FILE = "identity.properties";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** A new identity with a fresh incarnation. */
  public static NodeIdentity create(long nodeId, String clusterId, String raftAddress) {
    return new NodeIdentity(nodeId, clusterId, newIncarnation(), raftAddress);
  }

  /** 128 random bits, hex. */
  public static String newIncarnation() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  /**
   * The identity stored in {@code dataDir}, or null when it has none yet. One written before
   * incarnations existed gets a new one here (the caller writes it back).
   */
  public static NodeIdentity read(Path dataDir) {
    Path file = dataDir.resolve(FILE);
    if (!Files.exists(file)) {
      return null;
    }
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file)) {
      p.load(r);
      String incarnation = p.getProperty("incarnation", "");
      return new NodeIdentity(Long.parseLong(p.getProperty("node_id")), p.getProperty("cluster_id"),
          incarnation.isBlank() ? newIncarnation() : incarnation, p.getProperty("raft_address", ""));
    } catch (IOException | RuntimeException e) {
      throw new RaftoralException("data directory " + dataDir + " has an unreadable " + FILE + " (" + e + "); refusing to guess who it belongs to");
    }
  }

  /** Written to a temporary file and moved into place, so a crash leaves the old file or the new one. */
  public void write(Path dataDir) {
    Properties p = new Properties();
    p.setProperty("node_id", Long.toString(nodeId));
    p.setProperty("cluster_id", clusterId);
    p.setProperty("incarnation", incarnation);
    p.setProperty("raft_address", raftAddress);
    Path tmp = dataDir.resolve(FILE + ".tmp");
    try {
      try (Writer w = Files.newBufferedWriter(tmp)) {
        p.store(w, "Raftoral node identity: do not edit");
      }
      Files.move(tmp, dataDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new RaftoralException("cannot write the node identity into " + dataDir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Refuses a directory that belongs to another cluster, another node (when an id was asked
   * for), or a node with another raft address: peers know a node by its raft address, and a
   * safe change of it is not built.
   */
  public void check(Path dataDir, String expectedClusterId, long expectedNodeId, String expectedRaftAddress) {
    if (!clusterId.equals(expectedClusterId)) {
      throw new RaftoralException("data directory " + dataDir + " belongs to cluster '" + clusterId
          + "', not '" + expectedClusterId + "'; refusing to use it");
    }
    if (expectedNodeId > 0 && expectedNodeId != nodeId) {
      throw new RaftoralException("data directory " + dataDir + " belongs to node " + nodeId
          + ", not node " + expectedNodeId + "; refusing to use it");
    }
    if (!raftAddress.isEmpty() && expectedRaftAddress != null && !raftAddress.equals(expectedRaftAddress)) {
      throw new RaftoralException("data directory " + dataDir + " belongs to node " + nodeId + " with raft address "
          + raftAddress + ", but this start asks for raft address " + expectedRaftAddress + ": a node's raft address cannot "
          + "change (its peers know it by that address). Restart it with --raft-addr " + raftAddress + ", or start a new node "
          + "with an empty data directory and --join SEED");
    }
  }

  /** The same identity with {@code raftAddress} recorded. */
  public NodeIdentity withRaftAddress(String address) {
    return new NodeIdentity(nodeId, clusterId, incarnation, address);
  }
}
