package io.raftoral.storage;

/**
 * When and under whom a checkpoint was committed: the owner's wall clock when it proposed the
 * value (carried in the command, so every replica stores the same), the owner node and term the
 * group had when it applied it, and its place in its workflow's commit order (how many
 * checkpoints of the workflow were committed before it, any key: exact, where clocks are not).
 * {@link #UNKNOWN} for checkpoints committed before this was recorded (stores written by older
 * versions).
 */
public record CheckpointInfo(long committedAtMillis, long ownerNode, long ownerTerm, long commitOrdinal) {
  public static final CheckpointInfo UNKNOWN = new CheckpointInfo(0, 0, 0, 0);

  /** A checkpoint applied under an owner always has a term; one without info has none. */
  public boolean isUnknown() {
    return ownerTerm == 0 && ownerNode == 0 && committedAtMillis == 0;
  }
}
