package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.management.BeginMerge;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.raft.AdoptWorkflows;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.ExportWorkflows;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.raft.GroupId;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Rule (issue 20, merge): a management leader deposed in the middle of a merge leaves nothing
 * half-done; the next one starts again from the seal and finishes it, and every workflow of the
 * source completes exactly once in the target.
 *
 * <p>Scenario: 3 real Ratis nodes, {@code executionGroups(2)}. Group 1 runs workflows that run a
 * side effect and block on a latch before a second one, and workflows that finish. The
 * management leader (the old leader) also leads group 0, and its replica of group 0 stops
 * applying entries. BeginMerge of group 1 into group 0 is committed; the old leader's merge runs
 * as it does in production: group 1 is sealed, its workflows are copied into group 0 (committed
 * by the other two replicas), but the old leader's AdoptWorkflows is not answered (it waits for
 * its own apply), so it cannot commit FinishMerge. At that definite point the management
 * leadership, then group 0's, move to another node, which must finish the merge on its own. The
 * latch opens while the old leader's replica is still behind, and the page the old leader copied
 * is proposed into group 0 once more after the runs completed there (a deposed leader's page
 * arriving late); then the old replica catches up. Neither late copy may change anything.
 */
class MergeUnderANewManagementLeaderTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Duration TRANSFER = Duration.ofSeconds(5);
  private static final int BLOCKED = 4;
  private static final int FINISHED = 3;

  private final CountDownLatch release = new CountDownLatch(1);
  // Side effects run, per workflow id and step: each must run exactly once in the cluster.
  private final Map<String, AtomicInteger> effects = new ConcurrentHashMap<>();
  private TestCluster cluster;

  @BeforeEach
  void start() {
    // Elections only when the test moves a leader: the slower timeout keeps a loaded machine's
    // pauses from electing new leaders in the middle of the scenario.
    cluster = TestCluster.start(3, null, (node, b) -> b.electionTimeout(Duration.ofSeconds(2))
        .executionGroups(2).requestTimeout(Duration.ofSeconds(10))
        .register(WorkflowDefinition.of("merge", 1, String.class, String.class, (ctx, in) -> {
          String first = ctx.checkpointCompute("first", String.class, () -> effect(ctx.workflowId(), "first"));
          if (in.equals("block")) {
            release.await();
          }
          String second = ctx.checkpointCompute("second", String.class, () -> effect(ctx.workflowId(), "second"));
          return first + "+" + second;
        })));
  }

  @AfterEach
  void stop() {
    release.countDown();
    cluster.close();
  }

  private String effect(String workflowId, String step) {
    effects.computeIfAbsent(workflowId + "/" + step, k -> new AtomicInteger()).incrementAndGet();
    return step + "-of-" + workflowId;
  }

  private static String expected(String id) {
    return "first-of-" + id + "+second-of-" + id;
  }

  @Test
  void aMergeHalfDoneByADeposedManagementLeaderIsFinishedByTheNextOne() throws Exception {
    for (long n = 1; n <= 3; n++) {
      NodeInspector in = cluster.node(n).inspector();
      ClusterProbe.await("node " + n + " applies the topology", WAIT, () -> in.clusterInfo().getExecutionGroupsCount() == 2);
    }
    List<GroupId> groups = cluster.node(1).inspector().executionGroupIds();
    GroupId into = groups.get(0);
    GroupId from = groups.get(1);
    String intoId = into.uuid().toString();

    List<String> blocked = new ArrayList<>();
    List<String> finished = new ArrayList<>();
    for (int i = 0; i < BLOCKED + FINISHED; i++) {
      boolean blocks = i < BLOCKED;
      WorkflowHandle<String> h = cluster.node(1 + i % 3).start("merge", 1, blocks ? "block" : "go", String.class,
          cluster.node(1).inspector().workflowIdIn(1));
      assertThat(h.executionGroup()).isEqualTo(from.uuid().toString());
      (blocks ? blocked : finished).add(h.workflowId());
    }
    List<String> ids = new ArrayList<>(blocked);
    ids.addAll(finished);
    for (String id : finished) {
      assertThat(cluster.node(1).handle(id, String.class).result(WAIT)).isEqualTo(expected(id));
    }
    awaitOnEveryNode(from, g -> blocked.stream().allMatch(id -> checkpoints(g, id) == 1), "group 1 ran to the latch");

    // The old leader: the management leader, which also leads group 0, so that its own copy into
    // group 0 is answered only once its replica, stalled from before BeginMerge, applies it.
    NodeInspector old = null;
    ClusterProbe.Stall stall = null;
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (old == null) {
      assertThat(System.nanoTime()).as("BeginMerge committed by a management leader that leads group 0").isLessThan(deadline);
      NodeInspector leader = managementLeaderNow();
      moveGroupLeadership(intoId, leader.nodeId());
      ClusterProbe.Stall held = ClusterProbe.applyStall(ClusterProbe.group(cluster, leader.nodeId(), intoId).stateMachine());
      ManagementResult begun;
      try {
        begun = leader.ownsGroup(intoId) ? leader.decide(ManagementCommand.newBuilder()
            .setBeginMerge(BeginMerge.newBuilder().setFromIndex(1).setIntoIndex(0).setReason("test")).build()) : null;
        if (begun == null) {
          // Not committed: this node no longer leads (an election under load). Pick again.
          assertThat(mergeTarget(leader, 1)).as("BeginMerge not committed").isEmpty();
        } else {
          assertThat(begun.getApplied()).as("BeginMerge: %s", begun).isTrue();
        }
      } catch (Throwable t) {
        held.close(); // a replica held at a failure would hold the cluster's close too
        throw t;
      }
      if (begun == null) {
        held.close();
        continue;
      }
      old = leader;
      stall = held;
    }
    long oldId = old.nodeId();
    long newId = LongStream.rangeClosed(1, 3).filter(n -> n != oldId).min().orElseThrow();
    ClusterProbe.Stall stalled = stall;
    long beginTerm;
    try (stalled) {
      beginTerm = ClusterProbe.managementLog(old).stream().filter(e -> e.command().hasBeginMerge())
          .mapToLong(ClusterProbe.ManagementEntry::term).max().orElseThrow();

      // The old leader's merge runs until its copy into group 0 waits on its own stalled replica:
      // sealed, and committed in group 0 (the other two replicas hold every workflow).
      awaitOnEveryNode(from, g -> g.state().sealed(), "every replica of group 1 sealed");
      for (long n = 1; n <= 3; n++) {
        if (n != oldId) {
          GroupRuntime g = ClusterProbe.group(cluster, n, intoId);
          ClusterProbe.await("the old leader's copy applied on node " + n, WAIT,
              () -> ids.stream().allMatch(id -> g.state().get(id) != null));
        }
      }
      assertThat(ids).as("the old leader's replica of group 0 applied nothing")
          .allMatch(id -> ClusterProbe.group(cluster, oldId, intoId).state().get(id) == null);
      assertThat(ClusterProbe.managementLog(old)).as("no FinishMerge yet").noneMatch(e -> e.command().hasFinishMerge());
      for (long n = 1; n <= 3; n++) {
        assertThat(cluster.node(n).inspector().routing().isRetired(from)).as("group 1 retired on node %d", n).isFalse();
      }
      // The page the old leader copied, to propose again once the workflows ran on in group 0.
      QueryReply page = ClusterProbe.group(cluster, newId, from.uuid().toString()).query(Query.newBuilder()
          .setExport(ExportWorkflows.newBuilder().setMaxBytes(1 << 20)).build()).get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertThat(page.getExportedCount()).isEqualTo(ids.size());
      assertThat(page.getMore()).isFalse();

      // Depose the old leader of the management group, then move group 0 away from its stalled replica.
      NodeInspector next = cluster.node(newId).inspector();
      String management = ClusterProbe.managementGroup(next).uuid().toString();
      ClusterProbe.await("node " + newId + " leads the management group", WAIT, () -> {
        try {
          return ClusterProbe.managementTerm(next) != 0 || next.transferGroupLeadership(management, newId, TRANSFER)
              && ClusterProbe.managementTerm(next) != 0;
        } catch (Exception e) {
          return false; // electing: ask again
        }
      });
      long newTerm = ClusterProbe.managementTerm(next);
      assertThat(newTerm).isGreaterThan(beginTerm);
      assertThat(ClusterProbe.managementTerm(old)).isZero();
      moveGroupLeadership(intoId, newId);

      // The new leader finishes the merge while the old one's replica of group 0 is still stalled.
      for (long n = 1; n <= 3; n++) {
        NodeInspector in = cluster.node(n).inspector();
        ClusterProbe.await("node " + n + " sees group 1 retired", WAIT, () -> in.routing().isRetired(from));
      }
      List<ClusterProbe.ManagementEntry> finishes = ClusterProbe.managementLog(next).stream()
          .filter(e -> e.command().hasFinishMerge()).toList();
      assertThat(finishes).as("FinishMerge entries").isNotEmpty();
      assertThat(finishes).as("FinishMerge committed only after the old leader's term %d", beginTerm)
          .allMatch(e -> e.term() > beginTerm);
      assertThat(finishes.getFirst().term()).as("the first FinishMerge is of the new leader's term")
          .isGreaterThanOrEqualTo(newTerm);
      assertThat(finishes).as("no deposed leader's FinishMerge reached the log")
          .allMatch(e -> e.command().getProposerTerm() == e.term());

      // Open the latch while the old replica is still behind: the adopted runs end on the new owner.
      release.countDown();
      for (long n = 1; n <= 3; n++) {
        if (n != oldId) {
          GroupRuntime g = ClusterProbe.group(cluster, n, intoId);
          ClusterProbe.await("every workflow completed on node " + n, WAIT, () -> ids.stream()
              .allMatch(id -> g.state().get(id) != null && g.state().get(id).status() == WorkflowStatusCode.COMPLETED));
        }
      }

      // A deposed leader's page arriving after all that adds nothing and rewinds nothing.
      CommandResult late = next.propose(into, Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder()
          .setFromGroup(from.uuid().toString()).addAllWorkflows(page.getExportedList())).build())
          .get(WAIT.toSeconds(), TimeUnit.SECONDS).result();
      assertThat(late.getPruned()).as("workflows adopted from a late page: %s", late).isZero();
    }

    // The old replica applies its backlog, the old leader's copy and its retry among it.
    awaitOnEveryNode(into, g -> ids.stream().allMatch(id -> g.state().get(id) != null
        && g.state().get(id).status() == WorkflowStatusCode.COMPLETED), "every replica of group 0 has every workflow completed");
    ClusterProbe.await("every replica of group 0 converges", WAIT, () -> LongStream.rangeClosed(1, 3)
        .mapToObj(n -> cluster.node(n).inspector().replicaState(intoId).digest()).distinct().count() == 1);
    Set<String> digests = new HashSet<>();
    for (long n = 1; n <= 3; n++) {
      NodeInspector.ReplicaState s = cluster.node(n).inspector().replicaState(intoId);
      digests.add(s.digest());
      assertThat(s.workflows()).as("workflows in node %d's replica of group 0", n).isEqualTo(ids.size());
    }
    assertThat(digests).hasSize(1);
    long copies = old.loggedCommands(intoId).stream().filter(c -> c.command().hasAdoptWorkflows()
        && c.command().getAdoptWorkflows().getFromGroup().equals(from.uuid().toString())).count();
    assertThat(copies).as("AdoptWorkflows of group 1 in group 0's log (the old leader's, the new one's, the late page)")
        .isGreaterThanOrEqualTo(3);

    for (String id : ids) {
      assertThat(effects.get(id + "/first")).as("first side effect of %s", id).hasValue(1);
      assertThat(effects.get(id + "/second")).as("second side effect of %s", id).hasValue(1);
    }
    for (long n = 1; n <= 3; n++) {
      RaftoralNode node = cluster.node(n);
      assertThat(node.inspector().routing().isRetired(from)).as("group 1 retired on node %d", n).isTrue();
      for (String id : ids) {
        WorkflowInfo w = node.describe(id);
        assertThat(w.status()).as("%s from node %d", id, n).isEqualTo(WorkflowStatus.COMPLETED);
        assertThat(w.executionGroup()).as("%s from node %d", id, n).isEqualTo(intoId);
        assertThat(w.checkpointCount()).as("%s checkpoints", id).isEqualTo(2);
        assertThat(node.handle(id, String.class).result(WAIT)).as("result of %s from node %d", id, n).isEqualTo(expected(id));
      }
      Map<String, WorkflowInfo> listed = listAll(node, 3);
      assertThat(listed.keySet()).as("listed from node %d", n).containsExactlyInAnyOrderElementsOf(ids);
      assertThat(listed.values()).as("listed from node %d", n).allMatch(w -> w.executionGroup().equals(intoId));
    }
  }

  /** The node that leads the management group now (as its own Raft server says, not a node's view of it). */
  private NodeInspector managementLeaderNow() throws InterruptedException {
    NodeInspector[] leader = new NodeInspector[1];
    ClusterProbe.await("a management leader", WAIT, () -> LongStream.rangeClosed(1, 3).anyMatch(n -> {
      NodeInspector in = cluster.node(n).inspector();
      try {
        if (ClusterProbe.managementTerm(in) != 0) {
          leader[0] = in;
          return true;
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      return false;
    }));
    return leader[0];
  }

  /** The merge target of execution group {@code index} in the topology {@code node} applied ("" when none). */
  private static String mergeTarget(NodeInspector node, int index) {
    return node.managementStateMachine().topology().getExecutionGroupsList().stream().filter(g -> g.getIndex() == index)
        .findFirst().orElseThrow().getMergeTarget();
  }

  /** Moves the leadership of an execution group to {@code node} and waits until it owns the group. */
  private void moveGroupLeadership(String group, long node) throws InterruptedException {
    NodeInspector in = cluster.node(node).inspector();
    ClusterProbe.await("node " + node + " owns group " + group, WAIT, () -> {
      if (in.ownsGroup(group)) {
        return true;
      }
      try {
        in.transferGroupLeadership(group, node, TRANSFER);
      } catch (Exception e) {
        // the group is electing: ask again
      }
      return in.ownsGroup(group);
    });
  }

  private static long checkpoints(GroupRuntime g, String id) {
    WorkflowEntry w = g.state().get(id);
    return w == null ? -1 : w.toRecord().getCheckpointCount();
  }

  private void awaitOnEveryNode(GroupId gid, Predicate<GroupRuntime> condition, String what) throws InterruptedException {
    ClusterProbe.await(what, WAIT, () -> LongStream.rangeClosed(1, 3).allMatch(n -> {
      GroupRuntime g = cluster.node(n).inspector().group(gid.uuid().toString());
      return g != null && condition.test(g);
    }));
  }

  /** Every listed workflow by id, through pages of {@code limit}; a workflow listed twice fails. */
  private static Map<String, WorkflowInfo> listAll(RaftoralNode node, int limit) {
    Map<String, WorkflowInfo> seen = new HashMap<>();
    Set<String> twice = new HashSet<>();
    ListQuery q = new ListQuery(Set.of(), null, 0, null, null, limit, null);
    while (true) {
      ListPage page = node.list(q);
      for (WorkflowInfo w : page.workflows()) {
        if (seen.put(w.workflowId(), w) != null) {
          twice.add(w.workflowId());
        }
      }
      if (page.nextPageToken() == null) {
        assertThat(twice).as("workflows listed twice").isEmpty();
        return seen;
      }
      q = new ListQuery(q.statuses(), q.type(), q.version(), q.startedAfter(), q.startedBefore(), q.limit(), page.nextPageToken());
    }
  }
}
