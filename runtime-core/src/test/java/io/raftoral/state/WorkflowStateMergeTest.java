package io.raftoral.state;

import static io.raftoral.state.WorkflowStateTest.OWNER;
import static io.raftoral.state.WorkflowStateTest.TERM;
import static io.raftoral.state.WorkflowStateTest.bytes;
import static io.raftoral.state.WorkflowStateTest.checkpoint;
import static io.raftoral.state.WorkflowStateTest.endWithError;
import static io.raftoral.state.WorkflowStateTest.endWithResult;
import static io.raftoral.state.WorkflowStateTest.ownerChange;
import static io.raftoral.state.WorkflowStateTest.placement;
import static io.raftoral.state.WorkflowStateTest.prune;
import static io.raftoral.state.WorkflowStateTest.start;
import static io.raftoral.state.WorkflowStateTest.terminate;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.raft.AdoptWorkflows;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.ExportedCheckpoint;
import io.raftoral.proto.raft.ExportedWorkflow;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.SealGroup;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.proto.raft.WorkflowStatusCode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The execution group's side of a merge (issue 20): a sealed group changes no workflow any more,
 * and the merge target adopts the sealed group's workflows, each once. Also the start placement
 * rule as it stands with placement by the management group (placement 0 never MOVED).
 */
class WorkflowStateMergeTest {
  static final String TARGET = "00000000-0000-0000-0000-0000000000aa";

  WorkflowState state;

  @BeforeEach
  void ownedGroup() {
    state = new WorkflowState();
    assertThat(apply(ownerChange(OWNER, TERM), TERM).getCode()).isEqualTo(ResultCode.APPLIED);
  }

  // --- SealGroup ---

  // Sealed, a group refuses starts, new ids and held ones alike, with MOVED naming the target.
  @Test
  void aSealedGroupRefusesStartsMovedAndStartsNothing() {
    apply(start("held", "order", 1, "in"));
    String before = state.digest();
    assertThat(apply(seal(TARGET)).getCode()).isEqualTo(ResultCode.APPLIED);
    String sealed = state.digest();

    CommandResult fresh = apply(start("new", "order", 1, "in"));
    CommandResult held = apply(start("held", "order", 1, "in"));

    assertThat(fresh.getCode()).isEqualTo(ResultCode.MOVED);
    assertThat(fresh.getMessage()).contains(TARGET);
    assertThat(held.getCode()).isEqualTo(ResultCode.MOVED);
    assertThat(state.get("new")).isNull();
    assertThat(state.digest()).isEqualTo(sealed).isNotEqualTo(before);
    assertThat(state.sealed()).isTrue();
    assertThat(state.mergeTarget()).isEqualTo(TARGET);
  }

  // Sealed, a termination is MOVED (the workflow goes on in the target, which terminates it).
  @Test
  void aSealedGroupRefusesTerminationsMoved() {
    apply(start("wf", "order", 1, "in"));
    apply(seal(TARGET));

    CommandResult r = apply(terminate("wf", "stop"));

    assertThat(r.getCode()).isEqualTo(ResultCode.MOVED);
    assertThat(state.get("wf").status()).isEqualTo(WorkflowStatusCode.RUNNING);
  }

  // Sealed, the owner's checkpoints, ends and prunes are SEALED and change nothing, even with the current owner term.
  @Test
  void aSealedGroupRefusesCheckpointsEndsAndPrunesSealed() {
    apply(start("wf", "order", 1, "in"));
    apply(checkpoint("wf", "k", 0, "v0", TERM));
    apply(start("done", "order", 1, "in"));
    apply(endWithResult("done", "r", TERM));
    apply(seal(TARGET));
    String sealed = state.digest();

    CommandResult cp = apply(checkpoint("wf", "k", 1, "v1", TERM));
    CommandResult ok = apply(endWithResult("wf", "r", TERM));
    CommandResult failed = apply(endWithError("wf", "E", "boom", TERM));
    CommandResult pruned = apply(prune(Long.MAX_VALUE));

    assertThat(List.of(cp, ok, failed, pruned)).extracting(CommandResult::getCode).containsOnly(ResultCode.SEALED);
    assertThat(state.get("wf").status()).isEqualTo(WorkflowStatusCode.RUNNING);
    assertThat(state.get("wf").checkpoint("k", 1)).isNull();
    assertThat(state.get("done")).isNotNull();
    assertThat(state.hasPrunable(Long.MAX_VALUE)).as("the owner has nothing to prune in a sealed group").isFalse();
    assertThat(state.digest()).isEqualTo(sealed);
  }

  // Ownership still moves in a sealed group (a new leader claims it as always).
  @Test
  void anOwnerChangeStillAppliesInASealedGroup() {
    apply(start("wf", "order", 1, "in"));
    apply(seal(TARGET));

    CommandResult r = state.apply(ownerChange(2, TERM + 1), TERM + 1);

    assertThat(r.getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(state.owner()).isEqualTo(new WorkflowState.Owner(2, TERM + 1));
    assertThat(state.get("wf").ownerNode()).isEqualTo(2);
  }

  // A seal proposed again (a new management leader redoing a merge) changes nothing; the first target stays.
  @Test
  void aSecondSealKeepsTheFirstTarget() {
    apply(seal(TARGET));
    String sealed = state.digest();

    assertThat(apply(seal("another")).getCode()).isEqualTo(ResultCode.APPLIED);

    assertThat(state.mergeTarget()).isEqualTo(TARGET);
    assertThat(state.digest()).isEqualTo(sealed);
  }

  // The seal is part of the state a replica restores (store or snapshot) and of its digest.
  @Test
  void theSealSurvivesARestoreAndIsInTheDigest() {
    WorkflowState unsealed = new WorkflowState();
    unsealed.restoreOwner(OWNER, TERM);
    assertThat(unsealed.digest()).isEqualTo(state.digest());
    apply(seal(TARGET));
    assertThat(unsealed.digest()).isNotEqualTo(state.digest());

    WorkflowState restored = new WorkflowState();
    restored.restoreOwner(OWNER, TERM);
    restored.restoreSealed(TARGET);
    WorkflowState replaced = new WorkflowState();
    replaced.replaceWith(restored);

    assertThat(restored.digest()).isEqualTo(state.digest());
    assertThat(replaced.sealed()).isTrue();
    assertThat(replaced.mergeTarget()).isEqualTo(TARGET);
    assertThat(replaced.apply(start("x", "order", 1, "in"), TERM).getCode()).isEqualTo(ResultCode.MOVED);
  }

  // --- AdoptWorkflows ---

  // The sealed group's workflows, exported, are adopted whole: record, result, times, checkpoints;
  // running ones belong to the adopting group's owner and go on from the copied checkpoints.
  @Test
  void adoptedWorkflowsKeepTheirRecordsAndCheckpointsAndRunningOnesGoOnHere() {
    WorkflowState from = sourceGroup();
    List<ExportedWorkflow> page = export(from);

    CommandResult r = apply(adopt(page));

    assertThat(r.getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(r.getPruned()).as("added").isEqualTo(4);
    for (WorkflowEntry original : from.workflows()) {
      WorkflowRecord copy = state.get(original.workflowId()).toRecord();
      WorkflowRecord expected = original.toRecord();
      if (expected.getStatus() == WorkflowStatusCode.RUNNING) {
        expected = expected.toBuilder().setOwnerNode(OWNER).build();
      }
      assertThat(copy).isEqualTo(expected);
    }
    WorkflowEntry running = state.get("running");
    assertThat(running.checkpoint("a", 1)).isEqualTo(bytes("a1"));
    assertThat(running.checkpoint("b", 0)).isEqualTo(bytes("b0"));
    // The owner goes on where the sealed group stopped.
    assertThat(apply(checkpoint("running", "a", 1, "other", TERM)).getCode()).isEqualTo(ResultCode.DUPLICATE);
    assertThat(apply(checkpoint("running", "a", 2, "a2", TERM)).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(apply(endWithResult("running", "done", TERM)).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(state.get("completed").valuesInMemory()).as("an ended workflow's values are in the store only").isZero();
    assertThat(state.get("completed").checkpoint("k", 0)).isEqualTo(bytes("k0"));
    assertThat(state.get("completed").toRecord().getResult()).isEqualTo(bytes("result"));
  }

  // Adopting is idempotent per id: a page adopted twice adds nothing, and a held id stays as it is.
  @Test
  void adoptingAgainAddsNothingAndAHeldIdIsLeftAsItIs() {
    apply(start("running", "other-type", 7, "mine"));
    List<ExportedWorkflow> page = export(sourceGroup());

    CommandResult first = apply(adopt(page));
    String once = state.digest();
    CommandResult again = apply(adopt(page));

    assertThat(first.getPruned()).isEqualTo(3);
    assertThat(again.getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(again.getPruned()).isZero();
    assertThat(state.digest()).isEqualTo(once);
    assertThat(state.get("running").type()).isEqualTo("other-type");
    assertThat(state.get("running").checkpoint("a", 0)).isNull();
  }

  // After AdoptionDone a page from that group adds nothing, though the target pruned what it
  // adopted: a deposed management leader's late page must not bring a finished workflow back.
  @Test
  void afterAdoptionDoneALatePageAddsNothingEvenOncePruned() {
    List<ExportedWorkflow> page = export(sourceGroup());
    apply(adopt(page));
    assertThat(apply(adoptionDone("from")).getCode()).isEqualTo(ResultCode.APPLIED);
    apply(endWithResult("running", "done", TERM));
    assertThat(apply(prune(Long.MAX_VALUE)).getPruned()).isEqualTo(4);

    CommandResult late = apply(adopt(page));

    assertThat(late.getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(late.getPruned()).isZero();
    assertThat(late.getMessage()).contains("the merge of group from into this group is done");
    assertThat(state.size()).isZero();
    // Only that source is closed: a page of another merge is adopted.
    Command other = Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder().setFromGroup("other")
        .addAllWorkflows(page)).build();
    assertThat(apply(other).getPruned()).isEqualTo(4);
  }

  // AdoptionDone is durable state: kept by a restore and a snapshot install, and in the digest.
  @Test
  void adoptionDoneSurvivesARestoreAndIsInTheDigest() {
    String before = state.digest();
    apply(adoptionDone("from"));
    assertThat(state.digest()).isNotEqualTo(before);
    assertThat(apply(adoptionDone("from")).getCode()).as("done twice").isEqualTo(ResultCode.APPLIED);
    assertThat(apply(adoptionDone("")).getCode()).isEqualTo(ResultCode.INVALID_INPUT);

    WorkflowState restored = new WorkflowState();
    restored.restoreOwner(OWNER, TERM);
    restored.restoreAdoptionDone("from");
    WorkflowState replaced = new WorkflowState();
    replaced.replaceWith(restored);

    assertThat(restored.digest()).isEqualTo(state.digest());
    assertThat(replaced.adoptionDone("from")).isTrue();
    assertThat(replaced.apply(adopt(export(sourceGroup())), TERM).getPruned()).isZero();
    replaced.replaceWith(new WorkflowState());
    assertThat(replaced.adoptionDone("from")).as("a snapshot without it").isFalse();
  }

  // Two replicas that adopt the same pages in the same order hold the same state.
  @Test
  void replicasAdoptingTheSamePagesAreEqual() {
    List<ExportedWorkflow> page = export(sourceGroup());
    WorkflowState other = new WorkflowState();
    other.apply(ownerChange(OWNER, TERM), TERM);

    apply(adopt(page.subList(0, 2)));
    apply(adopt(page));
    other.apply(adopt(page.subList(2, 4)), TERM);
    other.apply(adopt(page.subList(0, 2)), TERM);

    assertThat(other.size()).isEqualTo(state.size()).isEqualTo(4);
    for (WorkflowEntry w : state.workflows()) {
      assertThat(other.get(w.workflowId()).toRecord()).isEqualTo(w.toRecord());
    }
  }

  // A page with checkpoints that do not follow 0, 1, ... per key is refused whole: nothing of it is added.
  @Test
  void aMalformedPageIsRefusedWhole() {
    List<ExportedWorkflow> page = new ArrayList<>(export(sourceGroup()));
    ExportedWorkflow gap = page.get(3).toBuilder().clearCheckpoints()
        .addCheckpoints(ExportedCheckpoint.newBuilder().setKey("a").setSeq(1).setValue(bytes("x"))).build();
    page.set(3, gap);
    String before = state.digest();

    CommandResult r = apply(adopt(page));
    CommandResult noId = apply(adopt(List.of(ExportedWorkflow.newBuilder()
        .setRecord(WorkflowRecord.newBuilder().setStatus(WorkflowStatusCode.RUNNING)).build())));

    assertThat(r.getCode()).isEqualTo(ResultCode.INVALID_INPUT);
    assertThat(r.getMessage()).contains(gap.getRecord().getWorkflowId());
    assertThat(noId.getCode()).isEqualTo(ResultCode.INVALID_INPUT);
    assertThat(state.digest()).isEqualTo(before);
  }

  // A sealed group adopts nothing: what it exports must stay final.
  @Test
  void aSealedGroupAdoptsNothing() {
    apply(seal(TARGET));

    CommandResult r = apply(adopt(export(sourceGroup())));

    assertThat(r.getCode()).isEqualTo(ResultCode.SEALED);
    assertThat(state.size()).isZero();
  }

  // Adopted before the group has an owner: the first OwnerChange takes the running ones, as for starts.
  @Test
  void workflowsAdoptedBeforeAnyOwnerAreTakenByTheFirstOwner() {
    WorkflowState fresh = new WorkflowState();
    fresh.apply(adopt(export(sourceGroup())), 1);
    assertThat(fresh.get("running").ownerNode()).isZero();

    fresh.apply(ownerChange(3, 2), 2);

    assertThat(fresh.get("running").ownerNode()).isEqualTo(3);
    assertThat(fresh.apply(checkpoint("running", "a", 2, "a2", 2), 2).getCode()).isEqualTo(ResultCode.APPLIED);
  }

  // --- start placement ---

  // A start placed by the management group carries placement 0: never MOVED by the old rule.
  @Test
  void aStartWithPlacementZeroIsNeverMoved() {
    apply(placement(5));

    CommandResult r = apply(startRoutedOver("wf", 0));

    assertThat(r.getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(state.get("wf").status()).isEqualTo(WorkflowStatusCode.RUNNING);
  }

  // The old rule stands for starts that carry a count (old log entries): fewer than told is MOVED.
  @Test
  void theOldPlacementRuleIsUnchangedForACount() {
    apply(placement(3));

    assertThat(apply(startRoutedOver("a", 2)).getCode()).isEqualTo(ResultCode.MOVED);
    assertThat(apply(startRoutedOver("b", 3)).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(apply(startRoutedOver("c", 4)).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(state.get("a")).isNull();
  }

  // --- helpers ---

  /** Another group (owner 9, term 2) holding a running workflow with checkpoints and three ended ones. */
  // A workflow too big for one page: its checkpoints come ahead of it (AdoptCheckpoints), any
  // chunk possibly twice, then the workflow with the rest (continued); it is the same as adopted
  // whole. Chunks with a gap, a continued workflow whose chunks are missing, and chunks for a held
  // workflow or after AdoptionDone change nothing.
  @Test
  void aWorkflowCopiedInChunksIsTheSameAsOneAdoptedWhole() {
    WorkflowState from = new WorkflowState();
    from.apply(ownerChange(OWNER, TERM), TERM);
    from.apply(start("big", "order", 1, "in"), TERM);
    for (int i = 0; i < 4; i++) {
      from.apply(checkpoint("big", "a", i, "a" + i, TERM), TERM);
    }
    from.apply(checkpoint("big", "b", 0, "b0", TERM), TERM);
    from.apply(checkpoint("big", "b", 1, "b1", TERM), TERM);
    from.apply(seal(TARGET), TERM);
    ExportedWorkflow whole = export(from).getFirst();
    List<io.raftoral.proto.raft.ExportedCheckpoint> all = whole.getCheckpointsList(); // a0..a3, b0, b1

    WorkflowState wholeCopy = new WorkflowState();
    wholeCopy.apply(ownerChange(OWNER, TERM), TERM);
    assertThat(wholeCopy.apply(adopt(List.of(whole)), TERM).getPruned()).isEqualTo(1);

    assertThat(apply(adoptCheckpoints("big", all.subList(0, 3))).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(apply(adoptCheckpoints("big", all.subList(3, 5))).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(apply(adoptCheckpoints("big", all.subList(3, 5))).getCode()).as("a chunk copied twice").isEqualTo(ResultCode.APPLIED);
    assertThat(state.get("big")).as("not a workflow yet").isNull();
    ExportedWorkflow rest = whole.toBuilder().clearCheckpoints().addCheckpoints(all.get(5)).setContinued(true).build();
    assertThat(apply(adopt(List.of(rest))).getPruned()).isEqualTo(1);

    WorkflowEntry big = state.get("big");
    assertThat(big.toRecord()).isEqualTo(wholeCopy.get("big").toRecord());
    assertThat(state.digest()).isEqualTo(wholeCopy.digest());
    assertThat(big.checkpoint("a", 1)).isEqualTo(bytes("a1"));
    assertThat(apply(checkpoint("big", "b", 2, "b2", TERM)).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(apply(adoptCheckpoints("big", all.subList(0, 3))).getMessage()).as("held: nothing").contains("nothing to copy");
    assertThat(big.checkpoint("b", 2)).isEqualTo(bytes("b2"));

    WorkflowState other = new WorkflowState();
    other.apply(ownerChange(OWNER, TERM), TERM);
    List<io.raftoral.proto.raft.ExportedCheckpoint> gap = List.of(all.get(0), all.get(2));
    assertThat(other.apply(adoptCheckpoints("big", gap), TERM).getCode()).isEqualTo(ResultCode.INVALID_INPUT);
    assertThat(other.apply(adopt(List.of(rest)), TERM).getCode()).as("continued without its chunks").isEqualTo(ResultCode.INVALID_INPUT);
    assertThat(other.get("big")).isNull();
    other.apply(adoptionDone("from"), TERM);
    assertThat(other.apply(adoptCheckpoints("big", all.subList(0, 3)), TERM).getMessage()).contains("nothing to copy");
    assertThat(other.get("big")).isNull();
  }

  static Command adoptCheckpoints(String workflowId, List<io.raftoral.proto.raft.ExportedCheckpoint> checkpoints) {
    return Command.newBuilder().setAdoptCheckpoints(io.raftoral.proto.raft.AdoptCheckpoints.newBuilder().setFromGroup("from")
        .setWorkflowId(workflowId).addAllCheckpoints(checkpoints)).build();
  }

  static WorkflowState sourceGroup() {
    WorkflowState from = new WorkflowState();
    long term = 2;
    from.apply(ownerChange(9, term), term);
    from.apply(start("running", "order", 1, "in-r"), term);
    from.apply(checkpoint("running", "b", 0, "b0", term), term);
    from.apply(checkpoint("running", "a", 0, "a0", term), term);
    from.apply(checkpoint("running", "a", 1, "a1", term), term);
    from.apply(start("completed", "order", 1, "in-c"), term);
    from.apply(checkpoint("completed", "k", 0, "k0", term), term);
    from.apply(endWithResult("completed", "result", term), term);
    from.apply(start("failed", "order", 2, "in-f"), term);
    from.apply(endWithError("failed", "E", "boom", term), term);
    from.apply(start("terminated", "order", 1, "in-t"), term);
    from.apply(terminate("terminated", "enough"), term);
    from.apply(seal(TARGET), term);
    return from;
  }

  /** The sealed group's workflows as an export reads them (values from memory here: none released yet). */
  static List<ExportedWorkflow> export(WorkflowState from) {
    return from.workflows().stream().sorted(Comparator.comparing(WorkflowEntry::workflowId))
        .map(w -> ExportedWorkflow.newBuilder().setRecord(w.toRecord()).addAllCheckpoints(checkpoints(w)).build())
        .toList();
  }

  /** Every committed value of {@code w} in (key, seq) order. */
  static List<io.raftoral.proto.raft.ExportedCheckpoint> checkpoints(WorkflowEntry w) {
    List<io.raftoral.proto.raft.ExportedCheckpoint> out = new java.util.ArrayList<>();
    new java.util.TreeMap<>(w.keyCounts()).forEach((key, count) -> {
      for (long seq = 0; seq < count; seq++) {
        out.add(io.raftoral.proto.raft.ExportedCheckpoint.newBuilder().setKey(key).setSeq(seq).setValue(w.checkpoint(key, seq)).build());
      }
    });
    return out;
  }

  static Command seal(String target) {
    return Command.newBuilder().setSealGroup(SealGroup.newBuilder().setMergeTarget(target)).build();
  }

  static Command adopt(List<ExportedWorkflow> page) {
    return Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder().setFromGroup("from").addAllWorkflows(page)).build();
  }

  static Command adoptionDone(String fromGroup) {
    return Command.newBuilder().setAdoptionDone(io.raftoral.proto.raft.AdoptionDone.newBuilder().setFromGroup(fromGroup)).build();
  }

  static Command startRoutedOver(String id, int groups) {
    return Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder().setWorkflowId(id).setType("order").setVersion(1)
        .setInput(bytes("in")).setStartedAtMillis(1000).setPlacement(groups)).build();
  }

  private CommandResult apply(Command c) {
    return state.apply(c, TERM);
  }

  private CommandResult apply(Command c, long term) {
    return state.apply(c, term);
  }
}
