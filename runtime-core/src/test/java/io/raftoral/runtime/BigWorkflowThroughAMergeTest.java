package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.proto.management.BeginMerge;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.raft.GroupId;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A workflow whose checkpoints do not fit one export page (issue 20, 21) moves through a merge
 * driven by the management leader: its checkpoints go ahead of it in chunks (AdoptCheckpoints),
 * then the workflow (continued), which finishes in the target with every value and its history
 * intact. Before, its one page exceeded what a query reply and a Raft entry carry (about 16
 * MiB), so the merge retried it forever with the source sealed. 3 real Ratis nodes,
 * {@code executionGroups(2)}; 3,000 values of 1 KiB (3 MB, three times the merge's page).
 */
class BigWorkflowThroughAMergeTest {
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final int WRITES = 3_000;
  private final CountDownLatch release = new CountDownLatch(1);
  private TestCluster cluster;

  private static String value(int i) {
    return String.format("%04d", i) + "x".repeat(1020);
  }

  @BeforeEach
  void start() {
    cluster = TestCluster.start(3, null, (node, b) -> b.executionGroups(2).requestTimeout(Duration.ofSeconds(20))
        .register(WorkflowDefinition.of("big", 1, Integer.class, Integer.class, (ctx, n) -> {
          int intact = 0;
          for (int i = 0; i < n; i++) {
            if (ctx.checkpoint(i % 2 == 0 ? "even" : "odd", value(i)).equals(value(i))) {
              intact++;
            }
          }
          release.await();
          return intact + ctx.checkpoint("after", 1);
        })));
  }

  @AfterEach
  void stop() {
    release.countDown();
    cluster.close();
  }

  @Test
  void aWorkflowBiggerThanAPageIsCopiedInChunksAndFinishesInTheTarget() throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    for (long n = 1; n <= 3; n++) {
      while (cluster.node(n).inspector().clusterInfo().getExecutionGroupsCount() < 2) {
        assertThat(System.nanoTime()).as("node %d applies the topology", n).isLessThan(deadline);
        Thread.sleep(50);
      }
    }
    NodeInspector node1 = cluster.node(1).inspector();
    List<GroupId> groups = node1.executionGroupIds();
    GroupId from = groups.get(1);
    String id = cluster.node(2).start("big", 1, WRITES, Integer.class, node1.workflowIdIn(1)).workflowId();
    while (cluster.node(1).describe(id).checkpointCount() < WRITES) {
      assertThat(System.nanoTime()).as("every value committed").isLessThan(deadline);
      Thread.sleep(50);
    }
    List<HistoryEntry> before = all(id);
    assertThat(before).hasSize(WRITES);

    NodeInspector leader = ClusterProbe.managementLeader(cluster, WAIT);
    ManagementResult begun = leader.decide(ManagementCommand.newBuilder()
        .setBeginMerge(BeginMerge.newBuilder().setFromIndex(1).setIntoIndex(0).setReason("test")).build());
    assertThat(begun.getApplied()).as("BeginMerge: %s", begun).isTrue();
    for (long n = 1; n <= 3; n++) {
      NodeInspector in = cluster.node(n).inspector();
      while (!in.routing().isRetired(from)) {
        assertThat(System.nanoTime()).as("node %d sees group 1 retired", n).isLessThan(deadline);
        Thread.sleep(50);
      }
    }

    // The target's log: the workflow's values came in chunks of about one page, then the workflow.
    GroupId into = groups.get(0);
    List<io.raftoral.proto.raft.Command> copies = node1.loggedCommands(into.uuid().toString()).stream()
        .map(NodeInspector.LoggedCommand::command).filter(c -> c.hasAdoptCheckpoints() || c.hasAdoptWorkflows()).toList();
    assertThat(copies.stream().filter(io.raftoral.proto.raft.Command::hasAdoptCheckpoints).count()).isGreaterThanOrEqualTo(2);
    assertThat(copies).allSatisfy(c -> assertThat(c.getSerializedSize()).isLessThan((int) (1.5 * GroupMerge.PAGE_BYTES)));
    assertThat(copies.getLast().hasAdoptWorkflows()).isTrue();
    assertThat(copies.getLast().getAdoptWorkflows().getWorkflows(0).getContinued()).isTrue();

    release.countDown();
    assertThat(cluster.node(3).handle(id, Integer.class).result(WAIT)).isEqualTo(WRITES + 1);
    List<HistoryEntry> after = all(id);
    assertThat(after).hasSize(WRITES + 1);
    assertThat(after.subList(0, WRITES)).as("the adopted history, as the source recorded it").isEqualTo(before);
    for (long n = 1; n <= 3; n++) {
      assertThat(cluster.node(n).describe(id).checkpointCount()).isEqualTo(WRITES + 1);
    }
  }

  private List<HistoryEntry> all(String id) {
    List<HistoryEntry> out = new ArrayList<>();
    HistoryQuery q = new HistoryQuery(null, 1000, null);
    while (true) {
      HistoryPage page = cluster.node(1).history(id, q);
      out.addAll(page.entries());
      if (page.nextPageToken() == null) {
        return out;
      }
      q = q.after(page.nextPageToken());
    }
  }
}
