package io.raftoral.state;

import com.google.protobuf.ByteString;

/**
 * Where a replica reads the committed checkpoint values it does not hold in memory (all but the
 * latest of each key): the group's state store.
 */
@FunctionalInterface
public interface CommittedValues {
  /**
   * The committed value at (workflowId, key, seq), or null when none is stored there (trimmed by
   * a retention policy, pruned, or never committed). Waits while the store is briefly closed.
   */
  ByteString read(String workflowId, String key, long seq);

  /**
   * Every stored checkpoint of a workflow with its info, per key in seq order: for a merge that
   * adopts a workflow whose checkpoints were copied ahead of it ({@code AdoptCheckpoints}).
   */
  default void forEachStored(String workflowId, Stored consumer) {
    throw new UnsupportedOperationException("no stored checkpoints to read here");
  }

  /** One stored checkpoint. */
  @FunctionalInterface
  interface Stored {
    void accept(String key, long seq, ByteString value, io.raftoral.storage.CheckpointInfo info);
  }

  /** The store cannot be read now (closed with its node, or not reopened in time); the run that asked stops. */
  final class Unavailable extends RuntimeException {
    public Unavailable(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
