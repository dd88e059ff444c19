package io.raftoral.common;

import java.time.Instant;

/**
 * One committed checkpoint of a workflow's history.
 *
 * @param seq the 0-based position of the value among the key's values
 * @param value the committed value as the workflow's codec encoded it (JSON by default)
 * @param committedAt the owner's clock when it proposed the value; {@link Instant#EPOCH} when
 *     unknown (committed by a version that did not record it)
 * @param ownerNode the node that owned the workflow and proposed the value; 0 when unknown
 * @param ownerTerm the Raft term of that ownership; 0 when unknown
 */
public record HistoryEntry(String key, long seq, byte[] value, Instant committedAt, long ownerNode, long ownerTerm) {
  public HistoryEntry {
    value = value.clone();
  }

  @Override
  public byte[] value() {
    return value.clone();
  }

  /** Whether the entry records when and under whom it was committed. */
  public boolean infoKnown() {
    return ownerTerm != 0;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HistoryEntry e && key.equals(e.key) && seq == e.seq && java.util.Arrays.equals(value, e.value)
        && committedAt.equals(e.committedAt) && ownerNode == e.ownerNode && ownerTerm == e.ownerTerm;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(key, seq, java.util.Arrays.hashCode(value), committedAt, ownerNode, ownerTerm);
  }

  @Override
  public String toString() {
    return "HistoryEntry[" + key + "#" + seq + ", " + value.length + " bytes, committed " + committedAt + " by node " + ownerNode
        + " in term " + ownerTerm + "]";
  }
}
