package io.raftoral.node;

import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.proto.client.NodeMembership;
import io.raftoral.proto.client.NodeStatusReply;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.RemovedNode;
import io.raftoral.runtime.NodeRuntime;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a running node finds out that its cluster removed it (docs/ARCHITECTURE.md, "Groups and
 * membership"). One virtual thread per runtime:
 *
 * <ul>
 *   <li>after a restart, it first asks the cluster (a join with its own id and incarnation)
 *       whether it is still a member; that also records a changed api address;
 *   <li>then, every half second, it looks for its own removal in its applied topology, and when
 *       it has not heard from its management leader for a while (a removed node stops hearing
 *       from it), it asks its peers ({@code NodeService.Status}). A removal is a committed fact,
 *       so one peer that reports it is enough.
 * </ul>
 */
final class MembershipWatch {
  private static final Logger LOG = LoggerFactory.getLogger(MembershipWatch.class);
  private static final long PERIOD_MILLIS = 500;
  private static final Duration STATUS_CALL = Duration.ofSeconds(2);

  private final NodeRuntime runtime;
  private final Launch launch;
  private final BiConsumer<NodeRuntime, String> removed;
  private final BiConsumer<NodeRuntime, RaftoralException> refused;
  private final long askAfterMillis;
  private volatile boolean stopped;
  private Thread thread;

  private MembershipWatch(NodeRuntime runtime, Launch launch, BiConsumer<NodeRuntime, String> removed,
      BiConsumer<NodeRuntime, RaftoralException> refused) {
    this.runtime = runtime;
    this.launch = launch;
    this.removed = removed;
    this.refused = refused;
    // Leaders send heartbeats well within the election timeout; this long without one is news.
    this.askAfterMillis = Math.max(2000, 4 * launch.options().electionTimeout().toMillis());
  }

  /**
   * Watches {@code runtime}; calls {@code removed} (with what happened) once the cluster removed
   * it, or {@code refused} when a restart was refused for another reason. Both run on the
   * watch's thread, which ends with them.
   */
  static MembershipWatch start(NodeRuntime runtime, Launch launch, boolean restarted, BiConsumer<NodeRuntime, String> removed,
      BiConsumer<NodeRuntime, RaftoralException> refused) {
    MembershipWatch w = new MembershipWatch(runtime, launch, removed, refused);
    w.thread = Thread.ofVirtual().name("raftoral-membership-watch-" + runtime.nodeId()).start(() -> w.run(restarted));
    return w;
  }

  /** Ends the watch (and a rejoin it runs); waits a while for it unless called from the watch itself. */
  void stop() {
    stopped = true;
    Thread t = thread;
    if (t != null && t != Thread.currentThread()) {
      t.interrupt();
      try {
        t.join(Duration.ofSeconds(30));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Whom to ask about this node, or to rejoin through: the join seeds and every other node's api address it knows. */
  static List<String> peers(NodeRuntime runtime, Launch launch) {
    Set<String> peers = new LinkedHashSet<>(launch.joinSeeds());
    for (NodeRecord n : runtime.topology().getNodesList()) {
      if (n.getNodeId() != runtime.nodeId() && !n.getApiAddress().isEmpty()) {
        peers.add(n.getApiAddress());
      }
    }
    if (launch.apiAddress() != null) {
      peers.remove(launch.apiAddress());
    }
    return List.copyOf(peers);
  }

  private void run(boolean restarted) {
    long id = runtime.nodeId();
    boolean confirmed = !restarted;
    long lastAsked = 0;
    while (!stopped && !runtime.isClosed()) {
      try {
        List<String> peers = peers(runtime, launch);
        if (!confirmed) {
          confirmed = confirmRestart(peers);
          if (stopped) {
            return;
          }
        } else {
          RemovedNode own = runtime.removalInTopology();
          if (own != null) {
            removed.accept(runtime, NodeRuntime.removedMessage(launch.clusterId(), own));
            return;
          }
          long now = System.currentTimeMillis();
          if (!peers.isEmpty() && runtime.millisSinceManagementLeader() > askAfterMillis && now - lastAsked > askAfterMillis / 2) {
            lastAsked = now;
            NodeStatusReply answer = Joiner.status(launch.security(), peers, launch.clusterId(), id, runtime.incarnation(), STATUS_CALL);
            if (answer != null && answer.getMembership() == NodeMembership.NODE_REMOVED) {
              removed.accept(runtime, NodeRuntime.removedMessage(launch.clusterId(), RemovedNode.newBuilder().setNodeId(id)
                  .setRemovedAtMillis(answer.getRemovedAtMillis()).setReason(answer.getReason()).build()));
              return;
            }
          }
        }
      } catch (RuntimeException e) {
        LOG.debug("node {}: membership watch round failed", id, e);
      }
      try {
        Thread.sleep(PERIOD_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /**
   * A restarted node asks the cluster whether it is still a member (and has its api address
   * recorded); true once answered, or when there is nobody to ask.
   */
  private boolean confirmRestart(List<String> peers) {
    long id = runtime.nodeId();
    if (peers.isEmpty()) {
      return true;
    }
    try {
      Joiner.join(launch.security(), peers, launch.clusterId(), launch.raftAddress(), launch.apiAddress(), id, runtime.incarnation(), Duration.ofSeconds(5));
      LOG.info("node {}: the cluster counts this node as a member", id);
      return true;
    } catch (Errors.NodeRemovedException e) {
      // Removed while it was down: say when and why, as the peers record it.
      NodeStatusReply answer = Joiner.status(launch.security(), peers, launch.clusterId(), id, runtime.incarnation(), STATUS_CALL);
      String message = answer != null && answer.getMembership() == NodeMembership.NODE_REMOVED
          ? NodeRuntime.removedMessage(launch.clusterId(), RemovedNode.newBuilder().setNodeId(id)
              .setRemovedAtMillis(answer.getRemovedAtMillis()).setReason(answer.getReason()).build())
          : "node " + id + " was removed from cluster " + launch.clusterId() + " while it was down; its replicas are stale";
      removed.accept(runtime, message);
      stopped = true;
      return true;
    } catch (Errors.InvalidArgumentException e) {
      refused.accept(runtime, new RaftoralException("node " + id + " stopped: " + e.getMessage(), e));
      stopped = true;
      return true;
    } catch (RaftoralException unreachable) {
      LOG.debug("node {}: no peer answered yet; asking again", id, unreachable);
      return false;
    }
  }
}
