package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.Errors;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** list and terminate through any node, across two execution groups (SPEC §5, §6). */
class ListAndTerminateTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = TestCluster.start(3, null, (id, b) -> b.executionGroups(2)
        .register(WorkflowDefinition.of("echo", 1, String.class, String.class, (ctx, in) -> ctx.checkpoint("v", in)))
        .register(WorkflowDefinition.of("echo", 2, String.class, String.class, (ctx, in) -> in + "!"))
        .register(WorkflowDefinition.of("blocked", 1, String.class, String.class, (ctx, in) -> {
          // Spins until terminated; its next checkpoint call then throws WorkflowTerminatedException.
          ctx.checkpoint("started", in);
          while (!ctx.isTerminated()) {
            Thread.sleep(20);
          }
          return ctx.checkpoint("after", "never committed");
        })));
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static List<WorkflowInfo> all(RaftoralNode node, ListQuery first) {
    List<WorkflowInfo> seen = new ArrayList<>();
    ListQuery q = first;
    while (true) {
      ListPage page = node.list(q);
      seen.addAll(page.workflows());
      if (page.nextPageToken() == null) {
        return seen;
      }
      q = new ListQuery(q.statuses(), q.type(), q.version(), q.startedAfter(), q.startedBefore(), q.limit(), page.nextPageToken());
    }
  }

  @Test
  void listPagesOverBothGroupsReturnEveryMatchExactlyOnce() {
    Instant before = Instant.now().minusSeconds(1);
    Set<String> v1 = new HashSet<>();
    Set<String> groups = new HashSet<>();
    for (int i = 0; i < 40; i++) {
      String id = "list-" + i;
      WorkflowHandle<String> h = cluster.node(1 + i % 3).start("echo", 1 + i % 2, "x" + i, String.class, id);
      h.result(WAIT);
      groups.add(h.executionGroup());
      if (i % 2 == 0) {
        v1.add(id);
      }
    }
    assertThat(groups).as("the ids spread over both groups").hasSize(2);

    for (RaftoralNode node : cluster.nodes) {
      List<WorkflowInfo> echoV1 = all(node, new ListQuery(Set.of(WorkflowStatus.COMPLETED), "echo", 1, before, null, 7, null));
      assertThat(echoV1).extracting(WorkflowInfo::workflowId).containsExactlyInAnyOrderElementsOf(v1).doesNotHaveDuplicates();
      List<WorkflowInfo> echo = all(node, new ListQuery(Set.of(), "echo", 0, before, null, 3, null));
      assertThat(echo).hasSizeGreaterThanOrEqualTo(40).doesNotHaveDuplicates();
      assertThat(echo).isSortedAccordingTo((a, b) -> a.startedAt().equals(b.startedAt())
          ? a.workflowId().compareTo(b.workflowId()) : a.startedAt().compareTo(b.startedAt()));
    }
    assertThat(cluster.node(2).list(new ListQuery(Set.of(), "echo", 1, null, before, 10, null)).workflows()).isEmpty();
  }

  @Test
  void badListArgumentsAreRejectedClearly() {
    assertThatThrownBy(() -> cluster.node(1).list(new ListQuery(Set.of(), null, 0, null, null, 10, "not-a-token")))
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining("page token");
    assertThatThrownBy(() -> new ListQuery(Set.of(), null, 0, null, null, 0, null)).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> new ListQuery(Set.of(), null, 2, null, null, 10, null)).isInstanceOf(Errors.InvalidArgumentException.class);
    Instant now = Instant.now();
    assertThatThrownBy(() -> new ListQuery(Set.of(), null, 0, now, now.minusSeconds(1), 10, null))
        .isInstanceOf(Errors.InvalidArgumentException.class);
  }

  @Test
  void terminateFromAnyNodeStopsTheRunEverywhereAndLeavesFinishedWorkflowsAlone() throws Exception {
    for (int n = 1; n <= 3; n++) {
      String id = "blocked-" + n;
      WorkflowHandle<String> h = cluster.node(1).start("blocked", 1, "in", String.class, id);
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (cluster.node(1).describe(id).checkpointCount() < 1) {
        assertThat(System.nanoTime()).isLessThan(deadline);
        Thread.sleep(20);
      }
      WorkflowInfo terminated = cluster.node(n).terminate(id, "stopped by test on node " + n);
      assertThat(terminated.status()).isEqualTo(WorkflowStatus.TERMINATED);
      for (RaftoralNode node : cluster.nodes) {
        assertThatThrownBy(() -> node.handle(id, String.class).result(WAIT))
            .isInstanceOf(Errors.WorkflowTerminatedException.class).hasMessageContaining("stopped by test on node " + n);
        WorkflowInfo info = node.describe(id);
        assertThat(info.status()).isEqualTo(WorkflowStatus.TERMINATED);
        assertThat(info.checkpointCount()).as("nothing committed after the terminate").isEqualTo(1);
      }
      // Again: nothing changes, the final status is reported.
      assertThat(cluster.node(2).terminate(id, "again").errorMessage()).contains("stopped by test on node " + n);
      assertThat(terminated.executionGroup()).as("terminated where it was started").isEqualTo(h.executionGroup());
    }
    WorkflowHandle<String> done = cluster.node(3).start("echo", 2, "a", String.class, "finished-one");
    assertThat(done.result(WAIT)).isEqualTo("a!");
    assertThat(cluster.node(1).terminate("finished-one", "too late").status()).isEqualTo(WorkflowStatus.COMPLETED);

    assertThatThrownBy(() -> cluster.node(2).terminate("no-such-workflow", "x")).isInstanceOf(Errors.WorkflowNotFoundException.class);
    assertThatThrownBy(() -> cluster.node(2).terminate("finished-one", " ")).isInstanceOf(Errors.InvalidArgumentException.class);
  }
}
