package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.TestCluster;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.Errors;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.management.BeginMerge;
import io.raftoral.proto.management.FinishMerge;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.raft.AdoptWorkflows;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.ExportWorkflows;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.SealGroup;
import io.raftoral.raft.GroupId;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Client calls across a merge (issue 20): the calls follow their workflows from a sealed group
 * into its merge target. 3 real Ratis nodes, {@code executionGroups(2)}; workflows in group 1
 * block on a latch; awaits begin on every node; then the merge runs step by step as the
 * management leader runs it (BeginMerge, SealGroup, export and adopt, FinishMerge), driven here
 * so that the calls can be made between the steps: while both groups hold the records, list
 * shows each once, a repeated explicit start returns the existing run, a termination reaches the
 * adopted copy. After the latch opens every await ends with the target's result, and every id is
 * found in the target from every node.
 */
class RoutingThroughAMergeTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private final CountDownLatch release = new CountDownLatch(1);
  private final Map<String, AtomicInteger> effects = new ConcurrentHashMap<>();
  private TestCluster cluster;

  @BeforeEach
  void start() {
    cluster = TestCluster.start(3, null, (node, b) -> b.executionGroups(2).requestTimeout(Duration.ofSeconds(20))
        .register(WorkflowDefinition.of("merge", 1, String.class, String.class, (ctx, in) -> {
          String first = ctx.checkpointCompute("first", String.class, () -> effect(ctx.workflowId(), "first"));
          release.await();
          String second = ctx.checkpointCompute("second", String.class, () -> effect(ctx.workflowId(), "second"));
          return in + ":" + first + "+" + second;
        })));
  }

  @AfterEach
  void stop() {
    release.countDown();
    cluster.close();
  }

  private String effect(String workflowId, String step) {
    effects.computeIfAbsent(workflowId + "/" + step, k -> new AtomicInteger()).incrementAndGet();
    return step;
  }

  @Test
  void callsFollowTheirWorkflowsIntoTheMergeTarget() throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    for (long n = 1; n <= 3; n++) {
      while (cluster.node(n).inspector().clusterInfo().getExecutionGroupsCount() < 2) {
        assertThat(System.nanoTime()).as("node %d applies the topology", n).isLessThan(deadline);
        Thread.sleep(50);
      }
    }
    NodeInspector node1 = cluster.node(1).inspector();
    List<GroupId> groups = node1.executionGroupIds();
    GroupId into = groups.get(0);
    GroupId from = groups.get(1);

    // Workflows in group 1: ids naming it, and caller-chosen ids claimed there by load.
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ids.add(cluster.node(1 + i).start("merge", 1, "named", String.class, node1.workflowIdIn(1)).workflowId());
    }
    List<String> claimed = new ArrayList<>();
    for (int i = 0; claimed.size() < 3 && i < 60; i++) {
      WorkflowHandle<String> h = cluster.node(1 + i % 3).start("merge", 1, "claimed", String.class, "order-" + i);
      if (h.executionGroup().equals(from.uuid().toString())) {
        claimed.add(h.workflowId());
      }
    }
    assertThat(claimed).as("caller-chosen ids placed in group 1").hasSize(3);
    String terminated = claimed.removeLast();
    ids.addAll(claimed);
    awaitFirstSteps(ids, terminated);

    // Awaits begun before the merge, on every node (each waits on its replica of group 1).
    Map<String, List<CompletableFuture<String>>> awaits = new HashMap<>();
    for (String id : ids) {
      for (long n = 1; n <= 3; n++) {
        long node = n;
        awaits.computeIfAbsent(id, k -> new ArrayList<>())
            .add(CompletableFuture.supplyAsync(() -> cluster.node(node).handle(id, String.class).result(WAIT)));
      }
    }

    // The merge, step by step.
    NodeInspector leader = ClusterProbe.managementLeader(cluster, WAIT);
    ManagementResult begun = leader.decide(ManagementCommand.newBuilder()
        .setBeginMerge(BeginMerge.newBuilder().setFromIndex(1).setIntoIndex(0).setReason("test")).build());
    assertThat(begun).isNotNull();
    assertThat(begun.getApplied()).as("BeginMerge: %s", begun).isTrue();
    node1.propose(from, Command.newBuilder().setSealGroup(SealGroup.newBuilder().setMergeTarget(into.uuid().toString())).build())
        .get(20, TimeUnit.SECONDS);
    String cursor = "";
    QueryReply page;
    do {
      page = node1.group(from.uuid().toString()).query(Query.newBuilder().setExport(ExportWorkflows.newBuilder()
          .setAfterWorkflowId(cursor).setMaxBytes(1 << 20)).build()).get(20, TimeUnit.SECONDS);
      node1.propose(into, Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder()
          .setFromGroup(from.uuid().toString()).addAllWorkflows(page.getExportedList())).build()).get(20, TimeUnit.SECONDS);
      if (page.getExportedCount() > 0) {
        cursor = page.getExported(page.getExportedCount() - 1).getRecord().getWorkflowId();
      }
    } while (page.getMore());

    // Both groups hold the records now: the calls see one workflow each, in the target.
    Map<String, WorkflowInfo> listed = listAll(cluster.node(2), 2);
    for (String id : ids) {
      assertThat(listed.get(id)).as("%s listed", id).isNotNull();
      assertThat(listed.get(id).executionGroup()).as("%s listed from the target", id).isEqualTo(into.uuid().toString());
    }
    String again = cluster.node(3).start("merge", 1, "claimed", String.class, claimed.getFirst()).workflowId();
    assertThat(again).isEqualTo(claimed.getFirst());
    assertThatThrownBy(() -> cluster.node(2).start("merge", 1, "other", String.class, claimed.getFirst()))
        .isInstanceOf(Errors.AlreadyExistsException.class);
    WorkflowInfo stopped = cluster.node(2).terminate(terminated, "stopped during the merge");
    assertThat(stopped.status()).isEqualTo(WorkflowStatus.TERMINATED);
    assertThat(stopped.executionGroup()).isEqualTo(into.uuid().toString());
    // A new start during the merge goes to the group still open.
    assertThat(cluster.node(1).start("merge", 1, "new", String.class).executionGroup()).isEqualTo(into.uuid().toString());

    ManagementResult finished = ClusterProbe.managementLeader(cluster, WAIT).decide(ManagementCommand.newBuilder()
        .setFinishMerge(FinishMerge.newBuilder().setFromIndex(1)).build());
    assertThat(finished).isNotNull();
    for (long n = 1; n <= 3; n++) {
      NodeInspector in = cluster.node(n).inspector();
      long d = System.nanoTime() + WAIT.toNanos();
      while (!in.routing().isRetired(from)) {
        assertThat(System.nanoTime()).as("node %d sees group 1 retired", n).isLessThan(d);
        Thread.sleep(20);
      }
    }

    release.countDown(); // after FinishMerge: the runs end in group 0, awaited from where they began
    for (String id : ids) {
      String input = id.startsWith("order-") ? "claimed" : "named";
      for (CompletableFuture<String> a : awaits.get(id)) {
        assertThat(a.get(WAIT.toSeconds(), TimeUnit.SECONDS)).as("await of %s", id).isEqualTo(input + ":first+second");
      }
      for (long n = 1; n <= 3; n++) {
        assertThat(cluster.node(n).describe(id).executionGroup()).isEqualTo(into.uuid().toString());
        assertThat(cluster.node(n).inspector().executionGroupOf(id)).isEqualTo(into.uuid().toString());
      }
      assertThat(effects.get(id + "/first")).as("first side effect of %s", id).hasValue(1);
      assertThat(effects.get(id + "/second")).as("second side effect of %s", id).hasValue(1);
    }
    assertThatThrownBy(() -> cluster.node(1).handle(terminated, String.class).result(WAIT))
        .isInstanceOf(Errors.WorkflowTerminatedException.class);
    Map<String, WorkflowInfo> after = listAll(cluster.node(3), 3);
    assertThat(after.keySet()).containsAll(ids).contains(terminated);
  }

  private void awaitFirstSteps(List<String> ids, String other) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    List<String> all = new ArrayList<>(ids);
    all.add(other);
    for (String id : all) {
      while (cluster.node(1).describe(id).checkpointCount() < 1) {
        assertThat(System.nanoTime()).as("%s ran its first step", id).isLessThan(deadline);
        Thread.sleep(20);
      }
    }
  }

  /** Every listed workflow by id, through pages of {@code limit}; a workflow listed twice fails. */
  private static Map<String, WorkflowInfo> listAll(io.raftoral.api.RaftoralNode node, int limit) {
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
