package io.raftoral.raft;

import java.io.IOException;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.protocol.exceptions.RaftRetryFailureException;
import org.apache.ratis.protocol.exceptions.StateMachineException;

/**
 * Why a group did not take an entry or answer a query: in a failed {@link RaftReply}, or as the
 * failure of a call that got no reply. What Ratis threw is its cause (for the log); callers
 * above the raft package look at {@link #kind()} and the message.
 */
public final class RaftError extends IOException {
  /** What went wrong, as far as a caller can act on it. */
  public enum Kind {
    /** The node asked does not lead the group (an entry submitted locally). */
    NOT_LEADER,
    /** The node leads the group but has not committed an entry of its term yet. */
    LEADER_NOT_READY,
    /** The state machine refused or failed the entry or query. */
    STATE_MACHINE,
    /** No reply in time: no leader found within the client's retries, or no answer within the call limit. */
    NO_ANSWER,
    /** Anything else (a closed client or server, a misconfigured group). */
    OTHER
  }

  private final Kind kind;

  public RaftError(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  static RaftError of(Throwable ratis) {
    if (ratis == null) {
      return new RaftError(Kind.OTHER, "failed without a reason", null);
    }
    Kind kind = ratis instanceof NotLeaderException ? Kind.NOT_LEADER
        : ratis instanceof LeaderNotReadyException ? Kind.LEADER_NOT_READY
        : ratis instanceof StateMachineException ? Kind.STATE_MACHINE
        : ratis instanceof RaftRetryFailureException || ratis instanceof java.util.concurrent.TimeoutException ? Kind.NO_ANSWER
        : Kind.OTHER;
    return new RaftError(kind, ratis.toString(), ratis);
  }

  public Kind kind() {
    return kind;
  }
}
