package io.raftoral.runtime;

import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.PruneWorkflows;
import io.raftoral.raft.Proposer;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retention (SPEC §6): the owner of each hosted group proposes {@code PruneWorkflows} with a
 * cut-off of now minus the retention when some finished workflow ended before it. The cut-off
 * travels in the command, so every replica removes the same workflows.
 */
final class Retention implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(Retention.class);

  private final Duration retention;
  private final GroupHosting hosting;
  private final ServingGate gate;
  // Whether a group takes part in a merge under way (merged away, or the target): neither prunes meanwhile.
  private final java.util.function.Predicate<io.raftoral.raft.GroupId> mergingAway;

  Retention(Duration retention, GroupHosting hosting, ServingGate gate, java.util.function.Predicate<io.raftoral.raft.GroupId> mergingAway) {
    this.retention = retention;
    this.hosting = hosting;
    this.gate = gate;
    this.mergingAway = mergingAway;
  }

  /** Sweeps until the node closes. */
  @Override
  public void run() {
    long periodMillis = Math.clamp(retention.toMillis() / 4, 50, 60_000);
    while (!gate.closed()) {
      try {
        Thread.sleep(periodMillis);
      } catch (InterruptedException e) {
        return;
      }
      long cutoff = System.currentTimeMillis() - retention.toMillis();
      for (GroupRuntime g : hosting.runtimes()) {
        var owner = g.ownership();
        if (!gate.closed() && owner != null && !mergingAway.test(g.groupId()) && g.state().hasPrunable(cutoff)) {
          try {
            Proposer.Outcome outcome = gate.await(g.propose(Command.newBuilder()
                .setPruneWorkflows(PruneWorkflows.newBuilder().setEndedBeforeMillis(cutoff).setOwnerTerm(owner.term())).build()), "pruning");
            LOG.debug("group {}: pruned {} workflows that ended before {}", g.groupId(), outcome.result().getPruned(), cutoff);
          } catch (RuntimeException e) {
            LOG.debug("group {}: pruning failed; retrying later", g.groupId(), e);
          }
        }
      }
    }
  }
}
