package io.raftoral.storage;

/**
 * When and under whom a checkpoint was committed: the owner's wall clock when it proposed the
 * value (carried in the command, so every replica stores the same), and the owner node and term
 * the group had when it applied it. {@link #UNKNOWN} for checkpoints committed before this was
 * recorded (stores written by older versions).
 */
public record CheckpointInfo(long committedAtMillis, long ownerNode, long ownerTerm) {
  public static final CheckpointInfo UNKNOWN = new CheckpointInfo(0, 0, 0);

  public boolean isUnknown() {
    return equals(UNKNOWN);
  }
}
