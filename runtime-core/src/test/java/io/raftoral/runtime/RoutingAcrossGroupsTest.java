package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.TestCluster;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.Errors;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowIds;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Placement and lookup across execution groups (issue 20): a generated id carries its group's
 * index and is found from any node; a caller-chosen id is claimed once through the management
 * group, so concurrent starts of it from several nodes make one run; starts spread over the
 * groups by load; list pages over the groups return every workflow once. 3 nodes with
 * {@code executionGroups(2)} (both bootstrap groups over the same members).
 */
class RoutingAcrossGroupsTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
  private static TestCluster cluster;
  private static List<String> groups;

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(3, null, (id, b) -> b.executionGroups(2).requestTimeout(Duration.ofSeconds(20))
        .register(WorkflowDefinition.of("echo", 1, String.class, String.class,
            (ctx, in) -> ctx.checkpointCompute("once", String.class, () -> {
              runs.computeIfAbsent(ctx.workflowId(), k -> new AtomicInteger()).incrementAndGet();
              return in;
            }))));
    long deadline = System.nanoTime() + WAIT.toNanos();
    for (long n = 1; n <= 3; n++) {
      while (cluster.node(n).inspector().clusterInfo().getExecutionGroupsCount() < 2) {
        assertThat(System.nanoTime()).as("node %d applies the topology", n).isLessThan(deadline);
        Thread.sleep(50);
      }
    }
    groups = cluster.node(1).inspector().executionGroups();
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  void generatedIdsCarryTheirGroupAndStartsSpreadOverBothGroups() {
    int starts = 24;
    Map<String, Integer> perGroup = new HashMap<>();
    List<WorkflowHandle<String>> handles = new ArrayList<>();
    for (int i = 0; i < starts; i++) {
      WorkflowHandle<String> h = cluster.node(1 + i % 3).start("echo", 1, "gen-" + i, String.class);
      int index = WorkflowIds.groupOf(h.workflowId()).orElse(-1);
      assertThat(index).as("index carried by %s", h.workflowId()).isBetween(0, 1);
      assertThat(h.executionGroup()).as("group of %s", h.workflowId()).isEqualTo(groups.get(index));
      perGroup.merge(h.executionGroup(), 1, Integer::sum);
      handles.add(h);
    }
    for (int i = 0; i < starts; i++) {
      WorkflowHandle<String> h = handles.get(i);
      for (long n = 1; n <= 3; n++) {
        assertThat(cluster.node(n).handle(h.workflowId(), String.class).result(WAIT)).isEqualTo("gen-" + i);
        assertThat(cluster.node(n).inspector().executionGroupOf(h.workflowId())).isEqualTo(h.executionGroup());
      }
      assertThat(runs.get(h.workflowId())).as("runs of %s", h.workflowId()).hasValue(1);
    }
    // Each node places its starts on the group it placed fewer in (no load report changes while
    // they are this short), so neither group gets more than half plus one per node.
    assertThat(perGroup.keySet()).as("groups that got starts").containsExactlyInAnyOrderElementsOf(groups);
    for (String g : groups) {
      assertThat(perGroup.get(g)).as("starts placed in %s of %d", g, starts).isBetween(starts / 2 - 3, starts / 2 + 3);
    }
  }

  @Test
  void anExplicitIdStartedConcurrentlyFromEveryNodeRunsOnce() throws Exception {
    for (int round = 0; round < 8; round++) {
      String id = "same-" + round;
      List<CompletableFuture<WorkflowHandle<String>>> starts = new ArrayList<>();
      for (long n = 1; n <= 3; n++) {
        long node = n;
        starts.add(CompletableFuture.supplyAsync(() -> cluster.node(node).start("echo", 1, "in", String.class, id)));
      }
      Set<String> placedIn = new HashSet<>();
      for (var f : starts) {
        WorkflowHandle<String> h = f.get();
        assertThat(h.workflowId()).isEqualTo(id);
        placedIn.add(h.executionGroup());
        assertThat(h.result(WAIT)).isEqualTo("in");
      }
      assertThat(placedIn).as("groups the starts of %s reported", id).hasSize(1);
      assertThat(runs.get(id)).as("runs of %s", id).hasValue(1);
      for (long n = 1; n <= 3; n++) {
        long node = n;
        assertThat(cluster.node(n).describe(id).executionGroup()).isEqualTo(placedIn.iterator().next());
        assertThatThrownBy(() -> cluster.node(node).start("echo", 1, "another input", String.class, id))
            .isInstanceOf(Errors.AlreadyExistsException.class);
      }
      long copies = allPages(cluster.node(2 + round % 2), 5).stream().filter(w -> w.workflowId().equals(id)).count();
      assertThat(copies).as("listed copies of %s", id).isEqualTo(1);
    }
  }

  @Test
  void idsOfTheGeneratedFormNeverMisroute() {
    // An id of the form g<index>-<uuid> from the caller (a client library mints them) goes to the group it names.
    String inOne = WorkflowIds.mint(1);
    assertThat(cluster.node(3).start("echo", 1, "x", String.class, inOne).executionGroup()).isEqualTo(groups.get(1));
    for (long n = 1; n <= 3; n++) {
      assertThat(cluster.node(n).describe(inOne).executionGroup()).isEqualTo(groups.get(1));
    }
    // One naming a group the cluster does not have is refused, and is nowhere.
    String foreign = WorkflowIds.mint(7);
    assertThatThrownBy(() -> cluster.node(2).start("echo", 1, "y", String.class, foreign))
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining("names execution group 7");
    assertThatThrownBy(() -> cluster.node(1).describe(foreign)).isInstanceOf(Errors.WorkflowNotFoundException.class);
    // An id that only looks similar (upper case) is a caller-chosen id: claimed, found through its claim.
    String lookalike = WorkflowIds.mint(0).toUpperCase();
    String placed = cluster.node(2).start("echo", 1, "y", String.class, lookalike).executionGroup();
    for (long n = 1; n <= 3; n++) {
      assertThat(cluster.node(n).describe(lookalike).executionGroup()).isEqualTo(placed);
    }
    // A generated id's uuid under the other group's index is not that workflow.
    WorkflowHandle<String> generated = cluster.node(1).start("echo", 1, "z", String.class);
    int index = WorkflowIds.groupOf(generated.workflowId()).getAsInt();
    String twin = "g" + (1 - index) + generated.workflowId().substring(generated.workflowId().indexOf('-'));
    assertThatThrownBy(() -> cluster.node(2).describe(twin)).isInstanceOf(Errors.WorkflowNotFoundException.class);
    assertThatThrownBy(() -> cluster.node(2).describe("g99-" + UUID.randomUUID())).isInstanceOf(Errors.WorkflowNotFoundException.class);
    assertThatThrownBy(() -> cluster.node(3).terminate("never-started", "x")).isInstanceOf(Errors.WorkflowNotFoundException.class);
  }

  @Test
  void listPagesOverBothGroupsReturnEachWorkflowOnceInOrder() {
    Set<String> started = new HashSet<>();
    for (int i = 0; i < 30; i++) {
      WorkflowHandle<String> h = i % 2 == 0
          ? cluster.node(1 + i % 3).start("echo", 1, "l" + i, String.class)
          : cluster.node(1 + i % 3).start("echo", 1, "l" + i, String.class, "listed-" + i);
      started.add(h.workflowId());
    }
    List<WorkflowInfo> all = allPages(cluster.node(2), 7);
    Set<String> ids = new HashSet<>();
    for (WorkflowInfo w : all) {
      assertThat(ids.add(w.workflowId())).as("%s listed once", w.workflowId()).isTrue();
    }
    assertThat(ids).containsAll(started);
    for (int i = 1; i < all.size(); i++) {
      WorkflowInfo a = all.get(i - 1);
      WorkflowInfo b = all.get(i);
      assertThat(a.startedAt().isBefore(b.startedAt()) || (a.startedAt().equals(b.startedAt()) && a.workflowId().compareTo(b.workflowId()) < 0))
          .as("%s before %s", a.workflowId(), b.workflowId()).isTrue();
    }
    assertThat(all.stream().map(WorkflowInfo::executionGroup).distinct().toList()).containsExactlyInAnyOrderElementsOf(groups);
  }

  private static List<WorkflowInfo> allPages(io.raftoral.api.RaftoralNode node, int limit) {
    List<WorkflowInfo> seen = new ArrayList<>();
    ListQuery q = new ListQuery(Set.of(), null, 0, null, null, limit, null);
    while (true) {
      ListPage page = node.list(q);
      assertThat(page.workflows().size()).isLessThanOrEqualTo(limit);
      seen.addAll(page.workflows());
      if (page.nextPageToken() == null) {
        return seen;
      }
      q = new ListQuery(q.statuses(), q.type(), q.version(), q.startedAfter(), q.startedBefore(), q.limit(), page.nextPageToken());
    }
  }
}
