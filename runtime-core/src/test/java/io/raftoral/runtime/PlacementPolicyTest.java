package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.Topology;
import io.raftoral.runtime.PlacementPolicy.Decision;
import io.raftoral.runtime.PlacementPolicy.Sizes;
import io.raftoral.runtime.PlacementPolicy.View;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The management leader's shape rules (issue 20), one rule per test. {@link Cluster} applies the
 * policy's commands with the semantics of management.proto (kept small here; the committed rules
 * are ManagementState's) and lets each group run with its members at once, so iterating the
 * policy shows where a cluster ends.
 */
class PlacementPolicyTest {
  private static final Sizes DEFAULTS = new Sizes(3, 3, 5);

  /** A simulated cluster: the topology, who answers, and the management leader (node 1). */
  static final class Cluster {
    final Sizes sizes;
    Topology.Builder t = Topology.newBuilder().setClusterId("c");
    final Set<Long> live = new TreeSet<>();
    final Map<Integer, Long> leaders = new HashMap<>();
    long managementLeader = 1;
    final List<ManagementCommand> committed = new ArrayList<>();

    Cluster(Sizes sizes) {
      this.sizes = sizes;
    }

    Cluster node(long id) {
      t.addNodes(NodeRecord.newBuilder().setNodeId(id).setRole(id <= 3 ? Role.VOTER : Role.LISTENER));
      live.add(id);
      return this;
    }

    Cluster group(long... members) {
      var g = ExecutionGroupRecord.newBuilder().setGroupId(UUID.randomUUID().toString()).setIndex(t.getExecutionGroupsCount())
          .setOpen(true);
      for (long m : members) {
        g.addMembers(m).addInitialMembers(m);
        if (t.getNodesList().stream().noneMatch(n -> n.getNodeId() == m)) {
          node(m);
        }
      }
      t.addExecutionGroups(g);
      return this;
    }

    ExecutionGroupRecord.Builder g(int index) {
      return t.getExecutionGroupsBuilderList().stream().filter(x -> x.getIndex() == index).findFirst().orElseThrow();
    }

    View view() {
      Map<Integer, Set<Long>> raft = new HashMap<>();
      Map<Integer, Long> lead = new HashMap<>();
      for (ExecutionGroupRecord g : t.getExecutionGroupsList()) {
        raft.put(g.getIndex(), new TreeSet<>(g.getMembersList()));
        long l = leaders.getOrDefault(g.getIndex(), g.getPreferredLeader() != 0 ? g.getPreferredLeader()
            : g.getMembersCount() > 0 ? g.getMembers(0) : 0);
        lead.put(g.getIndex(), l);
      }
      return new View(t.build(), Set.copyOf(live), lead, raft, managementLeader);
    }

    Optional<Decision> decide() {
      return new PlacementPolicy(sizes).decide(view());
    }

    /** Applies decisions until there is none (a merge is finished as the controller would); at most 200. */
    Cluster settle() {
      for (int i = 0; i < 200; i++) {
        ExecutionGroupRecord merging = t.getExecutionGroupsList().stream().filter(g -> !g.getMergeTarget().isEmpty())
            .findFirst().orElse(null);
        if (merging != null) {
          finishMerge(merging.getIndex());
          continue;
        }
        Optional<Decision> d = decide();
        if (d.isEmpty()) {
          return this;
        }
        apply(d.get().command());
      }
      throw new AssertionError("no fixpoint after 200 decisions: " + committed);
    }

    Cluster join(long id) {
      node(id);
      return settle();
    }

    void apply(ManagementCommand c) {
      committed.add(c);
      switch (c.getKindCase()) {
        case SET_GROUP_MEMBERS -> {
          var s = c.getSetGroupMembers();
          assertDistinct(s.getMembersList());
          g(s.getIndex()).clearMembers().addAllMembers(s.getMembersList());
        }
        case SPLIT_GROUP -> {
          var s = c.getSplitGroup();
          var old = g(s.getIndex());
          Set<Long> before = new HashSet<>(old.getMembersList());
          assertThat(s.getKeepList()).as("kept members are members").allMatch(before::contains);
          assertThat(s.getMovedList()).as("moved members are members or unplaced").allMatch(m -> before.contains(m)
              || PlacementPolicy.unplaced(view(), PlacementPolicy.liveGroups(t.build())).contains(m));
          assertThat(new HashSet<>(s.getKeepList())).doesNotContainAnyElementsOf(s.getMovedList());
          assertThat(s.getKeepList()).isNotEmpty();
          assertThat(s.getMovedList()).isNotEmpty();
          old.clearMembers().addAllMembers(s.getKeepList());
          t.addExecutionGroups(ExecutionGroupRecord.newBuilder().setGroupId(UUID.randomUUID().toString())
              .setIndex(t.getExecutionGroupsCount()).addAllMembers(s.getMovedList()).addAllInitialMembers(s.getMovedList()));
        }
        case MOVE_MEMBER -> {
          var m = c.getMoveMember();
          var from = g(m.getFromIndex());
          var to = g(m.getToIndex());
          assertThat(from.getMembersList()).contains(m.getNodeId());
          assertThat(to.getMembersList()).doesNotContain(m.getNodeId());
          List<Long> rest = new ArrayList<>(from.getMembersList());
          rest.remove(m.getNodeId());
          from.clearMembers().addAllMembers(rest);
          to.addMembers(m.getNodeId());
        }
        case BEGIN_MERGE -> {
          var b = c.getBeginMerge();
          assertThat(b.getFromIndex()).isNotEqualTo(b.getIntoIndex());
          g(b.getFromIndex()).setOpen(false).setMergeTarget(g(b.getIntoIndex()).getGroupId());
        }
        case OPEN_GROUP -> g(c.getOpenGroup().getIndex()).setOpen(true);
        case SET_PREFERRED_LEADERS -> c.getSetPreferredLeaders().getLeadersMap().forEach((i, n) -> {
          assertThat(g(i).getMembersList()).contains(n);
          g(i).setPreferredLeader(n);
          leaders.put(i, n); // the leader hands over
        });
        case CREATE_GROUP -> t.addExecutionGroups(ExecutionGroupRecord.newBuilder().setGroupId(UUID.randomUUID().toString())
            .setIndex(t.getExecutionGroupsCount()).addAllMembers(c.getCreateGroup().getMembersList())
            .addAllInitialMembers(c.getCreateGroup().getMembersList()));
        default -> throw new AssertionError("unexpected decision " + c);
      }
    }

    void finishMerge(int from) {
      var f = g(from);
      var into = t.getExecutionGroupsBuilderList().stream().filter(x -> x.getGroupId().equals(f.getMergeTarget())).findFirst()
          .orElseThrow();
      for (long m : f.getMembersList()) {
        if (!into.getMembersList().contains(m)) {
          into.addMembers(m);
        }
      }
      f.setMergedInto(f.getMergeTarget()).clearMergeTarget().clearMembers();
      leaders.remove(from);
    }

    /** Removes a node as RemoveNode does: from the topology and from every group. */
    void remove(long id) {
      live.remove(id);
      List<NodeRecord> kept = t.getNodesList().stream().filter(n -> n.getNodeId() != id).toList();
      t.clearNodes().addAllNodes(kept);
      for (var g : t.getExecutionGroupsBuilderList()) {
        List<Long> rest = new ArrayList<>(g.getMembersList());
        rest.remove(id);
        g.clearMembers().addAllMembers(rest);
        if (leaders.getOrDefault(g.getIndex(), 0L) == id || g.getPreferredLeader() == id) {
          leaders.remove(g.getIndex());
        }
      }
    }

    /** The live groups' sizes in index order. */
    List<Integer> sizes() {
      return PlacementPolicy.liveGroups(t.build()).stream().map(ExecutionGroupRecord::getMembersCount).toList();
    }

    void assertDisjointAndEveryNodePlaced() {
      Set<Long> seen = new HashSet<>();
      for (ExecutionGroupRecord g : PlacementPolicy.liveGroups(t.build())) {
        for (long m : g.getMembersList()) {
          assertThat(seen.add(m)).as("node %d is in one group only: %s", m, t.getExecutionGroupsList()).isTrue();
        }
      }
      assertThat(seen).containsExactlyInAnyOrderElementsOf(live);
    }

    private static void assertDistinct(List<Long> members) {
      assertThat(new LinkedHashSet<>(members)).hasSize(members.size());
    }
  }

  private static Cluster grownOneByOne(Sizes sizes, int nodes) {
    Cluster c = new Cluster(sizes).group(1);
    c.settle();
    for (long id = 2; id <= nodes; id++) {
      c.join(id);
    }
    return c;
  }

  @Test
  void aJoiningNodeGoesToTheSmallestGroupBelowTheMaximum() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2, 3, 4).group(5, 6, 7).node(8);
    Decision d = c.decide().orElseThrow();
    assertThat(d.command().getSetGroupMembers().getIndex()).isEqualTo(1);
    assertThat(d.command().getSetGroupMembers().getMembersList()).containsExactly(5L, 6L, 7L, 8L);
  }

  @Test
  void fiveNodesWithDefaultsMakeOneGroupOfFive() {
    Cluster c = grownOneByOne(DEFAULTS, 5);
    assertThat(c.sizes()).containsExactly(5);
    c.assertDisjointAndEveryNodePlaced();
  }

  @Test
  void aSixthNodeSplitsAGroupOfFiveIntoThreeAndThree() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2, 3, 4, 5).node(6);
    c.leaders.put(0, 4L);
    Decision d = c.decide().orElseThrow();
    var split = d.command().getSplitGroup();
    assertThat(split.getIndex()).isZero();
    assertThat(split.getKeepList()).hasSize(3).contains(4L); // the group's leader stays
    assertThat(split.getMovedList()).hasSize(3).contains(6L);

    c.apply(d.command());
    c.settle();
    assertThat(c.sizes()).containsExactly(3, 3);
    c.assertDisjointAndEveryNodePlaced();
  }

  @Test
  void sixNodesJoiningOneByOneEndAsTwoDisjointGroupsOfThreeWithDifferentLeaders() {
    Cluster c = grownOneByOne(DEFAULTS, 6);
    assertThat(c.sizes()).containsExactly(3, 3);
    c.assertDisjointAndEveryNodePlaced();
    ExecutionGroupRecord a = c.t.getExecutionGroups(0);
    ExecutionGroupRecord b = c.t.getExecutionGroups(1);
    assertThat(a.getPreferredLeader()).isNotZero().isNotEqualTo(b.getPreferredLeader()).isNotEqualTo(c.managementLeader);
    assertThat(b.getPreferredLeader()).isNotZero().isNotEqualTo(c.managementLeader);
    assertThat(a.getOpen()).isTrue();
    assertThat(b.getOpen()).as("the new group is opened once it runs").isTrue();
  }

  @Test
  void fifteenNodesWithThreeThreeFiveEndAsFiveGroupsOfThree() {
    Cluster c = grownOneByOne(DEFAULTS, 15);
    assertThat(c.sizes()).containsExactly(3, 3, 3, 3, 3);
    c.assertDisjointAndEveryNodePlaced();
    Set<Long> leaders = new HashSet<>();
    PlacementPolicy.liveGroups(c.t.build()).forEach(g -> leaders.add(g.getPreferredLeader()));
    assertThat(leaders).as("five different leaders, none the management leader").hasSize(5).doesNotContain(c.managementLeader);
  }

  @Test
  void fifteenNodesWithThreeFifteenFifteenStayOneGroup() {
    Cluster c = grownOneByOne(new Sizes(3, 15, 15), 15);
    assertThat(c.sizes()).containsExactly(15);
  }

  @Test
  void everyPrefixOfTwentyJoinsKeepsGroupsWithinTheBounds() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2, 3);
    for (long id = 4; id <= 20; id++) {
      c.join(id);
      c.assertDisjointAndEveryNodePlaced();
      assertThat(c.sizes()).allMatch(s -> s >= 3 && s <= 5);
    }
  }

  @Test
  void aGroupAboveTheMaximumAfterAMergeIsSplitInTwoOfAtLeastTheMinimum() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2, 3, 4, 5, 6, 7);
    var split = c.decide().orElseThrow().command().getSplitGroup();
    assertThat(split.getKeepCount()).isEqualTo(4);
    assertThat(split.getMovedCount()).isEqualTo(3);
  }

  @Test
  void aGroupBelowTheMinimumIsToppedUpFromAGroupAboveTheTarget() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2).group(3, 4, 5).group(6, 7, 8, 9);
    c.leaders.put(2, 9L);
    var move = c.decide().orElseThrow().command().getMoveMember();
    assertThat(move.getFromIndex()).isEqualTo(2);
    assertThat(move.getToIndex()).isZero();
    assertThat(move.getNodeId()).as("not the donor's leader").isNotEqualTo(9L).isIn(6L, 7L, 8L);
  }

  @Test
  void withNoDonorAGroupBelowTheMinimumIsMergedIntoTheSmallestOtherGroup() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2, 3, 4).group(5, 6, 7).group(8, 9, 10);
    c.remove(5);
    c.remove(6);
    // group 0 is above the target: it gives a member first
    assertThat(c.decide().orElseThrow().command().hasMoveMember()).isTrue();

    Cluster d = new Cluster(DEFAULTS).group(1, 2, 3).group(4, 5, 6).group(7, 8, 9);
    d.remove(4);
    var merge = d.decide().orElseThrow().command().getBeginMerge();
    assertThat(merge.getFromIndex()).isEqualTo(1);
    assertThat(merge.getIntoIndex()).as("the smallest other group, ties lowest index").isZero();
    d.settle();
    assertThat(d.sizes()).containsExactly(5, 3);
    d.assertDisjointAndEveryNodePlaced();
  }

  @Test
  void aGroupBelowTheMinimumTakesAJoiningNodeRatherThanMerging() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2, 3).group(4, 5);
    c.node(6);
    var set = c.decide().orElseThrow().command().getSetGroupMembers();
    assertThat(set.getIndex()).isEqualTo(1);
    assertThat(set.getMembersList()).containsExactly(4L, 5L, 6L);
  }

  @Test
  void nothingStructuralHappensWhileAMergeIsUnderWay() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2).group(3, 4, 5).node(6).node(7);
    c.apply(ManagementCommand.newBuilder().setBeginMerge(io.raftoral.proto.management.BeginMerge.newBuilder()
        .setFromIndex(0).setIntoIndex(1)).build());
    Optional<Decision> d = c.decide();
    assertThat(d.stream().toList()).allSatisfy(x -> assertThat(x.command().hasSetPreferredLeaders() || x.command().hasOpenGroup()).isTrue());
  }

  @Test
  void aGroupWithNoMembersLeftIsLeftAlone() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2, 3).group(4, 5, 6);
    c.remove(4);
    c.remove(5);
    c.remove(6);
    c.settle();
    assertThat(c.sizes()).containsExactly(3, 0);
    assertThat(c.committed).noneMatch(ManagementCommand::hasBeginMerge);
  }

  @Test
  void aNodeThatDoesNotAnswerIsNotPlaced() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2, 3).node(4);
    c.live.remove(4L);
    assertThat(c.decide().stream().toList()).allSatisfy(d -> assertThat(d.command().hasSetGroupMembers()).isFalse());
  }

  @Test
  void noStructuralChangeTouchesAGroupWhoseRaftConfigurationIsNotItsMembersYet() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2, 3, 4, 5).node(6);
    View v = c.view();
    Map<Integer, Set<Long>> raft = new HashMap<>(v.raftMembers());
    raft.put(0, Set.of(1L, 2L, 3L, 4L));
    Optional<Decision> d = new PlacementPolicy(DEFAULTS).decide(new View(v.topology(), v.live(), v.leaders(), raft, 1));
    assertThat(d.stream().toList()).allSatisfy(x -> assertThat(x.command().hasSplitGroup() || x.command().hasSetGroupMembers()).isFalse());
  }

  @Test
  void aClosedGroupIsOpenedOnceItRunsWithItsMembers() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2, 3).group(4, 5, 6);
    c.g(1).setOpen(false);
    View v = c.view();
    Map<Integer, Set<Long>> raft = new HashMap<>(v.raftMembers());
    raft.put(1, Set.of(4L));
    assertThat(new PlacementPolicy(DEFAULTS).decide(new View(v.topology(), v.live(), v.leaders(), raft, 1)).stream().toList())
        .allSatisfy(x -> assertThat(x.command().hasOpenGroup()).isFalse());
    assertThat(c.decide().orElseThrow().command().getOpenGroup().getIndex()).isEqualTo(1);
  }

  @Test
  void theManagementLeaderDoesNotAlsoLeadAnExecutionGroupWhenAnotherMemberCould() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2, 3);
    c.leaders.put(0, 1L);
    var leaders = c.decide().orElseThrow().command().getSetPreferredLeaders().getLeadersMap();
    assertThat(leaders).containsEntry(0, 2L);
  }

  @Test
  void aGroupWhoseOnlyLiveMemberIsTheManagementLeaderIsLedByIt() {
    Cluster c = new Cluster(DEFAULTS).group(1);
    var leaders = c.decide().orElseThrow().command().getSetPreferredLeaders().getLeadersMap();
    assertThat(leaders).containsEntry(0, 1L);
  }

  @Test
  void aCurrentLeaderThatLeadsNothingElseIsKept() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2, 3).group(4, 5, 6);
    c.leaders.put(0, 3L);
    c.leaders.put(1, 6L);
    assertThat(c.decide().orElseThrow().command().getSetPreferredLeaders().getLeadersMap())
        .containsExactlyInAnyOrderEntriesOf(Map.of(0, 3L, 1, 6L));
  }

  @Test
  void aPreferredLeaderThatDiedIsReplaced() {
    Cluster c = new Cluster(DEFAULTS).group(1, 2, 3, 4).group(5, 6, 7);
    c.settle();
    long before = c.g(1).getPreferredLeader();
    c.live.remove(before);
    c.leaders.remove(1);
    var leaders = c.decide().orElseThrow().command().getSetPreferredLeaders().getLeadersMap();
    assertThat(leaders.get(1)).isNotNull().isNotEqualTo(before).isIn(5L, 6L, 7L);
  }

  @Test
  void overlappingBootstrapGroupsGetDifferentLeadersAndStayCorrectAsNodesJoin() {
    // executionGroups = 2 at bootstrap: two groups over the same three members.
    Cluster c = new Cluster(DEFAULTS).group(1, 2, 3).group(1, 2, 3);
    c.leaders.put(0, 2L);
    c.leaders.put(1, 2L);
    var leaders = c.decide().orElseThrow().command().getSetPreferredLeaders().getLeadersMap();
    assertThat(Set.copyOf(leaders.values())).as("no node leads both while another leads none").containsExactlyInAnyOrder(2L, 3L);
    c.settle();
    for (long id = 4; id <= 12; id++) {
      c.join(id);
      assertThat(c.sizes()).allMatch(s -> s >= 3 && s <= 5);
      Set<Long> placed = new HashSet<>();
      PlacementPolicy.liveGroups(c.t.build()).forEach(g -> placed.addAll(g.getMembersList()));
      assertThat(placed).containsExactlyInAnyOrderElementsOf(c.live);
    }
  }
}
