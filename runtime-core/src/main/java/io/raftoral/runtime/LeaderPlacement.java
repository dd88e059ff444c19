package io.raftoral.runtime;

import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.Topology;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.SealGroup;
import io.raftoral.raft.GroupConfiguration;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.ManagementStateMachine;
import io.raftoral.raft.RaftHost;
import io.raftoral.raft.RaftSettings;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs on every node: hands the leadership of each execution group this node leads to the
 * group's preferred leader (ExecutionGroupRecord.preferred_leader, chosen by the management
 * leader so that leaders are spread) when that is another member that answers this leader.
 * Through {@link GroupRuntime#handOff}, so the side effects running here have their results
 * committed before the new leader becomes the owner (nothing runs twice). At most one attempt per
 * group every {@link #RETRY}: a preferred leader that cannot take over (behind, unreachable) is
 * not asked again at once, and this node stays the leader meanwhile.
 *
 * <p>The same loop also asks {@link GroupHosting} to look again at the replicas this node may
 * drop (a group it left is dropped only once that group's leader no longer lists it, which happens
 * after the topology change that triggered the first look).
 */
final class LeaderPlacement implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LeaderPlacement.class);
  private static final Duration TICK = Duration.ofSeconds(1);
  static final Duration RETRY = Duration.ofSeconds(5);
  private static final int RECONCILE_EVERY_TICKS = 5;

  private final long self;
  private final RaftHost host;
  private final ManagementStateMachine management;
  private final GroupHosting hosting;
  private final long answersWithinMs;
  private final long transferTimeoutMs;
  // Group -> when (nanos) this node last tried to hand it off.
  private final Map<GroupId, Long> lastAttempt = new HashMap<>();
  // Group -> when (nanos) this node last tried to seal it for a merge.
  private final Map<GroupId, Long> lastSeal = new HashMap<>();
  private volatile Thread loop;
  private volatile boolean closed;
  private volatile boolean held;

  LeaderPlacement(RaftSettings raft, RaftHost host, ManagementStateMachine management, GroupHosting hosting) {
    this.self = raft.nodeId();
    this.host = host;
    this.management = management;
    this.hosting = hosting;
    this.answersWithinMs = raft.electionTimeoutMin().toMillis();
    this.transferTimeoutMs = raft.electionTimeoutMax().toMillis() * 2;
  }

  void start() {
    loop = Thread.ofPlatform().daemon().name("raftoral-leader-placement-" + self).start(this::run);
  }

  /**
   * While held, this node keeps the leaderships it has (an operator pinning a leader for
   * maintenance, a test that moves leaders itself); released, it follows the preferred leaders again.
   */
  void hold(boolean hold) {
    held = hold;
    wake();
  }

  /** The topology changed: look now. */
  void wake() {
    Thread t = loop;
    if (t != null) {
      LockSupport.unpark(t);
    }
  }

  private void run() {
    int ticks = 0;
    while (!closed) {
      try {
        tick(management.topology(), System.nanoTime());
        if (++ticks % RECONCILE_EVERY_TICKS == 0) {
          hosting.scheduleLocalReconcile();
        }
      } catch (RuntimeException e) {
        if (!closed) {
          LOG.debug("node {}: leader placement failed; retrying", self, e);
        }
      }
      LockSupport.parkNanos(TICK.toNanos());
    }
  }

  private void tick(Topology t, long now) {
    for (ExecutionGroupRecord g : t.getExecutionGroupsList()) {
      sealIfMergedAway(g, now);
      long preferred = g.getPreferredLeader();
      if (closed || held || preferred == 0 || preferred == self || !g.getMergedInto().isEmpty()
          || !g.getMembersList().contains(preferred)) {
        continue;
      }
      GroupId gid = GroupId.of(UUID.fromString(g.getGroupId()));
      GroupRuntime runtime = hosting.get(gid);
      if (runtime == null || !host.isLeader(gid)) {
        continue;
      }
      GroupConfiguration conf = host.configuration(gid);
      if (conf == null || conf.changing() || !new TreeSet<>(conf.voters()).equals(new TreeSet<>(g.getMembersList()))) {
        continue; // a member change is under way: a transfer now would stall it (Ratis does not do both at once)
      }
      Long quiet = host.followerSilenceMillis(gid).get(preferred);
      if (quiet == null || quiet > answersWithinMs) {
        continue; // not a follower that answers: handing over would only cost the group its leader
      }
      Long last = lastAttempt.get(gid);
      if (last != null && now - last < RETRY.toNanos()) {
        continue;
      }
      lastAttempt.put(gid, now);
      LOG.info("node {}: handing the leadership of execution group {} to its preferred leader {}", self, g.getIndex(), preferred);
      boolean moved = runtime.handOff(NodeRuntime.HANDOFF_DRAIN,
          () -> host.transferLeadershipHere(gid, preferred, transferTimeoutMs));
      if (!moved) {
        LOG.info("node {}: node {} did not take the leadership of execution group {} (retry in {})", self, preferred,
            g.getIndex(), RETRY);
      }
    }
    lastAttempt.keySet().removeIf(gid -> now - lastAttempt.get(gid) > TimeUnit.MINUTES.toNanos(1));
    lastSeal.keySet().removeIf(gid -> now - lastSeal.get(gid) > TimeUnit.MINUTES.toNanos(1));
  }

  /**
   * The leader of a group being merged away seals it, after the side effects running here have
   * proposed their results ({@link GroupRuntime#handOff}: no new owner decision meanwhile), so
   * that none of them runs again in the merge target. Whoever leads it does so, held or not.
   */
  private void sealIfMergedAway(ExecutionGroupRecord g, long now) {
    if (closed || g.getMergeTarget().isEmpty() || g.getMembersCount() == 0) {
      return;
    }
    GroupId gid = GroupId.of(UUID.fromString(g.getGroupId()));
    GroupRuntime runtime = hosting.get(gid);
    if (runtime == null || runtime.isSealed() || !host.isLeader(gid)) {
      return;
    }
    Long last = lastSeal.get(gid);
    if (last != null && now - last < RETRY.toNanos()) {
      return;
    }
    lastSeal.put(gid, now);
    Command seal = Command.newBuilder().setSealGroup(SealGroup.newBuilder().setMergeTarget(g.getMergeTarget())).build();
    boolean done = runtime.drainThen(NodeRuntime.HANDOFF_DRAIN, () -> {
      try {
        ResultCode code = runtime.propose(seal).get(transferTimeoutMs, TimeUnit.MILLISECONDS).result().getCode();
        return code == ResultCode.APPLIED || code == ResultCode.SEALED;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      } catch (Exception e) {
        LOG.info("node {}: sealing execution group {} for its merge failed: {} (retry in {})", self, g.getIndex(), e.toString(), RETRY);
        return false;
      }
    });
    if (done) {
      LOG.info("node {}: sealed execution group {} for its merge, its side effects drained", self, g.getIndex());
    }
  }

  @Override
  public void close() {
    closed = true;
    wake();
  }
}
