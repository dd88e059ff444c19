package io.raftoral.runtime;

import io.raftoral.common.WorkflowType;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.Refused;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.raft.GroupId;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowRegistry;
import java.util.function.ToLongFunction;

/**
 * Leader-side admission ({@link io.raftoral.state.WorkflowStateMachine.Admission}), for the
 * command alone: what this node refuses before an entry is appended to a group it leads.
 */
final class LeaderAdmission {
  private final long nodeId;
  private final WorkflowRegistry registry;
  private final Payloads payloads;
  // The term this node leads a group in (0 when it does not lead it).
  private final ToLongFunction<GroupId> leaderTerm;

  LeaderAdmission(long nodeId, WorkflowRegistry registry, Payloads payloads, ToLongFunction<GroupId> leaderTerm) {
    this.nodeId = nodeId;
    this.registry = registry;
    this.payloads = payloads;
    this.leaderTerm = leaderTerm;
  }

  /**
   * Leader-side admission, for the command alone: a start of a type this node cannot run, or
   * with an input that type's codec cannot decode (SPEC §2, §12); an ownership claim that is not
   * this leader's own for the term it leads in (a forwarded or replayed claim: every decision
   * carries its term, and only the leader of that term claims in it).
   */
  Refused admit(GroupId gid, Command command) {
    return switch (command.getKindCase()) {
      case WORKFLOW_START -> admitStart(command.getWorkflowStart());
      case OWNER_CHANGE -> {
        var claim = command.getOwnerChange();
        long term = leaderTerm.applyAsLong(gid);
        yield claim.getOwnerNode() == nodeId && claim.getClaimantTerm() == term && term != 0 ? null
            : Refused.newBuilder().setCode(ResultCode.STALE_OWNER).setMessage("an ownership claim of node "
                + claim.getOwnerNode() + " for term " + claim.getClaimantTerm() + " reached node " + nodeId
                + ", which leads in term " + term + ": only a leader claims, for its own term").build();
      }
      default -> null;
    };
  }

  private Refused admitStart(WorkflowStart s) {
    WorkflowType type;
    WorkflowDefinition<?, ?> definition;
    try {
      type = new WorkflowType(s.getType(), s.getVersion());
      definition = registry.find(type);
    } catch (RuntimeException e) {
      return refusal(ResultCode.NOT_REGISTERED, s, String.valueOf(e.getMessage()));
    }
    if (definition == null) {
      return refusal(ResultCode.NOT_REGISTERED, s, "workflow " + type + " is not registered on node " + nodeId
          + ", which leads the group that would run it");
    }
    try {
      payloads.decode(s.getInput().toByteArray(), definition.inputType());
    } catch (RuntimeException e) {
      String why = String.valueOf(e.getMessage());
      return refusal(ResultCode.INVALID_INPUT, s, "the input of workflow " + s.getWorkflowId() + " is not a valid input of "
          + type + ": " + (why.length() > 300 ? why.substring(0, 300) + "..." : why));
    }
    return null;
  }

  private static Refused refusal(ResultCode code, WorkflowStart s, String message) {
    return Refused.newBuilder().setCode(code).setWorkflowId(s.getWorkflowId()).setType(s.getType())
        .setVersion(s.getVersion()).setMessage(message).build();
  }
}
