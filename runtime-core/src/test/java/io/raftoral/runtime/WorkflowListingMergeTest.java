package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.raft.GroupId;
import io.raftoral.runtime.WorkflowListing.GroupPage;
import io.raftoral.runtime.WorkflowListing.Merged;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Merging the groups' list pages: order, dedupe of a record held by two groups (a merge in progress), the page bound. */
class WorkflowListingMergeTest {
  private static final GroupId A = GroupId.of(UUID.randomUUID());
  private static final GroupId B = GroupId.of(UUID.randomUUID());

  private static WorkflowRecord r(long at, String id) {
    return WorkflowRecord.newBuilder().setStartedAtMillis(at).setWorkflowId(id).build();
  }

  private static GroupPage page(GroupId g, boolean more, WorkflowRecord... records) {
    return new GroupPage(g, QueryReply.newBuilder().addAllWorkflows(List.of(records)).setMore(more).build());
  }

  private static List<String> ids(Merged m) {
    return m.items().stream().map(i -> i.record().getWorkflowId()).toList();
  }

  @Test
  void mergesInStartedAtThenIdOrder() {
    Merged m = WorkflowListing.merge(10, List.of(page(A, false, r(1, "b"), r(3, "c")), page(B, false, r(1, "a"), r(2, "z"))),
        g -> false);
    assertThat(ids(m)).containsExactly("a", "b", "z", "c");
    assertThat(m.nextToken()).isNull();
  }

  @Test
  void aRecordInTwoGroupsIsListedOnceFromTheGroupThatKeepsIt() {
    // A is being merged into B: B adopted "x" already.
    Merged m = WorkflowListing.merge(10, List.of(page(A, false, r(1, "x"), r(2, "y")), page(B, false, r(1, "x"), r(5, "w"))),
        g -> g.equals(A));
    assertThat(ids(m)).containsExactly("x", "y", "w");
    assertThat(m.items().getFirst().group()).isEqualTo(B);
  }

  @Test
  void aFrozenCopyWhoseTargetHoldsTheWorkflowIsNotListedEvenWhenTheFilterLeavesTheTargetsCopyOut() {
    // A is being merged into B; a list of RUNNING workflows: B's copy of "x" COMPLETED (filtered
    // out there), A's frozen copy still RUNNING. B holds "x", so A's copy is shadowed.
    WorkflowRecord frozen = r(1, "x");
    Merged m = WorkflowListing.merge(10, List.of(page(A, true, frozen, r(2, "y")), page(B, false)), g -> g.equals(A),
        java.util.Set.of(new WorkflowListing.Item(frozen, A)));
    assertThat(ids(m)).containsExactly("y");
    // The shadowed record still bounds the page: A has more after (2, "y").
    assertThat(WorkflowListing.Cursor.parse(m.nextToken())).isEqualTo(new WorkflowListing.Cursor(2, "y"));
  }

  @Test
  void thePageEndsAtTheEarliestLastRecordOfAGroupWithMore() {
    // A has more after (3, "c"); after dedupe fewer than the limit remain, yet B's (9, "q") must
    // wait for the next page: A's records between (3, "c") and it were not asked for yet.
    Merged m = WorkflowListing.merge(3, List.of(
        page(A, true, r(1, "a"), r(2, "b"), r(3, "c")),
        page(B, false, r(1, "a"), r(9, "q"))), g -> g.equals(A));
    assertThat(ids(m)).containsExactly("a", "b", "c");
    assertThat(WorkflowListing.Cursor.parse(m.nextToken())).isEqualTo(new WorkflowListing.Cursor(3, "c"));

    Merged dedupedBelowLimit = WorkflowListing.merge(4, List.of(
        page(A, true, r(1, "a"), r(2, "b"), r(3, "c"), r(4, "d")),
        page(B, false, r(1, "a"), r(2, "b"), r(9, "q"))), g -> g.equals(A));
    assertThat(ids(dedupedBelowLimit)).containsExactly("a", "b", "c", "d");
    assertThat(WorkflowListing.Cursor.parse(dedupedBelowLimit.nextToken())).isEqualTo(new WorkflowListing.Cursor(4, "d"));
  }

  @Test
  void moreThanTheLimitAcrossGroupsContinuesOnTheNextPage() {
    Merged m = WorkflowListing.merge(2, List.of(page(A, false, r(1, "a"), r(3, "c")), page(B, false, r(2, "b"))), g -> false);
    assertThat(ids(m)).containsExactly("a", "b");
    assertThat(WorkflowListing.Cursor.parse(m.nextToken())).isEqualTo(new WorkflowListing.Cursor(2, "b"));
  }
}
