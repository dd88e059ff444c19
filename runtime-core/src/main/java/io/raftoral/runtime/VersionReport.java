package io.raftoral.runtime;

import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.ReportVersion;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.ManagementStateMachine;
import io.raftoral.raft.RaftHost;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this node's software version in the topology (the console's cluster page shows each
 * node's): whenever the topology records another version for this node (none after a bootstrap
 * or a join, an older one after an upgrade), the node reports its own (ReportVersion).
 */
final class VersionReport implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(VersionReport.class);
  static final long EVERY_MILLIS = 2_000;

  /** The version this node runs: its jar's Implementation-Version, "development" from classes. */
  public static final String CURRENT = version();

  private final long node;
  private final RaftHost host;
  private final ManagementStateMachine management;
  private final GroupId managementGroupId;
  private final Thread thread;

  VersionReport(long node, RaftHost host, ManagementStateMachine management, GroupId managementGroupId) {
    this.node = node;
    this.host = host;
    this.management = management;
    this.managementGroupId = managementGroupId;
    this.thread = Thread.ofVirtual().name("raftoral-version-report-" + node).start(this::run);
  }

  private static String version() {
    String v = VersionReport.class.getPackage().getImplementationVersion();
    return v == null || v.isBlank() ? "development" : v;
  }

  private void run() {
    while (true) {
      String recorded = recordedVersion();
      if (recorded != null && !recorded.equals(CURRENT)) {
        ManagementCommand report = ManagementCommand.newBuilder()
            .setReportVersion(ReportVersion.newBuilder().setNodeId(node).setVersion(CURRENT)).build();
        try {
          host.submit(managementGroupId, report.toByteArray()).get(EVERY_MILLIS * 5, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          return;
        } catch (Exception e) {
          LOG.debug("node {}: reporting its version failed (tried again): {}", node, e.toString());
        }
      }
      try {
        Thread.sleep(EVERY_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** The version the topology records for this node ("" for none), or null while the topology does not list it. */
  private String recordedVersion() {
    for (NodeRecord n : management.topology().getNodesList()) {
      if (n.getNodeId() == node) {
        return n.getVersion();
      }
    }
    return null;
  }

  @Override
  public void close() {
    thread.interrupt();
  }
}
