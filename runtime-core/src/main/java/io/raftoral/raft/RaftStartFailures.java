package io.raftoral.raft;

import java.io.IOException;
import java.util.function.Predicate;
import org.apache.ratis.io.CorruptedFileException;
import org.apache.ratis.protocol.exceptions.ChecksumException;
import org.apache.ratis.util.ExitUtils;

/**
 * Why Ratis failed to start a node, told apart by exception type here so that the layers above
 * need neither Ratis's exception classes nor its messages.
 */
public final class RaftStartFailures {
  private RaftStartFailures() {}

  /**
   * The failure to read a group's Raft log (an entry whose checksum does not match, a segment
   * it cannot parse) within {@code e}'s causes, or null when there is none.
   */
  public static IOException corruptLog(Throwable e) {
    Throwable t = find(e, c -> c instanceof ChecksumException || c instanceof CorruptedFileException);
    return (IOException) t;
  }

  /**
   * Whether the Raft server could not serve its address: a {@link java.net.BindException}, or
   * Ratis's refusal to go on after its gRPC server failed to start with an I/O error (Ratis
   * would exit the process; it throws instead as exits are disabled): the failed bind, which
   * the native transport reports as a plain IOException.
   */
  public static boolean bindFailure(Throwable e) {
    return find(e, c -> c instanceof java.net.BindException
        || (c instanceof ExitUtils.ExitException && find(c.getCause(), IOException.class::isInstance) != null)) != null;
  }

  private static Throwable find(Throwable e, Predicate<Throwable> match) {
    // Causes and suppressed ones: a failed start closes what it opened and may add those failures.
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (match.test(t)) {
        return t;
      }
      for (Throwable s : t.getSuppressed()) {
        Throwable found = find(s, match);
        if (found != null) {
          return found;
        }
      }
    }
    return null;
  }
}
