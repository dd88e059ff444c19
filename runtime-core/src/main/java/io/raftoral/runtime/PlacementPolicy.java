package io.raftoral.runtime;

import io.raftoral.config.NodeOptions;
import io.raftoral.proto.management.BeginMerge;
import io.raftoral.proto.management.CreateGroup;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.MoveMember;
import io.raftoral.proto.management.NodeRecord;
import io.raftoral.proto.management.OpenGroup;
import io.raftoral.proto.management.Role;
import io.raftoral.proto.management.SetGroupMembers;
import io.raftoral.proto.management.SetPreferredLeaders;
import io.raftoral.proto.management.SplitGroup;
import io.raftoral.proto.management.Topology;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The management leader's shape decisions for disjoint execution groups (issue 20), as a pure
 * function: the committed topology and what the leader observes now in, at most one command out.
 * Applied in this priority order (removals, the management group's configuration and driving a
 * merge come before, in {@link MembershipController}):
 *
 * <ol start="3">
 *   <li>a group above max splits into two balanced halves (the leader stays in the kept half);
 *   <li>a group below min gets a member of the largest group above target (not its leader when
 *       avoidable); with no such donor and no unplaced node, it is merged into the smallest other
 *       group;
 *   <li>an unplaced live node joins the smallest group below max, or, when every group is at max,
 *       splits the largest one (the node and some of its members form the new group, 6 → 3+3);
 *   <li>when the groups above target hold together at least target surplus members, the group
 *       with the largest surplus moves its surplus into a new group (rule 4 then tops it up);
 *   <li>a closed group that runs with its members (and has at least min of them, or is the only
 *       group) is opened to starts;
 *   <li>leader spread: preferred leaders such that no node leads two groups while a member of
 *       one of them leads none (the management leader counts as leading one).
 * </ol>
 *
 * Structural rules (3-6) act only on groups that are settled (their Raft configuration is their
 * committed members) and wait while a merge is under way, so one change completes before the
 * next starts. Nothing here reads a clock, a disk or the network.
 */
final class PlacementPolicy {
  /** Group sizes (NodeOptions: minGroupSize, targetGroupSize, maxGroupSize). */
  record Sizes(int min, int target, int max) {
    static Sizes of(NodeOptions options) {
      return new Sizes(options.minGroupSize(), options.targetGroupSize(), options.maxGroupSize());
    }
  }

  /**
   * What the management leader sees now.
   *
   * @param live the nodes that answer (the management leader included)
   * @param leaders group index -> its current leader's node id (absent or 0: unknown)
   * @param raftMembers group index -> the voters of its Raft configuration (absent: unknown)
   * @param managementLeader this node, the management group's leader
   */
  record View(Topology topology, Set<Long> live, Map<Integer, Long> leaders, Map<Integer, Set<Long>> raftMembers,
      long managementLeader) {}

  /** A decision: the command to commit (without proposer_term) and why, for the log. */
  record Decision(ManagementCommand command, String reason) {}

  private final Sizes sizes;

  PlacementPolicy(Sizes sizes) {
    this.sizes = sizes;
  }

  Optional<Decision> decide(View v) {
    List<ExecutionGroupRecord> live = liveGroups(v.topology());
    // A merge whose source lost every member cannot go on (no replica to seal or export from):
    // it does not hold the other rules back.
    boolean merging = live.stream().anyMatch(g -> !g.getMergeTarget().isEmpty() && g.getMembersCount() > 0);
    Optional<Decision> d = Optional.empty();
    if (!merging) {
      d = splitAboveMax(v, live);
      if (d.isEmpty()) {
        d = topUpOrMerge(v, live);
      }
      if (d.isEmpty()) {
        d = placeUnplaced(v, live);
      }
      if (d.isEmpty()) {
        d = splitSurplus(v, live);
      }
    }
    if (d.isEmpty()) {
      d = open(v, live);
    }
    if (d.isEmpty()) {
      d = spreadLeaders(v, live);
    }
    return d;
  }

  /** Not retired, in index order (a group with no members left is included: it still holds its index). */
  static List<ExecutionGroupRecord> liveGroups(Topology t) {
    return t.getExecutionGroupsList().stream().filter(g -> g.getMergedInto().isEmpty())
        .sorted(Comparator.comparingInt(ExecutionGroupRecord::getIndex)).toList();
  }

  /** Live, not merging, with members, and its Raft configuration is its members: free for a structural change. */
  private static boolean settled(View v, ExecutionGroupRecord g) {
    return g.getMergeTarget().isEmpty() && g.getMembersCount() > 0
        && new TreeSet<>(g.getMembersList()).equals(v.raftMembers().get(g.getIndex()));
  }

  // --- rule 3 ---

  private Optional<Decision> splitAboveMax(View v, List<ExecutionGroupRecord> live) {
    for (ExecutionGroupRecord g : live) {
      if (g.getMembersCount() > sizes.max() && settled(v, g)) {
        int moved = g.getMembersCount() / 2;
        List<Long> order = keepOrder(v, g);
        return Optional.of(split(g, order.subList(0, order.size() - moved), order.subList(order.size() - moved, order.size()),
            "group " + g.getIndex() + " has " + g.getMembersCount() + " members, above the maximum " + sizes.max()));
      }
    }
    return Optional.empty();
  }

  /** The group's members, those that should stay first: its leader, then by id. */
  private static List<Long> keepOrder(View v, ExecutionGroupRecord g) {
    long leader = v.leaders().getOrDefault(g.getIndex(), 0L);
    return g.getMembersList().stream().sorted(Comparator.comparing((Long m) -> m != leader).thenComparing(m -> m)).toList();
  }

  private static Decision split(ExecutionGroupRecord g, List<Long> keep, List<Long> moved, String reason) {
    return new Decision(ManagementCommand.newBuilder().setSplitGroup(SplitGroup.newBuilder().setIndex(g.getIndex())
        .addAllKeep(keep).addAllMoved(moved).setReason(reason)).build(), reason + ": split " + keep + " / " + moved);
  }

  // --- rule 4 ---

  private Optional<Decision> topUpOrMerge(View v, List<ExecutionGroupRecord> live) {
    for (ExecutionGroupRecord needy : live) {
      if (needy.getMembersCount() == 0 || needy.getMembersCount() >= sizes.min() || !settled(v, needy)) {
        continue;
      }
      ExecutionGroupRecord donor = live.stream()
          .filter(g -> g != needy && g.getMembersCount() > sizes.target() && settled(v, g))
          .filter(g -> g.getMembersList().stream().anyMatch(m -> !needy.getMembersList().contains(m)))
          .min(Comparator.comparingInt((ExecutionGroupRecord g) -> -g.getMembersCount())
              .thenComparingInt(ExecutionGroupRecord::getIndex))
          .orElse(null);
      if (donor != null) {
        long leader = v.leaders().getOrDefault(donor.getIndex(), 0L);
        long node = donor.getMembersList().stream().filter(m -> !needy.getMembersList().contains(m))
            .min(Comparator.comparing((Long m) -> m == leader).thenComparing(m -> !v.live().contains(m))
                .thenComparing(Comparator.<Long>reverseOrder()))
            .orElseThrow();
        String reason = "group " + needy.getIndex() + " has " + needy.getMembersCount() + " members, below the minimum "
            + sizes.min() + "; group " + donor.getIndex() + " has " + donor.getMembersCount() + ", above the target "
            + sizes.target();
        return Optional.of(new Decision(ManagementCommand.newBuilder().setMoveMember(MoveMember.newBuilder().setNodeId(node)
            .setFromIndex(donor.getIndex()).setToIndex(needy.getIndex()).setReason(reason)).build(),
            reason + ": move node " + node));
      }
      if (!unplaced(v, live).isEmpty()) {
        continue; // rule 5 gives it a node (it is the smallest group below max)
      }
      ExecutionGroupRecord into = live.stream()
          .filter(g -> g != needy && settled(v, g))
          // A group over the same nodes (overlapping bootstrap groups) adds no replica: merging
          // into it would not help the size and would undo the bootstrap's groups.
          .filter(g -> g.getMembersList().stream().anyMatch(m -> !needy.getMembersList().contains(m)))
          .min(Comparator.comparingInt(ExecutionGroupRecord::getMembersCount).thenComparingInt(ExecutionGroupRecord::getIndex))
          .orElse(null);
      if (into != null) {
        String reason = "group " + needy.getIndex() + " has " + needy.getMembersCount() + " members, below the minimum "
            + sizes.min() + ", and no group is above the target " + sizes.target();
        return Optional.of(new Decision(ManagementCommand.newBuilder().setBeginMerge(BeginMerge.newBuilder()
            .setFromIndex(needy.getIndex()).setIntoIndex(into.getIndex()).setReason(reason)).build(),
            reason + ": merge it into group " + into.getIndex()));
      }
    }
    return Optional.empty();
  }

  // --- rule 5 ---

  /** Live voters and listeners that are in no live group, by id. */
  static List<Long> unplaced(View v, List<ExecutionGroupRecord> live) {
    Set<Long> placed = new HashSet<>();
    live.forEach(g -> placed.addAll(g.getMembersList()));
    return v.topology().getNodesList().stream()
        .filter(n -> n.getRole() == Role.VOTER || n.getRole() == Role.LISTENER)
        .map(NodeRecord::getNodeId)
        .filter(id -> v.live().contains(id) && !placed.contains(id))
        .sorted()
        .toList();
  }

  private Optional<Decision> placeUnplaced(View v, List<ExecutionGroupRecord> live) {
    List<Long> nodes = unplaced(v, live);
    if (nodes.isEmpty()) {
      return Optional.empty();
    }
    long node = nodes.getFirst();
    List<ExecutionGroupRecord> withMembers = live.stream().filter(g -> g.getMembersCount() > 0).toList();
    if (withMembers.isEmpty()) {
      // Every group lost all its members (their data has no replica left): start afresh.
      List<Long> members = nodes.subList(0, Math.min(nodes.size(), sizes.target()));
      return Optional.of(new Decision(ManagementCommand.newBuilder().setCreateGroup(CreateGroup.newBuilder()
          .addAllMembers(members)).build(), "no execution group has members: a new one with " + members));
    }
    if (withMembers.stream().anyMatch(g -> !settled(v, g) && g.getMergeTarget().isEmpty())) {
      return Optional.empty(); // a change is under way: place once every group runs with its members
    }
    ExecutionGroupRecord smallest = withMembers.stream()
        .filter(g -> g.getMembersCount() < sizes.max())
        .min(Comparator.comparingInt(ExecutionGroupRecord::getMembersCount).thenComparingInt(ExecutionGroupRecord::getIndex))
        .orElse(null);
    if (smallest != null) {
      List<Long> members = new ArrayList<>(smallest.getMembersList());
      members.add(node);
      String reason = "node " + node + " joined";
      return Optional.of(new Decision(ManagementCommand.newBuilder().setSetGroupMembers(SetGroupMembers.newBuilder()
          .setIndex(smallest.getIndex()).addAllMembers(members).setReason(reason)).build(),
          reason + ": into group " + smallest.getIndex() + " " + members));
    }
    ExecutionGroupRecord largest = withMembers.stream()
        .min(Comparator.comparingInt((ExecutionGroupRecord g) -> -g.getMembersCount()).thenComparingInt(ExecutionGroupRecord::getIndex))
        .orElseThrow();
    int total = largest.getMembersCount() + 1;
    int newSize = total / 2;
    List<Long> order = keepOrder(v, largest);
    List<Long> keep = order.subList(0, total - newSize);
    List<Long> moved = new ArrayList<>();
    moved.add(node);
    moved.addAll(order.subList(total - newSize, order.size()));
    return Optional.of(split(largest, keep, moved, "node " + node + " joined and every group is at the maximum " + sizes.max()));
  }

  // --- rule 6 ---

  private Optional<Decision> splitSurplus(View v, List<ExecutionGroupRecord> live) {
    int total = 0;
    ExecutionGroupRecord most = null;
    for (ExecutionGroupRecord g : live) {
      int surplus = g.getMembersCount() - sizes.target();
      if (surplus > 0 && g.getMergeTarget().isEmpty()) {
        total += surplus;
        if (most == null || surplus > most.getMembersCount() - sizes.target()) {
          most = g;
        }
      }
    }
    if (total < sizes.target() || most == null || live.stream().anyMatch(g -> g.getMembersCount() > 0 && !settled(v, g))) {
      return Optional.empty();
    }
    int surplus = most.getMembersCount() - sizes.target();
    List<Long> order = keepOrder(v, most);
    return Optional.of(split(most, order.subList(0, sizes.target()), order.subList(sizes.target(), order.size()),
        "the groups above the target " + sizes.target() + " hold " + total + " surplus members; group " + most.getIndex()
            + " gives its " + surplus));
  }

  // --- rule 7 ---

  private Optional<Decision> open(View v, List<ExecutionGroupRecord> live) {
    long running = live.stream().filter(g -> g.getMembersCount() > 0).count();
    for (ExecutionGroupRecord g : live) {
      if (!g.getOpen() && settled(v, g) && (g.getMembersCount() >= sizes.min() || running == 1)) {
        return Optional.of(new Decision(ManagementCommand.newBuilder().setOpenGroup(OpenGroup.newBuilder()
            .setIndex(g.getIndex())).build(), "group " + g.getIndex() + " runs with its members " + g.getMembersList()
            + ": open to starts"));
      }
    }
    return Optional.empty();
  }

  // --- rule 8 ---

  /**
   * Greedy, in index order: the preferred leader if it is a live member leading nothing yet, else
   * the current leader if it leads nothing yet, else the live member that leads the fewest (ties
   * lowest id). Sticky: a preferred leader stays while it is live and alone.
   */
  private Optional<Decision> spreadLeaders(View v, List<ExecutionGroupRecord> live) {
    Map<Long, Integer> count = new HashMap<>();
    count.put(v.managementLeader(), 1);
    Map<Integer, Long> changes = new TreeMap<>();
    for (ExecutionGroupRecord g : live) {
      List<Long> candidates = g.getMembersList().stream().filter(v.live()::contains).sorted().toList();
      if (candidates.isEmpty()) {
        continue;
      }
      long preferred = g.getPreferredLeader();
      long current = v.leaders().getOrDefault(g.getIndex(), 0L);
      long desired;
      if (candidates.contains(preferred) && count.getOrDefault(preferred, 0) == 0) {
        desired = preferred;
      } else if (candidates.contains(current) && count.getOrDefault(current, 0) == 0) {
        desired = current;
      } else {
        desired = candidates.stream().min(Comparator.comparing((Long m) -> count.getOrDefault(m, 0)).thenComparing(m -> m))
            .orElseThrow();
      }
      count.merge(desired, 1, Integer::sum);
      if (desired != preferred) {
        changes.put(g.getIndex(), desired);
      }
    }
    if (changes.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(new Decision(ManagementCommand.newBuilder().setSetPreferredLeaders(SetPreferredLeaders.newBuilder()
        .putAllLeaders(changes)).build(), "spread the groups' leaders: " + changes));
  }
}
