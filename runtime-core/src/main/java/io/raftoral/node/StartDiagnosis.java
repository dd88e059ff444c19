package io.raftoral.node;

import io.raftoral.common.RaftoralException;
import io.raftoral.raft.RaftStartFailures;
import io.raftoral.storage.CorruptStateException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Says why a node's runtime failed to start, from the exception's type and its causes: a
 * corrupted state store or Raft log in the data directory (refused, never used), or a Raft
 * address it cannot serve. Each message says what to do.
 */
final class StartDiagnosis {
  private StartDiagnosis() {}

  /**
   * The exception to throw for {@code e}, the failure to start node {@code id} serving Raft on
   * {@code raftAddress}, with {@code dataDirectory} (null: none).
   */
  static RaftoralException diagnose(Throwable e, Path dataDirectory, long id, String raftAddress) {
    if (dataDirectory != null) {
      CorruptStateException corruptState = corruptState(e);
      if (corruptState != null) {
        return new RaftoralException("data directory " + dataDirectory + " of node " + id + ": " + corruptState.getMessage(), e);
      }
      IOException corruptLog = RaftStartFailures.corruptLog(e);
      if (corruptLog != null) {
        return new RaftoralException("data directory " + dataDirectory + " of node " + id + " holds a corrupted or truncated "
            + "Raft log (" + shortMessage(corruptLog) + "); refusing to use it. Restore it from a backup, or start the node with "
            + "an empty data directory to join the cluster again as a new node", e);
      }
    }
    if (RaftStartFailures.bindFailure(e)) {
      return new RaftoralException("node " + id + ": cannot serve raft on " + raftAddress + ": the address is in use or not "
          + "bindable (" + shortMessage(rootCause(e)) + ")", e);
    }
    return e instanceof RaftoralException re ? re : new RaftoralException("cannot start node " + id + ": " + e.getMessage(), e);
  }

  private static CorruptStateException corruptState(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof CorruptStateException c) {
        return c;
      }
      for (Throwable s : t.getSuppressed()) {
        CorruptStateException c = corruptState(s);
        if (c != null) {
          return c;
        }
      }
    }
    return null;
  }

  private static Throwable rootCause(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t;
  }

  private static String shortMessage(Throwable t) {
    String m = t.getMessage() == null ? t.toString() : t.getMessage();
    return m.length() > 300 ? m.substring(0, 300) + "..." : m;
  }
}
