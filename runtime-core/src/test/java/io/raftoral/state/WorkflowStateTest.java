package io.raftoral.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.CheckpointPosition;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.OwnerChange;
import io.raftoral.proto.raft.PruneWorkflows;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.SetCheckpoint;
import io.raftoral.proto.raft.WorkflowEnd;
import io.raftoral.proto.raft.WorkflowError;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.proto.raft.WorkflowTerminate;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The rules of an execution group's replicated workflow state, one rule per test. Every test
 * starts from a group owned by node {@link #OWNER} since an OwnerChange carried by an entry of
 * term {@link #TERM}; commands are applied in entries of that term unless stated otherwise.
 */
class WorkflowStateTest {
  static final long OWNER = 1;
  static final long TERM = 5;
  static final String WF = "wf-1";

  WorkflowState state;

  @BeforeEach
  void ownedGroup() {
    state = new WorkflowState();
    assertThat(apply(ownerChange(OWNER, TERM), TERM).getCode()).isEqualTo(ResultCode.APPLIED);
  }

  // --- WorkflowStart ---

  // A start of a new id creates a RUNNING workflow owned by the group's current owner.
  @Test
  void startCreatesRunningWorkflowOwnedByCurrentOwner() {
    CommandResult r = apply(start(WF, "order", 2, "in"));

    assertThat(r.getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(r.getStatus()).isEqualTo(WorkflowStatusCode.RUNNING);
    WorkflowRecord w = record(WF);
    assertThat(w.getStatus()).isEqualTo(WorkflowStatusCode.RUNNING);
    assertThat(w.getOwnerNode()).isEqualTo(OWNER);
    assertThat(w.getType()).isEqualTo("order");
    assertThat(w.getVersion()).isEqualTo(2);
    assertThat(w.getInput()).isEqualTo(bytes("in"));
    assertThat(w.getStartedAtMillis()).isEqualTo(1000);
    assertThat(w.getCheckpointCount()).isZero();
  }

  // A repeated start with equal type, version and input is ALREADY_STARTED and changes nothing
  // (not even the start time the proposer chose).
  @Test
  void repeatedIdenticalStartIsAlreadyStarted() {
    apply(start(WF, "order", 2, "in"));
    apply(checkpoint(WF, "k", 0, "v", TERM));
    WorkflowRecord before = record(WF);

    CommandResult r = apply(Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder()
        .setWorkflowId(WF).setType("order").setVersion(2).setInput(bytes("in")).setStartedAtMillis(9999)).build());

    assertThat(r.getCode()).isEqualTo(ResultCode.ALREADY_STARTED);
    assertThat(r.getStatus()).isEqualTo(WorkflowStatusCode.RUNNING);
    assertThat(record(WF)).isEqualTo(before);
  }

  // A start of an existing id with another input is a CONFLICT and changes nothing.
  @Test
  void startWithOtherInputConflicts() {
    apply(start(WF, "order", 2, "in"));
    WorkflowRecord before = record(WF);

    assertThat(apply(start(WF, "order", 2, "other")).getCode()).isEqualTo(ResultCode.CONFLICT);
    assertThat(record(WF)).isEqualTo(before);
  }

  // A start of an existing id with another type is a CONFLICT and changes nothing.
  @Test
  void startWithOtherTypeConflicts() {
    apply(start(WF, "order", 2, "in"));
    WorkflowRecord before = record(WF);

    assertThat(apply(start(WF, "refund", 2, "in")).getCode()).isEqualTo(ResultCode.CONFLICT);
    assertThat(record(WF)).isEqualTo(before);
  }

  // A start of an existing id with another version is a CONFLICT and changes nothing.
  @Test
  void startWithOtherVersionConflicts() {
    apply(start(WF, "order", 2, "in"));
    WorkflowRecord before = record(WF);

    assertThat(apply(start(WF, "order", 3, "in")).getCode()).isEqualTo(ResultCode.CONFLICT);
    assertThat(record(WF)).isEqualTo(before);
  }

  // A start of the id of a finished workflow reports the final status and does not restart it.
  @Test
  void startOfFinishedIdReportsItsFinalStatus() {
    apply(start(WF, "order", 2, "in"));
    apply(endWithResult(WF, "done", TERM));

    CommandResult r = apply(start(WF, "order", 2, "in"));

    assertThat(r.getCode()).isEqualTo(ResultCode.ALREADY_STARTED);
    assertThat(r.getStatus()).isEqualTo(WorkflowStatusCode.COMPLETED);
    assertThat(record(WF).getStatus()).isEqualTo(WorkflowStatusCode.COMPLETED);
  }

  // --- SetCheckpoint ---

  // Checkpoints of a key at seq 0, 1, 2 are appended in order; the n-th value is readable at n.
  @Test
  void checkpointsAppendInSeqOrder() {
    apply(start(WF, "order", 1, "in"));

    assertThat(apply(checkpoint(WF, "k", 0, "a", TERM)).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(apply(checkpoint(WF, "k", 1, "b", TERM)).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(apply(checkpoint(WF, "k", 2, "c", TERM)).getCode()).isEqualTo(ResultCode.APPLIED);

    WorkflowEntry w = state.get(WF);
    assertThat(w.checkpoint("k", 0)).isEqualTo(bytes("a"));
    assertThat(w.checkpoint("k", 1)).isEqualTo(bytes("b"));
    assertThat(w.checkpoint("k", 2)).isEqualTo(bytes("c"));
    assertThat(w.checkpoint("k", 3)).isNull();
  }

  // A checkpoint at a position that is already committed is a DUPLICATE; the first value stays.
  @Test
  void duplicateSeqIsRejectedAndFirstValueStays() {
    apply(start(WF, "order", 1, "in"));
    apply(checkpoint(WF, "k", 0, "first", TERM));
    apply(checkpoint(WF, "k", 1, "second", TERM));

    CommandResult r = apply(checkpoint(WF, "k", 0, "again", TERM));

    assertThat(r.getCode()).isEqualTo(ResultCode.DUPLICATE);
    assertThat(r.getStatus()).isEqualTo(WorkflowStatusCode.RUNNING);
    assertThat(state.get(WF).checkpoint("k", 0)).isEqualTo(bytes("first"));
    assertThat(record(WF).getCheckpointCount()).isEqualTo(2);
  }

  // A checkpoint whose seq skips a position is OUT_OF_ORDER and nothing is stored.
  @Test
  void skippedSeqIsOutOfOrder() {
    apply(start(WF, "order", 1, "in"));
    apply(checkpoint(WF, "k", 0, "a", TERM));

    CommandResult r = apply(checkpoint(WF, "k", 2, "c", TERM));

    assertThat(r.getCode()).isEqualTo(ResultCode.OUT_OF_ORDER);
    assertThat(state.get(WF).checkpoint("k", 1)).isNull();
    assertThat(state.get(WF).checkpoint("k", 2)).isNull();
    assertThat(record(WF).getCheckpointCount()).isEqualTo(1);
  }

  // Each key has its own sequence: seq 0 of a new key is accepted whatever other keys hold.
  @Test
  void keysAreIndependent() {
    apply(start(WF, "order", 1, "in"));
    apply(checkpoint(WF, "a", 0, "a0", TERM));
    apply(checkpoint(WF, "a", 1, "a1", TERM));

    assertThat(apply(checkpoint(WF, "b", 0, "b0", TERM)).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(apply(checkpoint(WF, "b", 2, "b2", TERM)).getCode()).isEqualTo(ResultCode.OUT_OF_ORDER);

    WorkflowEntry w = state.get(WF);
    assertThat(w.checkpoint("a", 0)).isEqualTo(bytes("a0"));
    assertThat(w.checkpoint("a", 1)).isEqualTo(bytes("a1"));
    assertThat(w.checkpoint("b", 0)).isEqualTo(bytes("b0"));
    assertThat(w.checkpoint("b", 1)).isNull();
  }

  // Sequences are per workflow: the same key of two workflows does not interfere.
  @Test
  void workflowsAreIndependent() {
    apply(start("wf-a", "order", 1, "in"));
    apply(start("wf-b", "order", 1, "in"));
    apply(checkpoint("wf-a", "k", 0, "a0", TERM));

    assertThat(apply(checkpoint("wf-b", "k", 0, "b0", TERM)).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(state.get("wf-a").checkpoint("k", 0)).isEqualTo(bytes("a0"));
    assertThat(state.get("wf-b").checkpoint("k", 0)).isEqualTo(bytes("b0"));
  }

  // A checkpoint proposed under an owner term older than the group's is STALE_OWNER and
  // changes nothing.
  @Test
  void checkpointWithOlderOwnerTermIsStale() {
    apply(start(WF, "order", 1, "in"));

    CommandResult r = apply(checkpoint(WF, "k", 0, "v", TERM - 1));

    assertThat(r.getCode()).isEqualTo(ResultCode.STALE_OWNER);
    assertThat(r.getStatus()).isEqualTo(WorkflowStatusCode.RUNNING);
    assertThat(state.get(WF).checkpoint("k", 0)).isNull();
    assertThat(record(WF).getCheckpointCount()).isZero();
  }

  // Only the group's exact owner term is accepted: a newer one is refused as well.
  @Test
  void checkpointWithNewerOwnerTermIsStale() {
    apply(start(WF, "order", 1, "in"));

    assertThat(apply(checkpoint(WF, "k", 0, "v", TERM + 1)).getCode()).isEqualTo(ResultCode.STALE_OWNER);
    assertThat(state.get(WF).checkpoint("k", 0)).isNull();
  }

  // The owner-term check comes before the seq check: a stale owner learns it is stale even
  // when its seq is a duplicate.
  @Test
  void staleOwnerWinsOverDuplicate() {
    apply(start(WF, "order", 1, "in"));
    apply(checkpoint(WF, "k", 0, "v", TERM));

    assertThat(apply(checkpoint(WF, "k", 0, "v", TERM - 1)).getCode()).isEqualTo(ResultCode.STALE_OWNER);
  }

  // A checkpoint of an unknown workflow is NOT_FOUND.
  @Test
  void checkpointOfUnknownWorkflowIsNotFound() {
    CommandResult r = apply(checkpoint("nope", "k", 0, "v", TERM));

    assertThat(r.getCode()).isEqualTo(ResultCode.NOT_FOUND);
    assertThat(r.getStatus()).isEqualTo(WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
    assertThat(state.get("nope")).isNull();
  }

  // checkpointCount counts the applied checkpoints of all keys, not the rejected ones.
  @Test
  void checkpointCountCountsAppliedCheckpoints() {
    apply(start(WF, "order", 1, "in"));
    apply(checkpoint(WF, "a", 0, "x", TERM));
    apply(checkpoint(WF, "a", 1, "x", TERM));
    apply(checkpoint(WF, "b", 0, "x", TERM));
    apply(checkpoint(WF, "a", 1, "x", TERM)); // duplicate
    apply(checkpoint(WF, "b", 5, "x", TERM)); // out of order
    apply(checkpoint(WF, "c", 0, "x", TERM - 1)); // stale owner

    assertThat(record(WF).getCheckpointCount()).isEqualTo(3);
  }

  // --- OwnerChange ---

  // An OwnerChange makes its node the owner and the term of its entry the owner term.
  @Test
  void ownerChangeSetsOwnerAndTermOfItsEntry() {
    CommandResult r = apply(ownerChange(2, TERM + 3), TERM + 3);

    assertThat(r.getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(state.ownerNode()).isEqualTo(2);
    assertThat(state.ownerTerm()).isEqualTo(TERM + 3);
  }

  // Before any OwnerChange the group has no owner (node 0, term 0).
  @Test
  void newGroupHasNoOwner() {
    WorkflowState fresh = new WorkflowState();

    assertThat(fresh.ownerNode()).isZero();
    assertThat(fresh.ownerTerm()).isZero();
  }

  // An OwnerChange re-owns every RUNNING workflow but leaves finished ones with their owner.
  @Test
  void ownerChangeReownsRunningWorkflowsOnly() {
    apply(start("running", "order", 1, "in"));
    apply(start("completed", "order", 1, "in"));
    apply(start("failed", "order", 1, "in"));
    apply(start("terminated", "order", 1, "in"));
    apply(endWithResult("completed", "r", TERM));
    apply(endWithError("failed", "E", "m", TERM));
    apply(terminate("terminated", "stop"));

    apply(ownerChange(2, TERM + 1), TERM + 1);

    assertThat(record("running").getOwnerNode()).isEqualTo(2);
    assertThat(record("completed").getOwnerNode()).isEqualTo(OWNER);
    assertThat(record("failed").getOwnerNode()).isEqualTo(OWNER);
    assertThat(record("terminated").getOwnerNode()).isEqualTo(OWNER);
  }

  // Workflows started after an OwnerChange belong to the new owner.
  @Test
  void startAfterOwnerChangeBelongsToNewOwner() {
    apply(ownerChange(3, TERM + 1), TERM + 1);

    apply(start(WF, "order", 1, "in"), TERM + 1);

    assertThat(record(WF).getOwnerNode()).isEqualTo(3);
  }

  // After an OwnerChange the previous owner's term is stale and the new one is accepted.
  @Test
  void ownerChangeMakesPreviousOwnerTermStale() {
    apply(start(WF, "order", 1, "in"));
    apply(ownerChange(2, TERM + 1), TERM + 1);

    assertThat(apply(checkpoint(WF, "k", 0, "old", TERM), TERM + 1).getCode()).isEqualTo(ResultCode.STALE_OWNER);
    assertThat(apply(endWithResult(WF, "old", TERM), TERM + 1).getCode()).isEqualTo(ResultCode.STALE_OWNER);
    assertThat(apply(checkpoint(WF, "k", 0, "new", TERM + 1), TERM + 1).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(state.get(WF).checkpoint("k", 0)).isEqualTo(bytes("new"));
    assertThat(record(WF).getStatus()).isEqualTo(WorkflowStatusCode.RUNNING);
  }

  // An OwnerChange carried by an entry older than the owner term is STALE_OWNER and changes
  // nothing: the owner term only grows.
  @Test
  void ownerChangeFromOlderTermIsRefused() {
    apply(start(WF, "order", 1, "in"));

    CommandResult r = apply(ownerChange(2, TERM - 1), TERM - 1);

    assertThat(r.getCode()).isEqualTo(ResultCode.STALE_OWNER);
    assertThat(state.ownerNode()).isEqualTo(OWNER);
    assertThat(state.ownerTerm()).isEqualTo(TERM);
    assertThat(record(WF).getOwnerNode()).isEqualTo(OWNER);
  }

  // Every decision carries its term: a claim applies only in the term its claimant led in. A
  // claim that another leader appended (forwarded, or replayed by a client retry after the
  // claimant lost leadership) is STALE_OWNER and leaves the owner as it was.
  @Test
  void ownerChangeAppendedInAnotherTermThanItsClaimantLedInIsRefused() {
    apply(start(WF, "order", 1, "in"));

    CommandResult forwarded = apply(ownerChange(3, TERM + 1), TERM + 2);
    CommandResult late = apply(ownerChange(3, TERM), TERM + 1);

    assertThat(forwarded.getCode()).isEqualTo(ResultCode.STALE_OWNER);
    assertThat(late.getCode()).isEqualTo(ResultCode.STALE_OWNER);
    assertThat(state.owner()).isEqualTo(new WorkflowState.Owner(OWNER, TERM));
    assertThat(record(WF).getOwnerNode()).isEqualTo(OWNER);
    assertThat(apply(checkpoint(WF, "k", 0, "v", TERM), TERM + 2).getCode()).isEqualTo(ResultCode.APPLIED);
  }

  // A claim without a claimant term (0) is never applied.
  @Test
  void ownerChangeWithoutClaimantTermIsRefused() {
    assertThat(apply(ownerChange(2, 0), TERM + 1).getCode()).isEqualTo(ResultCode.STALE_OWNER);
    assertThat(state.ownerNode()).isEqualTo(OWNER);
  }

  // --- Refused (admission) ---

  // A command the leader refused at admission answers its own code and message and changes
  // nothing; the commands around it in the batch apply as usual.
  @Test
  void refusedCommandAnswersItsCodeAndChangesNothing() {
    String before = state.digest();

    CommandResult r = apply(Command.newBuilder().setRefused(io.raftoral.proto.raft.Refused.newBuilder()
        .setCode(ResultCode.NOT_REGISTERED).setWorkflowId(WF).setType("order").setVersion(9).setMessage("not here")).build());

    assertThat(r.getCode()).isEqualTo(ResultCode.NOT_REGISTERED);
    assertThat(r.getMessage()).isEqualTo("not here");
    assertThat(state.get(WF)).isNull();
    assertThat(state.digest()).isEqualTo(before);
    assertThat(apply(start(WF, "order", 1, "in")).getCode()).isEqualTo(ResultCode.APPLIED);
  }

  // --- Placement ---

  // Once a group is told that starts are routed over more groups, it refuses a new id routed over
  // fewer (a node with a stale topology): MOVED, nothing started, so the node routes it again.
  @Test
  void aStartRoutedOverFewerGroupsThanThePlacementIsMovedAndStartsNothing() {
    assertThat(apply(placement(2)).getCode()).isEqualTo(ResultCode.APPLIED);

    CommandResult stale = apply(start(WF, "order", 1, "in").toBuilder()
        .setWorkflowStart(start(WF, "order", 1, "in").getWorkflowStart().toBuilder().setPlacement(1)).build());
    CommandResult current = apply(start("wf-2", "order", 1, "in").toBuilder()
        .setWorkflowStart(start("wf-2", "order", 1, "in").getWorkflowStart().toBuilder().setPlacement(2)).build());

    assertThat(stale.getCode()).isEqualTo(ResultCode.MOVED);
    assertThat(state.get(WF)).isNull();
    assertThat(current.getCode()).isEqualTo(ResultCode.APPLIED);
  }

  // An id this group holds answers as before (idempotent start), whatever the placement it was
  // routed with; and the placement only grows.
  @Test
  void anExistingIdAnswersAsBeforeAndThePlacementOnlyGrows() {
    apply(start(WF, "order", 1, "in"));
    apply(placement(3));
    apply(placement(2));

    assertThat(apply(start(WF, "order", 1, "in")).getCode()).isEqualTo(ResultCode.ALREADY_STARTED);
    assertThat(state.placement()).isEqualTo(3);
  }

  static Command placement(int groups) {
    return Command.newBuilder().setPlacement(io.raftoral.proto.raft.Placement.newBuilder().setGroups(groups)).build();
  }

  // --- WorkflowEnd ---

  // An end with a result makes the workflow COMPLETED with that result and end time.
  @Test
  void endWithResultCompletes() {
    apply(start(WF, "order", 1, "in"));

    CommandResult r = apply(endWithResult(WF, "done", TERM));

    assertThat(r.getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(r.getStatus()).isEqualTo(WorkflowStatusCode.COMPLETED);
    WorkflowRecord w = record(WF);
    assertThat(w.getStatus()).isEqualTo(WorkflowStatusCode.COMPLETED);
    assertThat(w.getResult()).isEqualTo(bytes("done"));
    assertThat(w.getEndedAtMillis()).isEqualTo(2000);
    assertThat(w.hasError()).isFalse();
  }

  // An end with an error makes the workflow FAILED with that error's type and message.
  @Test
  void endWithErrorFails() {
    apply(start(WF, "order", 1, "in"));

    CommandResult r = apply(endWithError(WF, "java.lang.IllegalStateException", "boom", TERM));

    assertThat(r.getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(r.getStatus()).isEqualTo(WorkflowStatusCode.FAILED);
    WorkflowRecord w = record(WF);
    assertThat(w.getStatus()).isEqualTo(WorkflowStatusCode.FAILED);
    assertThat(w.getError().getType()).isEqualTo("java.lang.IllegalStateException");
    assertThat(w.getError().getMessage()).isEqualTo("boom");
    assertThat(w.getEndedAtMillis()).isEqualTo(2000);
    assertThat(w.getResult()).isEmpty();
  }

  // An end from a stale owner is STALE_OWNER and the workflow keeps running.
  @Test
  void endWithStaleOwnerTermIsRefused() {
    apply(start(WF, "order", 1, "in"));
    WorkflowRecord before = record(WF);

    assertThat(apply(endWithResult(WF, "done", TERM - 1)).getCode()).isEqualTo(ResultCode.STALE_OWNER);
    assertThat(record(WF)).isEqualTo(before);
  }

  // An end that awaits pipelined checkpoint positions is OUT_OF_ORDER until every one of them
  // is committed, and then applies: a workflow never ends ahead of one of its writes.
  @Test
  void endAheadOfAnAwaitedCheckpointIsOutOfOrder() {
    apply(start(WF, "order", 1, "in"));
    apply(checkpoint(WF, "a", 0, "a0", TERM));
    Command end = Command.newBuilder().setWorkflowEnd(endWithResult(WF, "done", TERM).getWorkflowEnd().toBuilder()
        .addAwaited(CheckpointPosition.newBuilder().setKey("a").setSeq(1))
        .addAwaited(CheckpointPosition.newBuilder().setKey("b").setSeq(0))).build();

    assertThat(apply(end).getCode()).isEqualTo(ResultCode.OUT_OF_ORDER);
    apply(checkpoint(WF, "a", 1, "a1", TERM));
    assertThat(apply(end).getCode()).isEqualTo(ResultCode.OUT_OF_ORDER);
    assertThat(record(WF).getStatus()).isEqualTo(WorkflowStatusCode.RUNNING);
    apply(checkpoint(WF, "b", 0, "b0", TERM));

    CommandResult r = apply(end);

    assertThat(r.getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(record(WF).getStatus()).isEqualTo(WorkflowStatusCode.COMPLETED);
  }

  // An end of an unknown workflow is NOT_FOUND.
  @Test
  void endOfUnknownWorkflowIsNotFound() {
    assertThat(apply(endWithResult("nope", "done", TERM)).getCode()).isEqualTo(ResultCode.NOT_FOUND);
    assertThat(state.get("nope")).isNull();
  }

  // A final status is final: a second end is FINISHED and changes nothing.
  @Test
  void endAfterEndIsFinished() {
    apply(start(WF, "order", 1, "in"));
    apply(endWithResult(WF, "first", TERM));
    WorkflowRecord before = record(WF);

    CommandResult r = apply(endWithError(WF, "E", "late", TERM));

    assertThat(r.getCode()).isEqualTo(ResultCode.FINISHED);
    assertThat(r.getStatus()).isEqualTo(WorkflowStatusCode.COMPLETED);
    assertThat(record(WF)).isEqualTo(before);
  }

  // A checkpoint after the end is FINISHED and nothing is stored.
  @Test
  void checkpointAfterEndIsFinished() {
    apply(start(WF, "order", 1, "in"));
    apply(endWithError(WF, "E", "m", TERM));
    WorkflowRecord before = record(WF);

    CommandResult r = apply(checkpoint(WF, "k", 0, "v", TERM));

    assertThat(r.getCode()).isEqualTo(ResultCode.FINISHED);
    assertThat(r.getStatus()).isEqualTo(WorkflowStatusCode.FAILED);
    assertThat(state.get(WF).checkpoint("k", 0)).isNull();
    assertThat(record(WF)).isEqualTo(before);
  }

  // However it ends, a workflow keeps its values (a run that is behind still takes them) until
  // the runtime releases them; then it keeps its checkpoint count only, and the digest is the same.
  @Test
  void anEndedWorkflowKeepsItsCheckpointCountAfterItsValuesAreReleased() {
    WorkflowState kept = new WorkflowState();
    kept.apply(ownerChange(OWNER, TERM), TERM);
    List<Command> ends = List.of(endWithResult("c", "r", TERM), endWithError("f", "E", "m", TERM), terminate("t", "stop"));
    for (Command end : ends) {
      String id = end.hasWorkflowEnd() ? end.getWorkflowEnd().getWorkflowId() : end.getWorkflowTerminate().getWorkflowId();
      for (WorkflowState s : List.of(state, kept)) {
        s.apply(start(id, "order", 1, "in"), TERM);
        s.apply(checkpoint(id, "a", 0, "x", TERM), TERM);
        s.apply(checkpoint(id, "a", 1, "y", TERM), TERM);
        s.apply(checkpoint(id, "b", 0, "z", TERM), TERM);
        assertThat(s.apply(end, TERM).getCode()).isEqualTo(ResultCode.APPLIED);
      }
      WorkflowEntry w = state.get(id);
      assertThat(w.checkpoint("a", 1)).as(id).isEqualTo(bytes("y"));

      w.releaseValues();

      assertThat(w.valuesInMemory()).as(id).isZero();
      // Released from memory, still read from where they are stored.
      assertThat(w.checkpoint("a", 0)).as(id).isEqualTo(bytes("x"));
      assertThat(w.checkpoint("b", 0)).as(id).isEqualTo(bytes("z"));
      assertThat(w.checkpoint("b", 1)).as(id).isNull();
      assertThat(record(id).getCheckpointCount()).as(id).isEqualTo(3);
      assertThat(apply(checkpoint(id, "a", 2, "w", TERM)).getCode()).as(id).isEqualTo(ResultCode.FINISHED);
    }
    assertThat(state.digest()).isEqualTo(kept.digest());
  }

  // Releasing the values of a running workflow does nothing: its runs read them.
  @Test
  void valuesOfARunningWorkflowAreNeverReleased() {
    apply(start(WF, "order", 1, "in"));
    apply(checkpoint(WF, "a", 0, "x", TERM));

    state.get(WF).releaseValues();

    assertThat(state.get(WF).checkpoint("a", 0)).isEqualTo(bytes("x"));
  }

  // --- WorkflowTerminate ---

  // A terminate of a RUNNING workflow makes it TERMINATED with the reason and time given.
  @Test
  void terminateStopsRunningWorkflow() {
    apply(start(WF, "order", 1, "in"));

    CommandResult r = apply(terminate(WF, "operator said so"));

    assertThat(r.getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(r.getStatus()).isEqualTo(WorkflowStatusCode.TERMINATED);
    WorkflowRecord w = record(WF);
    assertThat(w.getStatus()).isEqualTo(WorkflowStatusCode.TERMINATED);
    assertThat(w.getTerminationReason()).isEqualTo("operator said so");
    assertThat(w.getEndedAtMillis()).isEqualTo(3000);
  }

  // Once TERMINATED, the owner's checkpoints and end are FINISHED and change nothing.
  @Test
  void ownerWritesAfterTerminateAreFinished() {
    apply(start(WF, "order", 1, "in"));
    apply(terminate(WF, "stop"));
    WorkflowRecord before = record(WF);

    CommandResult cp = apply(checkpoint(WF, "k", 0, "v", TERM));
    CommandResult end = apply(endWithResult(WF, "done", TERM));

    assertThat(cp.getCode()).isEqualTo(ResultCode.FINISHED);
    assertThat(cp.getStatus()).isEqualTo(WorkflowStatusCode.TERMINATED);
    assertThat(end.getCode()).isEqualTo(ResultCode.FINISHED);
    assertThat(end.getStatus()).isEqualTo(WorkflowStatusCode.TERMINATED);
    assertThat(record(WF)).isEqualTo(before);
  }

  // A terminate of a finished workflow is FINISHED, reports the final status, changes nothing.
  @Test
  void terminateOfFinishedWorkflowIsFinished() {
    apply(start(WF, "order", 1, "in"));
    apply(endWithResult(WF, "done", TERM));
    WorkflowRecord before = record(WF);

    CommandResult r = apply(terminate(WF, "too late"));

    assertThat(r.getCode()).isEqualTo(ResultCode.FINISHED);
    assertThat(r.getStatus()).isEqualTo(WorkflowStatusCode.COMPLETED);
    assertThat(record(WF)).isEqualTo(before);
  }

  // A second terminate is FINISHED and keeps the first reason.
  @Test
  void terminateTwiceKeepsFirstReason() {
    apply(start(WF, "order", 1, "in"));
    apply(terminate(WF, "first"));

    CommandResult r = apply(terminate(WF, "second"));

    assertThat(r.getCode()).isEqualTo(ResultCode.FINISHED);
    assertThat(r.getStatus()).isEqualTo(WorkflowStatusCode.TERMINATED);
    assertThat(record(WF).getTerminationReason()).isEqualTo("first");
  }

  // A terminate of an unknown workflow is NOT_FOUND and creates nothing.
  @Test
  void terminateOfUnknownWorkflowIsNotFound() {
    CommandResult r = apply(terminate("nope", "stop"));

    assertThat(r.getCode()).isEqualTo(ResultCode.NOT_FOUND);
    assertThat(r.getStatus()).isEqualTo(WorkflowStatusCode.WORKFLOW_STATUS_UNSPECIFIED);
    assertThat(state.get("nope")).isNull();
    assertThat(state.workflows()).isEmpty();
  }

  // --- malformed commands ---

  // A command without a kind is a programming error: apply throws and changes nothing.
  @Test
  void commandWithoutKindIsRejected() {
    apply(start(WF, "order", 1, "in"));
    WorkflowRecord before = record(WF);

    assertThatThrownBy(() -> apply(Command.getDefaultInstance())).isInstanceOf(IllegalArgumentException.class);
    assertThat(record(WF)).isEqualTo(before);
    assertThat(state.ownerTerm()).isEqualTo(TERM);
  }

  // --- determinism ---

  // Replicas that apply the same commands in the same order (rejected ones included) return
  // the same results and end in the same state.
  @Test
  void sameCommandsGiveSameState() {
    List<Entry> log = randomLog(new Random(20240607L), 2000);
    WorkflowState a = new WorkflowState();
    WorkflowState b = new WorkflowState();

    Set<ResultCode> seen = EnumSet.noneOf(ResultCode.class);
    for (Entry e : log) {
      CommandResult ra = a.apply(e.command, e.term);
      CommandResult rb = b.apply(e.command, e.term);
      assertThat(rb).isEqualTo(ra);
      seen.add(ra.getCode());
    }

    assertThat(b.ownerNode()).isEqualTo(a.ownerNode());
    assertThat(b.ownerTerm()).isEqualTo(a.ownerTerm());
    assertThat(b.workflows()).hasSameSizeAs(a.workflows()).isNotEmpty();
    for (WorkflowEntry w : a.workflows()) {
      assertThat(b.get(w.workflowId())).isNotNull();
      assertThat(b.get(w.workflowId()).toRecord()).isEqualTo(w.toRecord());
    }
    // The log exercised every rule, rejections included.
    assertThat(seen).containsAll(EnumSet.range(ResultCode.APPLIED, ResultCode.OUT_OF_ORDER));
  }

  record Entry(Command command, long term) {}

  /** Commands over a few ids and keys, with mostly current and sometimes stale terms. */
  static List<Entry> randomLog(Random rnd, int n) {
    List<Entry> log = new ArrayList<>();
    long term = 1;
    log.add(new Entry(ownerChange(1, term), term));
    for (int i = 0; i < n; i++) {
      String id = "wf-" + rnd.nextInt(12);
      long ownerTerm = rnd.nextInt(10) == 0 ? term - 1 : term;
      long entryTerm = term;
      Command c = switch (rnd.nextInt(10)) {
        case 0 -> start(id, rnd.nextBoolean() ? "t" : "u", 1, "in" + rnd.nextInt(2));
        case 1, 2, 3, 4, 5 -> checkpoint(id, "k" + rnd.nextInt(3), rnd.nextInt(4), "v" + i, ownerTerm);
        case 6 -> endWithResult(id, "r" + i, ownerTerm);
        case 7 -> endWithError(id, "E", "m" + i, ownerTerm);
        case 8 -> terminate(id, "why" + i);
        default -> {
          long claimantTerm;
          switch (rnd.nextInt(4)) {
            case 0 -> claimantTerm = entryTerm = term - 1; // an OwnerChange from an older term: must be refused
            case 1 -> claimantTerm = term - 1; // a claim appended by a later leader than its claimant: refused
            default -> claimantTerm = entryTerm = ++term; // a new leader
          }
          yield ownerChange(1 + rnd.nextInt(3), claimantTerm);
        }
      };
      log.add(new Entry(c, entryTerm));
    }
    return log;
  }

  // --- helpers ---

  CommandResult apply(Command c) {
    return state.apply(c, TERM);
  }

  CommandResult apply(Command c, long entryTerm) {
    return state.apply(c, entryTerm);
  }

  WorkflowRecord record(String id) {
    WorkflowEntry w = state.get(id);
    assertThat(w).as("workflow %s", id).isNotNull();
    return w.toRecord();
  }

  static ByteString bytes(String s) {
    return ByteString.copyFromUtf8(s);
  }

  // --- retention ---

  @Test
  void pruneRemovesFinishedWorkflowsThatEndedBeforeTheCutOffAndNothingElse() {
    state.apply(start("done", "t", 1, "i"), TERM);
    state.apply(endWithResult("done", "r", TERM), TERM); // ended at 2000
    state.apply(start("stopped", "t", 1, "i"), TERM);
    state.apply(terminate("stopped", "why"), TERM); // ended at 3000
    state.apply(start("running", "t", 1, "i"), TERM);

    CommandResult r = state.apply(prune(2500), TERM);

    assertThat(r.getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(r.getPruned()).isEqualTo(1);
    assertThat(state.get("done")).isNull();
    assertThat(state.get("stopped")).isNotNull();
    assertThat(state.get("running")).isNotNull();
    assertThat(state.apply(prune(Long.MAX_VALUE), TERM).getPruned()).as("running workflows are never pruned").isEqualTo(1);
    assertThat(state.get("running")).isNotNull();
  }

  @Test
  void aPrunedIdCanBeStartedAgainAndReplicasStayEqual() {
    WorkflowState other = new WorkflowState();
    for (WorkflowState s : List.of(state, other)) {
      s.apply(ownerChange(OWNER, TERM), TERM);
      s.apply(start("x", "t", 1, "i"), TERM);
      s.apply(checkpoint("x", "k", 0, "v", TERM), TERM);
      s.apply(endWithResult("x", "r", TERM), TERM);
    }
    assertThat(state.hasPrunable(2001)).isTrue();
    assertThat(state.hasPrunable(2000)).isFalse();
    state.apply(prune(2001), TERM);
    other.apply(prune(2001), TERM);
    assertThat(state.digest()).isEqualTo(other.digest());
    assertThat(state.apply(start("x", "t", 1, "new input"), TERM).getCode()).isEqualTo(ResultCode.APPLIED);
    assertThat(state.digest()).isNotEqualTo(other.digest());
  }

  // Pruning is an owner decision too: a prune carrying a deposed owner's term (whose clock may run
  // ahead) is STALE_OWNER and removes nothing.
  @Test
  void pruneOfAStaleOwnerTermIsRefused() {
    apply(start(WF, "order", 1, "in"));
    apply(endWithResult(WF, "r", TERM));
    apply(ownerChange(2, TERM + 1), TERM + 1);

    CommandResult r = state.apply(prune(Long.MAX_VALUE), TERM + 1);

    assertThat(r.getCode()).isEqualTo(ResultCode.STALE_OWNER);
    assertThat(state.get(WF)).isNotNull();
  }

  static Command prune(long endedBeforeMillis) {
    return Command.newBuilder().setPruneWorkflows(PruneWorkflows.newBuilder().setEndedBeforeMillis(endedBeforeMillis).setOwnerTerm(TERM)).build();
  }

  static Command start(String id, String type, int version, String input) {
    return Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder()
        .setWorkflowId(id).setType(type).setVersion(version).setInput(bytes(input)).setStartedAtMillis(1000)).build();
  }

  static Command checkpoint(String id, String key, long seq, String value, long ownerTerm) {
    return Command.newBuilder().setSetCheckpoint(SetCheckpoint.newBuilder()
        .setWorkflowId(id).setKey(key).setSeq(seq).setValue(bytes(value)).setOwnerTerm(ownerTerm)).build();
  }

  static Command endWithResult(String id, String result, long ownerTerm) {
    return Command.newBuilder().setWorkflowEnd(WorkflowEnd.newBuilder()
        .setWorkflowId(id).setOwnerTerm(ownerTerm).setResult(bytes(result)).setEndedAtMillis(2000)).build();
  }

  static Command endWithError(String id, String type, String message, long ownerTerm) {
    return Command.newBuilder().setWorkflowEnd(WorkflowEnd.newBuilder()
        .setWorkflowId(id).setOwnerTerm(ownerTerm)
        .setError(WorkflowError.newBuilder().setType(type).setMessage(message)).setEndedAtMillis(2000)).build();
  }

  /** A claim by {@code node}, made while it led the group in {@code claimantTerm}. */
  static Command ownerChange(long node, long claimantTerm) {
    return Command.newBuilder().setOwnerChange(OwnerChange.newBuilder()
        .setOwnerNode(node).setClaimantTerm(claimantTerm).setReason("test")).build();
  }

  static Command terminate(String id, String reason) {
    return Command.newBuilder().setWorkflowTerminate(WorkflowTerminate.newBuilder()
        .setWorkflowId(id).setReason(reason).setAtMillis(3000)).build();
  }
}
