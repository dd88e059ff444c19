package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.RaftoralNode;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** list over two execution groups and 10,000 workflows: every match exactly once across pages. */
class ListManyTest {
  private static final int COUNT = 10_000;

  private record Started(String id, String type, int version, boolean failed, Instant startedAt) {}

  private static List<WorkflowInfo> allPages(RaftoralNode node, ListQuery first, Set<String> tokens) {
    List<WorkflowInfo> seen = new ArrayList<>();
    ListQuery q = first;
    while (true) {
      ListPage page = node.list(q);
      assertThat(page.workflows().size()).isLessThanOrEqualTo(q.limit());
      seen.addAll(page.workflows());
      if (page.nextPageToken() == null) {
        return seen;
      }
      assertThat(tokens.add(page.nextPageToken())).as("page tokens never repeat").isTrue();
      q = new ListQuery(q.statuses(), q.type(), q.version(), q.startedAfter(), q.startedBefore(), q.limit(), page.nextPageToken());
    }
  }

  private static void assertExactlyOnce(RaftoralNode node, ListQuery query, List<Started> all, Predicate<Started> matches) {
    List<WorkflowInfo> seen = allPages(node, query, new HashSet<>());
    Set<String> expected = new HashSet<>();
    all.stream().filter(matches).forEach(s -> expected.add(s.id()));
    assertThat(seen).extracting(WorkflowInfo::workflowId).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void everyMatchExactlyOnceAcrossPages() throws Exception {
    try (TestCluster c = TestCluster.start(1, null, (id, b) -> b.executionGroups(2)
        .register(WorkflowDefinition.of("a", 1, Integer.class, Integer.class, (ctx, n) -> {
          if (n % 7 == 0) {
            throw new IllegalArgumentException("multiple of 7");
          }
          return n;
        }))
        .register(WorkflowDefinition.of("a", 2, Integer.class, Integer.class, (ctx, n) -> n))
        .register(WorkflowDefinition.of("b", 1, Integer.class, Integer.class, (ctx, n) -> n)))) {
      RaftoralNode node = c.node(1);
      List<Started> all = new ArrayList<>();
      Set<String> groups = ConcurrentHashMap.newKeySet();
      try (ExecutorService starters = Executors.newFixedThreadPool(64)) {
        List<Future<Started>> futures = new ArrayList<>();
        for (int i = 0; i < COUNT; i++) {
          int n = i;
          futures.add(starters.submit(() -> {
            String type = n % 3 == 2 ? "b" : "a";
            int version = type.equals("a") && n % 3 == 1 ? 2 : 1;
            var h = node.start(type, version, n, Integer.class, "wf-" + n);
            groups.add(h.executionGroup());
            WorkflowInfo info = h.describe();
            return new Started(h.workflowId(), type, version, type.equals("a") && version == 1 && n % 7 == 0, info.startedAt());
          }));
        }
        for (Future<Started> f : futures) {
          all.add(f.get());
        }
      }
      assertThat(groups).hasSize(2);
      for (Started s : all) {
        WorkflowStatus st = node.handle(s.id(), Integer.class).describe().status();
        if (st == WorkflowStatus.RUNNING) {
          try {
            node.handle(s.id(), Integer.class).result(Duration.ofSeconds(60));
          } catch (RuntimeException expectedForFailures) {
            // FAILED ones throw; either way the workflow is final now
          }
        }
      }

      Instant middle = all.get(COUNT / 2).startedAt();
      assertExactlyOnce(node, new ListQuery(Set.of(), null, 0, null, null, 1000, null), all, s -> true);
      assertExactlyOnce(node, new ListQuery(Set.of(WorkflowStatus.FAILED), "a", 1, null, null, 333, null), all, Started::failed);
      assertExactlyOnce(node, new ListQuery(Set.of(WorkflowStatus.COMPLETED), "a", 0, null, null, 257, null), all,
          s -> s.type().equals("a") && !s.failed());
      assertExactlyOnce(node, new ListQuery(Set.of(), "b", 0, middle, null, 100, null), all,
          s -> s.type().equals("b") && !s.startedAt().isBefore(middle));
      assertExactlyOnce(node, new ListQuery(Set.of(WorkflowStatus.COMPLETED, WorkflowStatus.FAILED), null, 0, null, middle, 499, null), all,
          s -> s.startedAt().isBefore(middle));
      assertExactlyOnce(node, new ListQuery(Set.of(WorkflowStatus.RUNNING), null, 0, null, null, 10, null), all, s -> false);
    }
  }
}
