package io.raftoral.state;

import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.OwnerChange;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.SetCheckpoint;
import io.raftoral.proto.raft.WorkflowEnd;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.proto.raft.WorkflowTerminate;
import java.util.Collection;
import java.util.Collections;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The replicated state of one execution group and the rules that change it. {@link #apply} is
 * deterministic: every replica that applies the same commands in the same order holds the same
 * state. No I/O, no clocks, no callbacks: the state machine around it does those.
 */
public final class WorkflowState {
  private final ConcurrentHashMap<String, WorkflowEntry> workflows = new ConcurrentHashMap<>();
  // Invariant: ownerTerm only grows; ownerNode is the node whose OwnerChange carried ownerTerm.
  private volatile long ownerNode;
  private volatile long ownerTerm;

  public WorkflowEntry get(String workflowId) {
    return workflows.get(workflowId);
  }

  public Collection<WorkflowEntry> workflows() {
    return Collections.unmodifiableCollection(workflows.values());
  }

  /** The node that owns the group's workflows; 0 before the first OwnerChange. */
  public long ownerNode() {
    return ownerNode;
  }

  /** The Raft term of the entry that carried the latest OwnerChange. */
  public long ownerTerm() {
    return ownerTerm;
  }

  /**
   * Applies one committed command.
   *
   * @param entryTerm the Raft term of the log entry that carries the command
   */
  public CommandResult apply(Command command, long entryTerm) {
    return switch (command.getKindCase()) {
      case WORKFLOW_START -> start(command.getWorkflowStart());
      case SET_CHECKPOINT -> setCheckpoint(command.getSetCheckpoint());
      case WORKFLOW_END -> end(command.getWorkflowEnd());
      case OWNER_CHANGE -> changeOwner(command.getOwnerChange(), entryTerm);
      case WORKFLOW_TERMINATE -> terminate(command.getWorkflowTerminate());
      case PRUNE_WORKFLOWS -> prune(command.getPruneWorkflows().getEndedBeforeMillis());
      case KIND_NOT_SET -> throw new IllegalArgumentException("command without a kind");
    };
  }

  private CommandResult start(WorkflowStart s) {
    WorkflowEntry existing = workflows.get(s.getWorkflowId());
    if (existing != null) {
      boolean same = existing.type().equals(s.getType())
          && existing.version() == s.getVersion()
          && existing.input().equals(s.getInput());
      return result(same ? ResultCode.ALREADY_STARTED : ResultCode.CONFLICT, existing.status());
    }
    workflows.put(s.getWorkflowId(), new WorkflowEntry(
        s.getWorkflowId(), s.getType(), s.getVersion(), s.getInput(), s.getStartedAtMillis(), ownerNode));
    return result(ResultCode.APPLIED, WorkflowStatusCode.RUNNING);
  }

  private CommandResult setCheckpoint(SetCheckpoint c) {
    WorkflowEntry w = workflows.get(c.getWorkflowId());
    CommandResult refused = refuseOwnerWrite(w, c.getOwnerTerm());
    if (refused != null) {
      return refused;
    }
    long next = w.nextSeq(c.getKey());
    if (c.getSeq() < next) {
      return result(ResultCode.DUPLICATE, w.status());
    }
    if (c.getSeq() > next) {
      return result(ResultCode.OUT_OF_ORDER, w.status());
    }
    w.appendCheckpoint(c.getKey(), c.getValue());
    return result(ResultCode.APPLIED, w.status());
  }

  private CommandResult end(WorkflowEnd e) {
    WorkflowEntry w = workflows.get(e.getWorkflowId());
    CommandResult refused = refuseOwnerWrite(w, e.getOwnerTerm());
    if (refused != null) {
      return refused;
    }
    if (e.hasError()) {
      w.fail(e.getError(), e.getEndedAtMillis());
    } else {
      w.complete(e.getResult(), e.getEndedAtMillis());
    }
    return result(ResultCode.APPLIED, w.status());
  }

  /** Why a checkpoint or end proposal may not change {@code w}, or null when it may. */
  private CommandResult refuseOwnerWrite(WorkflowEntry w, long proposerTerm) {
    if (w == null) {
      return result(ResultCode.NOT_FOUND, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
    }
    if (!w.isRunning()) {
      return result(ResultCode.FINISHED, w.status());
    }
    if (proposerTerm != ownerTerm) {
      return result(ResultCode.STALE_OWNER, w.status());
    }
    return null;
  }

  private CommandResult changeOwner(OwnerChange c, long entryTerm) {
    if (entryTerm < ownerTerm) {
      return result(ResultCode.STALE_OWNER, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
    }
    ownerNode = c.getOwnerNode();
    ownerTerm = entryTerm;
    for (WorkflowEntry w : workflows.values()) {
      if (w.isRunning()) {
        w.setOwner(ownerNode);
      }
    }
    return result(ResultCode.APPLIED, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
  }

  private CommandResult terminate(WorkflowTerminate t) {
    WorkflowEntry w = workflows.get(t.getWorkflowId());
    if (w == null) {
      return result(ResultCode.NOT_FOUND, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
    }
    if (!w.isRunning()) {
      return result(ResultCode.FINISHED, w.status());
    }
    w.terminate(t.getReason(), t.getAtMillis());
    return result(ResultCode.APPLIED, w.status());
  }

  private CommandResult prune(long endedBeforeMillis) {
    long before = workflows.size();
    workflows.values().removeIf(w -> !w.isRunning() && w.endedAtMillis() < endedBeforeMillis);
    return result(ResultCode.APPLIED, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED).toBuilder()
        .setPruned(before - workflows.size()).build();
  }

  /** Whether a {@code PruneWorkflows} with this cut-off would remove anything (so the owner proposes only then). */
  public boolean hasPrunable(long endedBeforeMillis) {
    return workflows.values().stream().anyMatch(w -> !w.isRunning() && w.endedAtMillis() < endedBeforeMillis);
  }

  /**
   * A digest of the whole state (every workflow with its checkpoints, and the owner): replicas
   * that applied the same commands have equal digests.
   */
  public String digest() {
    java.security.MessageDigest sha;
    try {
      sha = java.security.MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    sha.update(java.nio.ByteBuffer.allocate(16).putLong(ownerNode).putLong(ownerTerm).array());
    workflows.values().stream()
        .sorted(java.util.Comparator.comparing(WorkflowEntry::workflowId))
        .forEach(w -> w.digestInto(sha));
    return java.util.HexFormat.of().formatHex(sha.digest());
  }

  public int size() {
    return workflows.size();
  }

  private static CommandResult result(ResultCode code, WorkflowStatusCode status) {
    return CommandResult.newBuilder().setCode(code).setStatus(status).build();
  }
}
