package io.raftoral.state;

import io.raftoral.proto.raft.CheckpointPosition;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.OwnerChange;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.SetCheckpoint;
import io.raftoral.proto.raft.WorkflowEnd;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.proto.raft.WorkflowTerminate;
import io.raftoral.storage.CheckpointInfo;
import java.util.Collection;
import java.util.Collections;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The replicated state of one execution group and the rules that change it. {@link #apply} is
 * deterministic: every replica that applies the same commands in the same order holds the same
 * state. No I/O, no clocks, no callbacks: the state machine around it does those.
 */
public final class WorkflowState {
  /**
   * What {@link #apply} changed, for a durable copy of the state. Called on the apply thread,
   * after the in-memory change.
   */
  public interface Changes {
    Changes NONE = new Changes() {};

    /** The workflow's record (everything but its checkpoints) changed or was created. */
    default void workflow(WorkflowEntry w) {}

    default void checkpoint(String workflowId, String key, long seq, com.google.protobuf.ByteString value, CheckpointInfo info) {}

    default void owner(long node, long term) {}

    /** The workflow and all its checkpoints are gone. */
    default void removed(String workflowId) {}

    /** The checkpoints of (workflowId, key) below {@code fromSeq} are gone (a retention policy at the workflow's end). */
    default void trimmed(String workflowId, String key, long fromSeq) {}

    default void placement(long groups) {}

    /** The group was sealed for a merge into {@code mergeTarget}. */
    default void sealed(String mergeTarget) {}

    /** The merge of {@code fromGroup} into this group copied its last page. */
    default void adoptionDone(String fromGroup) {}
  }

  /**
   * Who owns the group's workflows: the node whose {@code OwnerChange} was applied last, and the
   * Raft term of the entry that carried it. One object, so a reader never sees the node of one
   * claim with the term of another.
   */
  public record Owner(long node, long term) {
    public static final Owner NONE = new Owner(0, 0);
  }

  private final ConcurrentHashMap<String, WorkflowEntry> workflows = new ConcurrentHashMap<>();
  // Where entries read the committed values they do not hold in memory.
  private final CommittedValues stored;
  // Non-null when this state keeps every value in memory itself (no state store): fed by apply.
  private final MemoryValues memory;

  /**
   * A state whose committed values live in memory alone, every one of them: for tests of this
   * layer, where no state store exists. A replica uses {@link #WorkflowState(CommittedValues)}.
   */
  public WorkflowState() {
    this.memory = new MemoryValues();
    this.stored = memory;
  }

  /** A state that holds the latest value per key in memory and reads the others from {@code stored}. */
  public WorkflowState(CommittedValues stored) {
    this.memory = null;
    this.stored = java.util.Objects.requireNonNull(stored, "stored");
  }
  // Invariant: only grows. How many execution groups starts must be routed over to be taken here.
  private volatile long placement;
  // Invariant: owner.term only grows, and each term has at most one owner node (a claim is
  // applied only in the term its claimant led in, and a term has one leader).
  private volatile Owner owner = Owner.NONE;
  // The merge target's group id once a SealGroup was applied, else null. Invariant: once set,
  // never changes, and no workflow changes after it (so an export read after it is final).
  private volatile String sealedFor;
  // The groups whose merge into this one finished copying (AdoptionDone). Invariant: only grows,
  // and no AdoptWorkflows from a group in it adds anything.
  private final java.util.Set<String> adoptionsDone = ConcurrentHashMap.newKeySet();
  // Ids without a workflow here whose checkpoints a merge copied ahead (AdoptCheckpoints): a
  // workflow started here under such an id must not take them (a restart would load them into it).
  private final java.util.Set<String> copiedAhead = ConcurrentHashMap.newKeySet();

  public WorkflowEntry get(String workflowId) {
    return workflows.get(workflowId);
  }

  public Collection<WorkflowEntry> workflows() {
    return Collections.unmodifiableCollection(workflows.values());
  }

  /** The owner and its term, read together; {@link Owner#NONE} before the first OwnerChange. */
  public Owner owner() {
    return owner;
  }

  /** How many execution groups a start must have been routed over to be taken here (0: any). */
  public long placement() {
    return placement;
  }

  /** Whether a SealGroup was applied: the group is being merged and no workflow changes any more. */
  public boolean sealed() {
    return sealedFor != null;
  }

  /** The group id the group is merged into; empty while it is not sealed. */
  public String mergeTarget() {
    String target = sealedFor;
    return target == null ? "" : target;
  }

  /** Whether the merge of {@code fromGroup} into this group finished copying: its pages add nothing any more. */
  public boolean adoptionDone(String fromGroup) {
    return adoptionsDone.contains(fromGroup);
  }

  /** The node that owns the group's workflows; 0 before the first OwnerChange. */
  public long ownerNode() {
    return owner.node();
  }

  /** The Raft term of the entry that carried the latest OwnerChange. */
  public long ownerTerm() {
    return owner.term();
  }

  /**
   * Applies one committed command.
   *
   * @param entryTerm the Raft term of the log entry that carries the command
   */
  public CommandResult apply(Command command, long entryTerm) {
    return apply(command, entryTerm, Changes.NONE);
  }

  /** As {@link #apply(Command, long)}, reporting each change to {@code changes}. */
  public CommandResult apply(Command command, long entryTerm, Changes changes) {
    if (memory != null) {
      changes = memory.andThen(changes);
    }
    return switch (command.getKindCase()) {
      case WORKFLOW_START -> start(command.getWorkflowStart(), changes);
      case SET_CHECKPOINT -> setCheckpoint(command.getSetCheckpoint(), changes);
      case WORKFLOW_END -> end(command.getWorkflowEnd(), changes);
      case OWNER_CHANGE -> changeOwner(command.getOwnerChange(), entryTerm, changes);
      case WORKFLOW_TERMINATE -> terminate(command.getWorkflowTerminate(), changes);
      case PRUNE_WORKFLOWS -> prune(command.getPruneWorkflows(), changes);
      case REFUSED -> result(command.getRefused().getCode(), WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED).toBuilder()
          .setMessage(command.getRefused().getMessage()).build();
      case PLACEMENT -> place(command.getPlacement().getGroups(), changes);
      case SEAL_GROUP -> seal(command.getSealGroup().getMergeTarget(), changes);
      case ADOPT_WORKFLOWS -> adopt(command.getAdoptWorkflows(), changes);
      case ADOPTION_DONE -> adoptionDone(command.getAdoptionDone().getFromGroup(), changes);
      case ADOPT_CHECKPOINTS -> adoptCheckpoints(command.getAdoptCheckpoints(), changes);
      case KIND_NOT_SET -> throw new IllegalArgumentException("command without a kind");
    };
  }

  // --- loading a stored copy ---

  /** Adds a stored workflow (without checkpoints; add those in order with {@link #restoreCheckpoint}). */
  public void restoreWorkflow(io.raftoral.proto.raft.WorkflowRecord record) {
    workflows.put(record.getWorkflowId(), WorkflowEntry.fromRecord(record, stored));
  }

  /**
   * Adds a stored checkpoint value (only counted for an ended workflow, whose values are not
   * kept in memory; a running one's becomes its key's latest; one without its workflow was copied
   * ahead of it by a merge and waits in the store); returns false when it is not the next seq of
   * its key (a gap: bad data).
   */
  public boolean restoreCheckpoint(String workflowId, String key, long seq, com.google.protobuf.ByteString value) {
    WorkflowEntry w = workflows.get(workflowId);
    if (w == null) {
      copiedAhead.add(workflowId);
      return true; // copied ahead of its workflow by a merge (AdoptCheckpoints): the workflow takes it when adopted
    }
    if (!w.isRunning()) {
      w.countStoredCheckpoint();
      if (memory != null) {
        memory.checkpoint(workflowId, key, seq, value, CheckpointInfo.UNKNOWN); // what the store holds
      }
      return true;
    }
    if (w.nextSeq(key) != seq) {
      return false;
    }
    w.appendCheckpoint(key, value);
    if (memory != null) {
      memory.checkpoint(workflowId, key, seq, value, CheckpointInfo.UNKNOWN);
    }
    return true;
  }

  /** Adds the stored info of a checkpoint restored before (see {@link #restoreCheckpoint}). */
  public void restoreCheckpointInfo(String workflowId, String key, long seq, CheckpointInfo info) {
    WorkflowEntry w = workflows.get(workflowId);
    if (w != null) {
      w.addInfo(key, seq, info);
    }
  }

  public void restoreOwner(long node, long term) {
    owner = new Owner(node, term);
  }

  public void restorePlacement(long groups) {
    placement = groups;
  }

  public void restoreSealed(String mergeTarget) {
    sealedFor = mergeTarget;
  }

  public void restoreAdoptionDone(String fromGroup) {
    adoptionsDone.add(fromGroup);
  }

  /**
   * Makes this state equal to {@code other} (a snapshot installed from the leader), keeping the
   * entry objects of workflows present in both: local runs hold those and must see the new
   * values. A workflow missing from {@code other} was pruned while this replica was behind;
   * its entry is detached so a local run of it stops.
   */
  public void replaceWith(WorkflowState other) {
    if (memory != null) {
      // Kept entries read through this state's values: they become the incoming state's.
      memory.replaceWith(other.memory);
    }
    for (WorkflowEntry incoming : other.workflows.values()) {
      WorkflowEntry existing = workflows.putIfAbsent(incoming.workflowId(), incoming);
      if (existing != null) {
        existing.copyFrom(incoming);
      }
    }
    for (WorkflowEntry w : workflows.values()) {
      if (!other.workflows.containsKey(w.workflowId())) {
        workflows.remove(w.workflowId());
        w.detach();
      }
    }
    owner = other.owner;
    placement = other.placement;
    sealedFor = other.sealedFor;
    adoptionsDone.addAll(other.adoptionsDone);
    adoptionsDone.retainAll(other.adoptionsDone);
    copiedAhead.addAll(other.copiedAhead);
    copiedAhead.retainAll(other.copiedAhead);
  }

  private CommandResult start(WorkflowStart s, Changes changes) {
    if (sealedFor != null) {
      return moved("start of workflow " + s.getWorkflowId());
    }
    WorkflowEntry existing = workflows.get(s.getWorkflowId());
    if (existing != null) {
      boolean same = existing.type().equals(s.getType())
          && existing.version() == s.getVersion()
          && existing.input().equals(s.getInput());
      return result(same ? ResultCode.ALREADY_STARTED : ResultCode.CONFLICT, existing.status());
    }
    // placement 0: routed by the management group's placement (issue 20), not by hashing over
    // the open groups, so the old rule does not apply; it stays for starts that carry a count.
    if (s.getPlacement() != 0 && s.getPlacement() < placement) {
      return result(ResultCode.MOVED, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED).toBuilder()
          .setMessage("routed over " + s.getPlacement() + " execution groups, but the cluster has " + placement
              + " or more: route it again with the current topology").build();
    }
    if (copiedAhead.remove(s.getWorkflowId())) {
      changes.removed(s.getWorkflowId()); // not this workflow's: checkpoints copied ahead of a merged one
    }
    WorkflowEntry created = new WorkflowEntry(
        s.getWorkflowId(), s.getType(), s.getVersion(), s.getInput(), s.getStartedAtMillis(), owner.node(), s.getTraceParent(),
        stored);
    workflows.put(s.getWorkflowId(), created);
    changes.workflow(created);
    return result(ResultCode.APPLIED, WorkflowStatusCode.RUNNING);
  }

  private CommandResult setCheckpoint(SetCheckpoint c, Changes changes) {
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
    // The owner of the checked term is the proposer; its clock reading travels in the command;
    // the count of the workflow's checkpoints so far is its place in the commit order.
    CheckpointInfo info = new CheckpointInfo(c.getCommittedAtMillis(), owner.node(), owner.term(), w.checkpointCount());
    w.appendCheckpoint(c.getKey(), c.getValue());
    w.addInfo(c.getKey(), c.getSeq(), info);
    changes.checkpoint(c.getWorkflowId(), c.getKey(), c.getSeq(), c.getValue(), info);
    return result(ResultCode.APPLIED, w.status());
  }

  private CommandResult end(WorkflowEnd e, Changes changes) {
    WorkflowEntry w = workflows.get(e.getWorkflowId());
    CommandResult refused = refuseOwnerWrite(w, e.getOwnerTerm());
    if (refused != null) {
      return refused;
    }
    for (CheckpointPosition p : e.getAwaitedList()) {
      if (w.nextSeq(p.getKey()) <= p.getSeq()) {
        return result(ResultCode.OUT_OF_ORDER, w.status());
      }
    }
    if (e.getKeepLastPerKey() < 0) {
      return result(ResultCode.INVALID_INPUT, w.status()).toBuilder()
          .setMessage("keep_last_per_key must be 0 (keep everything) or more, got " + e.getKeepLastPerKey()).build();
    }
    if (e.hasError()) {
      w.fail(e.getError(), e.getEndedAtMillis());
    } else {
      w.complete(e.getResult(), e.getEndedAtMillis());
    }
    keepLast(w, e.getKeepLastPerKey(), changes);
    changes.workflow(w);
    return result(ResultCode.APPLIED, w.status());
  }

  /**
   * Applies a retention policy as the workflow ends: only the last {@code n} values of each key
   * stay stored (0: all of them). Never while it runs: a run that replays it (a new owner, a
   * restart) reads every position from seq 0. The record notes {@code n} only when a value went:
   * a history the policy left whole still starts at its first step (and replays).
   */
  private static void keepLast(WorkflowEntry w, long n, Changes changes) {
    if (n <= 0) {
      return;
    }
    boolean[] trimmed = {false};
    w.keyCounts().forEach((key, count) -> {
      if (count > n) {
        changes.trimmed(w.workflowId(), key, count - n);
        trimmed[0] = true;
      }
    });
    if (trimmed[0]) {
      w.historyKept(n);
    }
  }

  /** Why a checkpoint or end proposal may not change {@code w}, or null when it may. */
  private CommandResult refuseOwnerWrite(WorkflowEntry w, long proposerTerm) {
    if (sealedFor != null) {
      return sealedResult(w == null ? WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED : w.status());
    }
    if (w == null) {
      return result(ResultCode.NOT_FOUND, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
    }
    if (!w.isRunning()) {
      return result(ResultCode.FINISHED, w.status());
    }
    if (proposerTerm != owner.term()) {
      return result(ResultCode.STALE_OWNER, w.status());
    }
    return null;
  }

  /**
   * A claim counts only in the term its claimant led in: {@code claimant_term} must be the term
   * of the entry that carries it, so the entry was appended by that term's one leader, the
   * claimant, and not forwarded by a node that no longer leads. Terms only grow.
   */
  private CommandResult changeOwner(OwnerChange c, long entryTerm, Changes changes) {
    if (c.getClaimantTerm() != entryTerm || entryTerm < owner.term()) {
      return result(ResultCode.STALE_OWNER, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
    }
    Owner next = new Owner(c.getOwnerNode(), entryTerm);
    owner = next;
    changes.owner(next.node(), next.term());
    for (WorkflowEntry w : workflows.values()) {
      if (w.isRunning()) {
        w.setOwner(next.node());
        changes.workflow(w);
      }
    }
    return result(ResultCode.APPLIED, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
  }

  /**
   * The cluster routes starts over {@code groups} execution groups from now on: a start routed over
   * fewer (a node with a stale topology) is refused here, so it cannot land in this group while a
   * node that knows the new groups starts the same id in another one.
   */
  private CommandResult place(long groups, Changes changes) {
    if (groups > placement) {
      placement = groups;
      changes.placement(groups);
    }
    return result(ResultCode.APPLIED, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
  }

  private CommandResult terminate(WorkflowTerminate t, Changes changes) {
    if (sealedFor != null) {
      return moved("termination of workflow " + t.getWorkflowId());
    }
    WorkflowEntry w = workflows.get(t.getWorkflowId());
    if (w == null) {
      return result(ResultCode.NOT_FOUND, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
    }
    if (!w.isRunning()) {
      return result(ResultCode.FINISHED, w.status());
    }
    if (t.getKeepLastPerKey() < 0) {
      return result(ResultCode.INVALID_INPUT, w.status()).toBuilder()
          .setMessage("keep_last_per_key must be 0 (keep everything) or more, got " + t.getKeepLastPerKey()).build();
    }
    w.terminate(t.getReason(), t.getAtMillis());
    keepLast(w, t.getKeepLastPerKey(), changes);
    changes.workflow(w);
    return result(ResultCode.APPLIED, w.status());
  }

  private CommandResult prune(io.raftoral.proto.raft.PruneWorkflows p, Changes changes) {
    if (sealedFor != null) {
      return sealedResult(WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
    }
    if (p.getOwnerTerm() != owner.term()) {
      return result(ResultCode.STALE_OWNER, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
    }
    long endedBeforeMillis = p.getEndedBeforeMillis();
    long pruned = 0;
    for (WorkflowEntry w : workflows.values()) {
      if (!w.isRunning() && w.endedAtMillis() < endedBeforeMillis) {
        workflows.remove(w.workflowId());
        changes.removed(w.workflowId());
        pruned++;
      }
    }
    return result(ResultCode.APPLIED, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED).toBuilder()
        .setPruned(pruned).build();
  }

  /**
   * From now on nothing changes a workflow here: starts and terminations are MOVED (the caller
   * routes them to the merge target), checkpoints, ends and prunes are SEALED (the owner's runs
   * stop; the target's owner resumes them from what was committed here). The first seal's target
   * stays: a seal proposed again (a new management leader redoing the merge) changes nothing.
   */
  private CommandResult seal(String mergeTarget, Changes changes) {
    if (sealedFor == null) {
      sealedFor = mergeTarget;
      changes.sealed(mergeTarget);
    }
    return result(ResultCode.APPLIED, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
  }

  /**
   * Copies a page of a sealed group's workflows. A workflow whose id is held here is left as it
   * is, so a page adopted twice adds nothing; RUNNING ones are owned by this group's owner, as
   * if started here. A malformed page (a record without id or status, or checkpoints not
   * numbered 0, 1, ... per key in order) is refused whole, before anything changes. A sealed
   * group adopts nothing: its own export must stay final.
   */
  private CommandResult adopt(io.raftoral.proto.raft.AdoptWorkflows a, Changes changes) {
    if (sealedFor != null) {
      return sealedResult(WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
    }
    if (adoptionsDone.contains(a.getFromGroup())) {
      // A late page of a finished merge: what it holds is here, or was here and is pruned.
      return result(ResultCode.APPLIED, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED).toBuilder()
          .setMessage("the merge of group " + a.getFromGroup() + " into this group is done: its pages add nothing").build();
    }
    // Built before anything changes, so a malformed page is refused whole.
    java.util.Map<String, WorkflowEntry> built = new java.util.HashMap<>();
    for (io.raftoral.proto.raft.ExportedWorkflow x : a.getWorkflowsList()) {
      String malformed = malformed(x);
      WorkflowEntry w = null;
      if (malformed == null && !workflows.containsKey(x.getRecord().getWorkflowId())) {
        w = WorkflowEntry.fromRecord(x.getRecord(), stored);
        malformed = adoptedCheckpoints(w, x);
      }
      if (malformed != null) {
        return result(ResultCode.INVALID_INPUT, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED).toBuilder()
            .setMessage("workflows adopted from group " + a.getFromGroup() + ": " + malformed).build();
      }
      if (w != null) {
        built.put(w.workflowId(), w);
      }
    }
    long added = 0;
    for (io.raftoral.proto.raft.ExportedWorkflow x : a.getWorkflowsList()) {
      io.raftoral.proto.raft.WorkflowRecord r = x.getRecord();
      WorkflowEntry w = built.remove(r.getWorkflowId());
      if (w == null) {
        continue; // held here already (or twice in the page)
      }
      if (w.isRunning()) {
        w.setOwner(owner.node());
      }
      workflows.put(r.getWorkflowId(), w);
      copiedAhead.remove(r.getWorkflowId());
      changes.workflow(w);
      for (io.raftoral.proto.raft.ExportedCheckpoint c : x.getCheckpointsList()) {
        // The info travels with the value: history shows the source group's owner and time.
        changes.checkpoint(r.getWorkflowId(), c.getKey(), c.getSeq(), c.getValue(), infoOf(c));
      }
      added++;
    }
    return result(ResultCode.APPLIED, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED).toBuilder().setPruned(added).build();
  }

  /**
   * Adds to an adopted entry its checkpoints: for a {@code continued} workflow first those copied
   * ahead of it (AdoptCheckpoints, in the store), then the page's. Null when they follow one
   * another per key (a trimmed ended workflow's keys may start past seq 0), else why not.
   */
  private String adoptedCheckpoints(WorkflowEntry w, io.raftoral.proto.raft.ExportedWorkflow x) {
    boolean trimmed = !w.isRunning() && x.getRecord().getHistoryKeptLastPerKey() > 0;
    java.util.Map<String, Long> next = new java.util.HashMap<>();
    String[] gap = {null};
    CommittedValues.Stored add = (key, seq, value, info) -> {
      Long expected = next.get(key);
      if (gap[0] != null || (expected != null ? seq != expected : seq != 0 && !trimmed)) {
        if (gap[0] == null) {
          gap[0] = "checkpoint (" + key + ", " + seq + ") of workflow " + w.workflowId() + " does not follow the ones before it"
              + " (expected seq " + (expected == null ? 0 : expected) + ")";
        }
        return;
      }
      next.put(key, seq + 1);
      if (w.isRunning()) {
        w.appendCheckpoint(key, value);
        w.addInfo(key, seq, info);
      } else {
        w.countStoredCheckpoint(); // an ended workflow's values live in the store only
      }
    };
    if (x.getContinued()) {
      stored.forEachStored(w.workflowId(), add);
    }
    for (io.raftoral.proto.raft.ExportedCheckpoint c : x.getCheckpointsList()) {
      add.accept(c.getKey(), c.getSeq(), c.getValue(), infoOf(c));
    }
    return gap[0];
  }

  /**
   * Copies part of the checkpoints of a sealed group's workflow ahead of the workflow (too big for
   * one page): into the store, not yet a workflow here; the AdoptWorkflows that brings the
   * workflow takes them. Nothing for a workflow held here, or once the merge from that group is done.
   */
  private CommandResult adoptCheckpoints(io.raftoral.proto.raft.AdoptCheckpoints a, Changes changes) {
    if (sealedFor != null) {
      return sealedResult(WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
    }
    if (adoptionsDone.contains(a.getFromGroup()) || workflows.containsKey(a.getWorkflowId())) {
      return result(ResultCode.APPLIED, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED).toBuilder()
          .setMessage("nothing to copy: the workflow is here, or the merge of group " + a.getFromGroup() + " is done").build();
    }
    if (a.getWorkflowId().isEmpty() || a.getCheckpointsCount() == 0) {
      return result(ResultCode.INVALID_INPUT, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED).toBuilder()
          .setMessage("checkpoints copied from group " + a.getFromGroup() + " need a workflow id and at least one checkpoint").build();
    }
    java.util.Map<String, Long> next = new java.util.HashMap<>();
    for (io.raftoral.proto.raft.ExportedCheckpoint c : a.getCheckpointsList()) {
      Long expected = next.get(c.getKey());
      if (a.getWorkflowId().isEmpty() || c.getSeq() < 0 || (expected != null && c.getSeq() != expected)) {
        return result(ResultCode.INVALID_INPUT, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED).toBuilder()
            .setMessage("checkpoints of workflow '" + a.getWorkflowId() + "' from group " + a.getFromGroup()
                + " are not consecutive per key at (" + c.getKey() + ", " + c.getSeq() + ")").build();
      }
      next.put(c.getKey(), c.getSeq() + 1);
    }
    for (io.raftoral.proto.raft.ExportedCheckpoint c : a.getCheckpointsList()) {
      changes.checkpoint(a.getWorkflowId(), c.getKey(), c.getSeq(), c.getValue(), infoOf(c));
    }
    if (a.getCheckpointsCount() > 0) {
      copiedAhead.add(a.getWorkflowId());
    }
    return result(ResultCode.APPLIED, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
  }

  /**
   * Closes adoption from {@code fromGroup}, for good. Changes no workflow, so it is applied on a
   * sealed group too (a target merged on later may still see its first merge's marker late).
   */
  private CommandResult adoptionDone(String fromGroup, Changes changes) {
    if (fromGroup.isEmpty()) {
      return result(ResultCode.INVALID_INPUT, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED).toBuilder()
          .setMessage("AdoptionDone without the group the workflows came from").build();
    }
    if (adoptionsDone.add(fromGroup)) {
      changes.adoptionDone(fromGroup);
    }
    return result(ResultCode.APPLIED, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
  }

  /** Why an exported workflow cannot be adopted, or null when it can. */
  private static CheckpointInfo infoOf(io.raftoral.proto.raft.ExportedCheckpoint c) {
    return new CheckpointInfo(c.getCommittedAtMillis(), c.getOwnerNode(), c.getOwnerTerm(), c.getCommitOrdinal());
  }

  private static String malformed(io.raftoral.proto.raft.ExportedWorkflow x) {
    io.raftoral.proto.raft.WorkflowRecord r = x.getRecord();
    if (r.getWorkflowId().isEmpty()) {
      return "a workflow without an id";
    }
    if (r.getStatus() == WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED || r.getStatus() == WorkflowStatusCode.UNRECOGNIZED) {
      return "workflow " + r.getWorkflowId() + " has no status";
    }
    java.util.Map<String, Long> next = new java.util.HashMap<>();
    String previousKey = null;
    for (io.raftoral.proto.raft.ExportedCheckpoint c : x.getCheckpointsList()) {
      if (previousKey != null && c.getKey().compareTo(previousKey) < 0) {
        return "the checkpoints of workflow " + r.getWorkflowId() + " are not in key order";
      }
      Long previous = next.get(c.getKey());
      // An ended workflow whose history a retention policy trimmed starts each key further on;
      // a continued one goes on from the checkpoints copied ahead of it (checked when adopted).
      boolean trimmed = r.getStatus() != WorkflowStatusCode.RUNNING && r.getHistoryKeptLastPerKey() > 0;
      long expected = previous != null ? previous : trimmed || x.getContinued() ? c.getSeq() : 0L;
      if (c.getSeq() != expected) {
        return "checkpoint (" + c.getKey() + ", " + c.getSeq() + ") of workflow " + r.getWorkflowId()
            + " does not follow the ones before it (expected seq " + expected + ")";
      }
      next.put(c.getKey(), expected + 1);
      previousKey = c.getKey();
    }
    return null;
  }

  private CommandResult moved(String what) {
    return result(ResultCode.MOVED, WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED).toBuilder()
        .setMessage("the " + what + " reached an execution group that is being merged into group " + sealedFor
            + ": route it again with the current topology").build();
  }

  private static CommandResult sealedResult(WorkflowStatusCode status) {
    return result(ResultCode.SEALED, status).toBuilder()
        .setMessage("the execution group is sealed for a merge; the workflow goes on in the merge target").build();
  }

  /** Whether a {@code PruneWorkflows} with this cut-off would remove anything (so the owner proposes only then). */
  public boolean hasPrunable(long endedBeforeMillis) {
    return sealedFor == null && workflows.values().stream().anyMatch(w -> !w.isRunning() && w.endedAtMillis() < endedBeforeMillis);
  }

  /**
   * A digest of the whole state (every workflow, the checkpoint values of running ones, and the
   * owner): replicas that applied the same commands have equal digests.
   */
  public String digest() {
    java.security.MessageDigest sha;
    try {
      sha = java.security.MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    Owner o = owner;
    sha.update(java.nio.ByteBuffer.allocate(24).putLong(o.node()).putLong(o.term()).putLong(placement).array());
    String target = sealedFor;
    if (target != null) {
      // Only when sealed, so the digests of unsealed states are as before.
      sha.update((byte) 1);
      sha.update(target.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    // Likewise only once a merge into this group finished copying.
    adoptionsDone.stream().sorted().forEach(from -> {
      sha.update((byte) 2);
      sha.update(from.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    });
    workflows.values().stream()
        .sorted(java.util.Comparator.comparing(WorkflowEntry::workflowId))
        .forEach(w -> w.digestInto(sha));
    return java.util.HexFormat.of().formatHex(sha.digest());
  }

  public int size() {
    return workflows.size();
  }

  /** The checkpoint values held in memory, over all workflows. */
  public long checkpointValuesInMemory() {
    return workflows.values().stream().mapToLong(WorkflowEntry::valuesInMemory).sum();
  }

  private static CommandResult result(ResultCode code, WorkflowStatusCode status) {
    return CommandResult.newBuilder().setCode(code).setStatus(status).build();
  }
}
