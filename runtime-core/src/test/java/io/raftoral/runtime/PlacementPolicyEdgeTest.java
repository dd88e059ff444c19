package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.runtime.PlacementPolicy.Decision;
import io.raftoral.runtime.PlacementPolicy.Sizes;
import io.raftoral.runtime.PlacementPolicyTest.Cluster;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Break tests for the placement policy (issue 20) on odd topologies: overlapping bootstrap
 * groups, tiny clusters, random join/leave sequences with every valid size triple. Uses the
 * simulated applier of {@link PlacementPolicyTest}.
 */
class PlacementPolicyEdgeTest {

  /** ARCHITECTURE.md: "the rules stay correct with that overlap and do not undo it". */
  @Test
  void aOneNodeBootstrapWithThreeOverlappingGroupsIsNotMergedAway() {
    Cluster c = new Cluster(new Sizes(3, 3, 5)).group(1).group(1).group(1);
    c.settle();
    assertThat(c.committed).as("decisions on a one-node cluster with executionGroups=3")
        .noneMatch(ManagementCommand::hasBeginMerge);
    assertThat(c.sizes()).as("live groups").hasSize(3);
  }

  @Test
  void aTwoNodeBootstrapWithTwoOverlappingGroupsIsNotMergedAway() {
    Cluster c = new Cluster(new Sizes(3, 3, 5)).group(1, 2).group(1, 2);
    c.settle();
    assertThat(c.committed).noneMatch(ManagementCommand::hasBeginMerge);
    assertThat(c.sizes()).hasSize(2);
  }

  @Test
  void oneAndTwoNodeClustersNeverSplitOrMerge() {
    for (int n = 1; n <= 2; n++) {
      Cluster c = new Cluster(new Sizes(3, 3, 5)).group(1);
      c.settle();
      for (long id = 2; id <= n; id++) {
        c.join(id);
      }
      assertThat(c.committed).noneMatch(x -> x.hasBeginMerge() || x.hasSplitGroup());
      assertThat(c.sizes()).containsExactly(n);
      assertThat(PlacementPolicy.liveGroups(c.t.build())).allMatch(ExecutionGroupRecord::getOpen);
    }
  }

  /**
   * Random joins and removals under every valid size triple up to max 7: the policy reaches a
   * fixpoint (settle() throws after 200 decisions otherwise), groups stay disjoint with every
   * live node placed, and once settled no group is above the maximum, and no group is below the
   * minimum while another group could give or take members.
   */
  @Test
  void randomJoinsAndRemovalsConvergeToValidShapes() {
    Random random = new Random(20);
    List<String> failures = new ArrayList<>();
    for (int min = 1; min <= 4; min++) {
      for (int target = min; target <= 5; target++) {
        for (int max = Math.max(target, 2 * min - 1); max <= 7; max++) {
          for (int run = 0; run < 15; run++) {
            Sizes sizes = new Sizes(min, target, max);
            Cluster c = new Cluster(sizes).group(1);
            c.settle();
            long next = 2;
            List<String> steps = new ArrayList<>();
            for (int step = 0; step < 25; step++) {
              if (c.live.size() > 1 && random.nextInt(3) == 0) {
                List<Long> l = new ArrayList<>(c.live);
                l.remove(Long.valueOf(c.managementLeader));
                long gone = l.get(random.nextInt(l.size()));
                steps.add("-" + gone);
                c.remove(gone);
                try {
                  c.settle();
                } catch (AssertionError e) {
                  failures.add(sizes + " " + steps + ": " + e.getMessage());
                  break;
                }
              } else {
                steps.add("+" + next);
                try {
                  c.join(next++);
                } catch (AssertionError e) {
                  failures.add(sizes + " " + steps + ": " + e.getMessage());
                  break;
                }
              }
              String bad = invalid(c, sizes);
              if (bad != null) {
                failures.add(sizes + " " + steps + ": " + bad + " " + c.sizes());
                break;
              }
            }
          }
        }
      }
    }
    assertThat(failures).as("invalid shapes").isEmpty();
  }

  /**
   * A merge whose source lost every member can never finish (no replica to seal or export:
   * GroupMerge.step fails each round), and "nothing structural happens while a merge is under
   * way": a node that joins afterwards is never placed in any group.
   */
  @Test
  void aMergeWhoseSourceLostEveryMemberDoesNotBlockPlacingANewNodeForever() {
    Cluster c = new Cluster(new Sizes(3, 3, 5)).group(1, 2, 3).group(4, 5);
    c.g(1).setOpen(false).setMergeTarget(c.g(0).getGroupId()); // BeginMerge(1 -> 0) committed
    c.remove(4);
    c.remove(5);
    c.node(6);
    // The merge never finishes (nothing can export group 1): apply the policy's decisions until it has none.
    for (int i = 0; i < 20; i++) {
      Optional<Decision> d = c.decide();
      if (d.isEmpty()) {
        break;
      }
      c.apply(d.get().command());
    }
    assertThat(c.committed).as("decisions with node 6 unplaced while the dead merge is under way")
        .anyMatch(x -> x.hasSetGroupMembers() && x.getSetGroupMembers().getMembersList().contains(6L)
            || x.hasSplitGroup() && x.getSplitGroup().getMovedList().contains(6L));
  }

  private static String invalid(Cluster c, Sizes s) {
    try {
      c.assertDisjointAndEveryNodePlaced();
    } catch (AssertionError e) {
      return "not disjoint: " + e.getMessage();
    }
    List<Integer> sizes = c.sizes().stream().filter(x -> x > 0).toList();
    if (sizes.stream().anyMatch(x -> x > s.max())) {
      return "a group above max";
    }
    if (sizes.size() > 1 && sizes.stream().anyMatch(x -> x < s.min())) {
      return "a group below min with another group to merge with";
    }
    Optional<Decision> d = c.decide();
    if (d.isPresent()) {
      return "not a fixpoint: " + d.get().reason();
    }
    return null;
  }
}
