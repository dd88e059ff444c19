package io.raftoral.node;

import io.raftoral.api.RaftoralException;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Properties;

/**
 * Who a data directory belongs to: node id and cluster id, written once when the node first
 * enters its cluster ({@code identity.properties}). A restart reads it back, so the same
 * command line restarts the same node; a directory of another node or cluster is refused.
 */
public record NodeIdentity(long nodeId, String clusterId) {
  public static final String FILE = "identity.properties";

  /** The identity stored in {@code dataDir}, or null when it has none yet. */
  public static NodeIdentity read(Path dataDir) {
    Path file = dataDir.resolve(FILE);
    if (!Files.exists(file)) {
      return null;
    }
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file)) {
      p.load(r);
      return new NodeIdentity(Long.parseLong(p.getProperty("node_id")), p.getProperty("cluster_id"));
    } catch (IOException | RuntimeException e) {
      throw new RaftoralException("data directory " + dataDir + " has an unreadable " + FILE + " (" + e + "); refusing to guess who it belongs to");
    }
  }

  /** Written to a temporary file and moved into place, so a crash leaves the old file or the new one. */
  public void write(Path dataDir) {
    Properties p = new Properties();
    p.setProperty("node_id", Long.toString(nodeId));
    p.setProperty("cluster_id", clusterId);
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

  /** Refuses a directory that belongs to another cluster or (when an id was asked for) another node. */
  public void check(Path dataDir, String expectedClusterId, long expectedNodeId) {
    if (!clusterId.equals(expectedClusterId)) {
      throw new RaftoralException("data directory " + dataDir + " belongs to cluster '" + clusterId
          + "', not '" + expectedClusterId + "'; refusing to use it");
    }
    if (expectedNodeId > 0 && expectedNodeId != nodeId) {
      throw new RaftoralException("data directory " + dataDir + " belongs to node " + nodeId
          + ", not node " + expectedNodeId + "; refusing to use it");
    }
  }
}
