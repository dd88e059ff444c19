package io.raftoral.runtime;

import io.raftoral.raft.GroupId;
import io.raftoral.raft.GroupStats;
import io.raftoral.raft.RaftHost;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs, every few seconds, how a replica that is far behind its group's leader catches up (a
 * restarted node replaying what it missed): applied index, the leader's commit index, percent and
 * rate; and once that it caught up. Quiet while every replica keeps up.
 */
final class CatchUpLog implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CatchUpLog.class);
  static final long EVERY_MILLIS = 5_000;
  /** A replica this many entries behind its leader's commit index is catching up. */
  static final long BEHIND = 1_000;

  /** A group's catch-up as last logged: where it was applied, when. */
  record Seen(long applied, long atNanos) {}

  private final long node;
  private final RaftHost host;
  private final Map<GroupId, Seen> catchingUp = new HashMap<>();
  private final Thread thread;

  CatchUpLog(long node, RaftHost host) {
    this.node = node;
    this.host = host;
    this.thread = Thread.ofVirtual().name("raftoral-catch-up-log-" + node).start(this::run);
  }

  private void run() {
    while (true) {
      try {
        Thread.sleep(EVERY_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
      for (GroupId g : host.hostedGroups()) {
        GroupStats stats = host.stats(g);
        String line = stats == null ? null : line(g, stats, catchingUp, System.nanoTime());
        if (line != null) {
          LOG.info("node {}: {}", node, line);
        }
      }
      catchingUp.keySet().retainAll(host.hostedGroups());
    }
  }

  /**
   * What to log of group {@code g} now, or null: a line while its replica is at least {@link
   * #BEHIND} entries behind the leader's commit index, and one when it caught up. Updates {@code
   * catchingUp}.
   */
  static String line(GroupId g, GroupStats stats, Map<GroupId, Seen> catchingUp, long nowNanos) {
    if (stats.leading() || stats.leader() == 0) {
      return null;
    }
    long target = Math.max(stats.commitIndex(), stats.memberCommitIndex().getOrDefault(stats.leader(), -1L));
    long behind = target - stats.appliedIndex();
    Seen seen = catchingUp.get(g);
    if (behind < BEHIND) {
      if (seen == null) {
        return null;
      }
      catchingUp.remove(g);
      return String.format(Locale.ROOT, "group %s: caught up with its leader (node %d) at index %,d", g, stats.leader(),
          stats.appliedIndex());
    }
    catchingUp.put(g, new Seen(stats.appliedIndex(), nowNanos));
    String rate = seen == null ? "" : String.format(Locale.ROOT, ", %,.0f entries/s",
        (stats.appliedIndex() - seen.applied()) / Math.max(1e-9, (nowNanos - seen.atNanos()) / 1e9));
    return String.format(Locale.ROOT, "group %s: catching up with its leader (node %d): applied %,d of %,d (%.1f%%)%s", g,
        stats.leader(), stats.appliedIndex(), target, target <= 0 ? 100.0 : 100.0 * Math.max(0, stats.appliedIndex()) / target, rate);
  }

  @Override
  public void close() {
    thread.interrupt();
  }
}
