package io.raftoral.raft;

import java.lang.reflect.Field;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ratis 3.2's follower marks "a snapshot install is in progress" before it asks the state
 * machine to fetch one, and clears the mark only when that request completes. When something
 * throws in between, the mark stays and the state machine is never asked: every later notice of
 * the leader is answered "in progress" and the replica stays behind for good. Seen here when a
 * leader's second notice reaches a division still initializing ("log is uninitialized") and
 * when a new leader's log starts before the marked index (a precondition in the handler).
 *
 * <p>This reads and clears that mark ({@code SnapshotInstallationHandler.inProgressInstallSnapshotIndex},
 * private in Ratis 3.2.0, reached by reflection); {@link SnapshotFetcher} clears it only when no
 * transfer has run or been asked for a while. When Ratis no longer has the field, nothing is
 * read or cleared and one warning says so.
 */
final class StuckInstallMark {
  private static final Logger LOG = LoggerFactory.getLogger(StuckInstallMark.class);
  private static final Field HANDLER;
  private static final Field IN_PROGRESS;

  static {
    Field handler = null;
    Field inProgress = null;
    try {
      Class<?> impl = Class.forName("org.apache.ratis.server.impl.RaftServerImpl");
      handler = impl.getDeclaredField("snapshotInstallationHandler");
      handler.setAccessible(true);
      inProgress = handler.getType().getDeclaredField("inProgressInstallSnapshotIndex");
      inProgress.setAccessible(true);
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.warn("cannot reach Ratis's snapshot install mark ({}): a follower whose install notice failed half way stays behind "
          + "until it restarts", e.toString());
      handler = null;
      inProgress = null;
    }
    HANDLER = handler;
    IN_PROGRESS = inProgress;
  }

  private StuckInstallMark() {}

  /** Whether the mark can be read here (Ratis has the field). */
  static boolean available() {
    return IN_PROGRESS != null;
  }

  /** The division's in-progress install index, or -1 (none, or unreadable). */
  static long read(RaftServer.Division division) {
    AtomicLong mark = mark(division);
    return mark == null ? -1 : mark.get();
  }

  /** Clears the mark when it still is {@code expected}; whether it did. */
  static boolean clear(RaftServer.Division division, long expected) {
    AtomicLong mark = mark(division);
    return mark != null && expected != -1 && mark.compareAndSet(expected, -1);
  }

  private static AtomicLong mark(RaftServer.Division division) {
    if (IN_PROGRESS == null || !HANDLER.getDeclaringClass().isInstance(division)) {
      return null;
    }
    try {
      return (AtomicLong) IN_PROGRESS.get(HANDLER.get(division));
    } catch (IllegalAccessException e) {
      return null;
    }
  }
}
