package io.raftoral.runtime;

import io.raftoral.raft.RaftHost;
import io.raftoral.raft.RaftSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the node does when {@link NodeHealth} finds a fault (a full disk, a replica that stopped
 * applying): it hands the leadership of its groups to others and stops taking it; once the fault
 * has cleared, it restarts through the facade's recovery when there is one, else leads again.
 */
final class FaultReaction implements NodeHealth.Reaction {
  private static final Logger LOG = LoggerFactory.getLogger(FaultReaction.class);

  private final RaftSettings raft;
  private final RaftHost host;
  private final GroupHosting hosting;
  private volatile Runnable recovery;

  FaultReaction(RaftSettings raft, RaftHost host, GroupHosting hosting) {
    this.raft = raft;
    this.host = host;
    this.hosting = hosting;
  }

  /** See {@link NodeRuntime#onRecovery}. */
  void onRecovery(Runnable restart) {
    this.recovery = restart;
  }

  @Override
  public void faulted(String why) {
    LOG.error("node {}: {}; it stops serving clients and hands the leadership of its groups to others until this is "
        + "fixed, then resumes by itself", raft.nodeId(), why);
    hosting.forEachGroup(gid -> {
      host.pauseElections(gid, true);
      host.stepDown(gid, raft.electionTimeoutMax().toMillis() * 2);
    });
  }

  @Override
  public boolean recovered(String was) {
    LOG.warn("node {}: recovered ({} no longer holds)", raft.nodeId(), was);
    Runnable restart = recovery;
    if (restart != null) {
      restart.run();
      return false;
    }
    hosting.forEachGroup(gid -> host.pauseElections(gid, false));
    return true;
  }

  @Override
  public boolean restarts() {
    return recovery != null;
  }
}
