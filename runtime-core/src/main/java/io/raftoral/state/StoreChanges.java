package io.raftoral.state;

import com.google.protobuf.ByteString;
import io.raftoral.storage.CheckpointInfo;
import io.raftoral.storage.StateStore;

/** Writes what one entry's commands changed into that entry's store batch (beside its Raft position). */
public record StoreChanges(StateStore.Batch writes) implements WorkflowState.Changes {
  @Override
  public void workflow(WorkflowEntry w) {
    writes.putWorkflow(w.toStoredRecord());
  }

  @Override
  public void checkpoint(String workflowId, String key, long seq, ByteString value, CheckpointInfo info) {
    writes.putCheckpoint(workflowId, key, seq, value, info);
  }

  @Override
  public void owner(long node, long term) {
    writes.putOwner(node, term);
  }

  @Override
  public void placement(long groups) {
    writes.putPlacement(groups);
  }

  @Override
  public void sealed(String mergeTarget) {
    writes.putSealed(mergeTarget);
  }

  @Override
  public void adoptionDone(String fromGroup) {
    writes.putAdoptionDone(fromGroup);
  }

  @Override
  public void removed(String workflowId) {
    writes.removeWorkflow(workflowId);
  }

  @Override
  public void trimmed(String workflowId, String key, long fromSeq) {
    writes.trimCheckpoints(workflowId, key, fromSeq);
  }
}
