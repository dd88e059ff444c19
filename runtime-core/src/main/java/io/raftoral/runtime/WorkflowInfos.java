package io.raftoral.runtime;

import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.raft.GroupId;
import java.time.Instant;
import java.util.Optional;

/** A replicated workflow record as clients see it ({@link WorkflowInfo}). */
final class WorkflowInfos {
  private WorkflowInfos() {}

  static WorkflowStatus status(WorkflowStatusCode code) {
    return switch (code) {
      case RUNNING -> WorkflowStatus.RUNNING;
      case COMPLETED -> WorkflowStatus.COMPLETED;
      case FAILED -> WorkflowStatus.FAILED;
      case TERMINATED -> WorkflowStatus.TERMINATED;
      default -> throw new IllegalStateException("unknown status " + code);
    };
  }

  static WorkflowInfo toInfo(WorkflowRecord r, GroupId group) {
    WorkflowStatus status = status(r.getStatus());
    Optional<String> errorMessage = switch (status) {
      case FAILED -> Optional.of(r.getError().getMessage());
      case TERMINATED -> Optional.of(r.getTerminationReason());
      default -> Optional.empty();
    };
    return new WorkflowInfo(r.getWorkflowId(), new WorkflowType(r.getType(), r.getVersion()), status, r.getOwnerNode(),
        group.uuid().toString(), Instant.ofEpochMilli(r.getStartedAtMillis()),
        status.isFinal() ? Optional.of(Instant.ofEpochMilli(r.getEndedAtMillis())) : Optional.empty(),
        r.getCheckpointCount(),
        status == WorkflowStatus.FAILED ? Optional.of(r.getError().getType()) : Optional.empty(),
        errorMessage);
  }
}
