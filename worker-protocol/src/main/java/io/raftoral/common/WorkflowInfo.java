package io.raftoral.common;

import java.time.Instant;
import java.util.Optional;

/**
 * What a workflow looks like in the replicated state.
 *
 * @param ownerNode the node that runs side effects and proposes checkpoints
 * @param executionGroup the id of the Raft group that owns the workflow
 * @param endedAt empty while {@code RUNNING}
 * @param errorType set for {@code FAILED}: the type of the error the function threw
 * @param errorMessage set for {@code FAILED}, or the reason for {@code TERMINATED}
 */
public record WorkflowInfo(
    String workflowId,
    WorkflowType type,
    WorkflowStatus status,
    long ownerNode,
    String executionGroup,
    Instant startedAt,
    Optional<Instant> endedAt,
    long checkpointCount,
    Optional<String> errorType,
    Optional<String> errorMessage) {}
