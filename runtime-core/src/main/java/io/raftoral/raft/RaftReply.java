package io.raftoral.raft;

import java.nio.ByteBuffer;
import org.apache.ratis.protocol.RaftClientReply;

/**
 * A group's answer to an entry or a query: on success the state machine's reply message, the
 * log index of the entry (0 for a query) and the node that answered; otherwise the error.
 */
public final class RaftReply {
  private final boolean success;
  private final ByteBuffer message;
  private final long logIndex;
  private final long serverNode;
  private final RaftError error;

  private RaftReply(boolean success, ByteBuffer message, long logIndex, long serverNode, RaftError error) {
    this.success = success;
    this.message = message;
    this.logIndex = logIndex;
    this.serverNode = serverNode;
    this.error = error;
  }

  /** A successful reply carrying {@code message}. */
  public static RaftReply success(byte[] message, long logIndex, long serverNode) {
    return new RaftReply(true, ByteBuffer.wrap(message).asReadOnlyBuffer(), logIndex, serverNode, null);
  }

  /** A failed reply. */
  public static RaftReply failure(RaftError error, long serverNode) {
    return new RaftReply(false, ByteBuffer.allocate(0).asReadOnlyBuffer(), 0, serverNode, error);
  }

  static RaftReply of(RaftClientReply reply) {
    long server = PeerIds.nodeId(reply.getServerId());
    if (!reply.isSuccess()) {
      return new RaftReply(false, ByteBuffer.allocate(0).asReadOnlyBuffer(), reply.getLogIndex(), server,
          RaftError.of(reply.getException()));
    }
    // The read-only view of the message: parsing reads it without a copy.
    return new RaftReply(true, reply.getMessage().getContent().asReadOnlyByteBuffer(), reply.getLogIndex(), server, null);
  }

  public boolean isSuccess() {
    return success;
  }

  /** The reply message (a fresh read-only view each call); empty on failure. */
  public ByteBuffer message() {
    return message.duplicate();
  }

  /** The index of the entry in the group's log; 0 for a query. */
  public long logIndex() {
    return logIndex;
  }

  /** The node that answered; 0 when unknown. */
  public long serverNode() {
    return serverNode;
  }

  /** Why the call failed; null on success. */
  public RaftError error() {
    return error;
  }

  @Override
  public String toString() {
    return success ? "RaftReply[success, index " + logIndex + " from node " + serverNode + "]" : "RaftReply[" + error + "]";
  }
}
