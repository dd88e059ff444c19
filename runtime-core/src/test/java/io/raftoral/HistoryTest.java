package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.RaftoralNode;
import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.workflow.WorkflowDefinition;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint history on real nodes: three in-process nodes over sockets, with data directories.
 * What each entry says (value, time, owner node and term), both orders, paging, the same history
 * after every node restarted, new owners after a failover, and the typed errors.
 */
class HistoryTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final int STEPS = 30;

  @TempDir Path tmp;

  /** STEPS checkpoints over three keys: step i writes i as the (i / 3)-th value of key "k(i % 3)". */
  private static WorkflowDefinition<Integer, Integer> steps() {
    return WorkflowDefinition.of("steps", 1, Integer.class, Integer.class, (ctx, n) -> {
      int sum = 0;
      for (int i = 0; i < n; i++) {
        sum += ctx.checkpoint("k" + (i % 3), i);
      }
      return sum;
    });
  }

  /** One key, one value per step, slow enough for a leadership move in the middle. */
  private static WorkflowDefinition<Integer, Integer> slow() {
    return WorkflowDefinition.of("slow", 1, Integer.class, Integer.class, (ctx, n) -> {
      for (int i = 0; i < n; i++) {
        ctx.checkpoint("s", i);
        Thread.sleep(100);
      }
      return n;
    });
  }

  @Test
  void historyReadsEveryKeyAndOneKeyInPagesAndIsTheSameAfterARestart() throws Exception {
    Map<Long, String> members = TestCluster.freeAddresses(3);
    List<HistoryEntry> before;
    String id = "history-steps";
    Instant from = Instant.now();
    try (Nodes nodes = Nodes.start(members, tmp)) {
      nodes.makeOwner(1, id);
      assertThat(nodes.node(2).start("steps", 1, STEPS, Integer.class, id).result(TIMEOUT)).isEqualTo(STEPS * (STEPS - 1) / 2);
      Instant to = Instant.now();
      String group = nodes.node(1).handle(id, Integer.class).executionGroup();
      long ownerTerm = nodes.node(1).inspector().replicaOwner(group).term();

      before = nodes.node(3).history(id);

      assertThat(before).hasSize(STEPS);
      assertThat(before).allSatisfy(e -> {
        assertThat(e.ownerNode()).as("owner of %s", e).isEqualTo(1);
        assertThat(e.ownerTerm()).as("term of %s", e).isEqualTo(ownerTerm);
        assertThat(e.committedAt()).as("committed at of %s", e).isBetween(from, to);
        assertThat(nodes.node(3).decode(e, Integer.class)).isEqualTo((int) e.seq() * 3 + Integer.parseInt(e.key().substring(1)));
      });
      // Commit order: step i wrote i, so every key's history reads 0, 1, ..., STEPS - 1, in
      // time order too (one owner, one clock), though pipelined steps share milliseconds.
      assertThat(before).extracting(e -> nodes.node(3).decode(e, Integer.class))
          .containsExactlyElementsOf(java.util.stream.IntStream.range(0, STEPS).boxed().toList());
      assertThat(before).extracting(HistoryEntry::committedAt).isSorted();
      Map<String, List<HistoryEntry>> byKey = before.stream().collect(Collectors.groupingBy(HistoryEntry::key));
      assertThat(byKey.keySet()).containsExactlyInAnyOrder("k0", "k1", "k2");
      byKey.values().forEach(entries -> {
        assertThat(entries).extracting(HistoryEntry::seq).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
        assertThat(entries).extracting(HistoryEntry::committedAt).isSorted();
      });

      List<HistoryEntry> k1 = nodes.node(1).history(id, "k1");
      assertThat(k1).extracting(HistoryEntry::seq).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
      assertThat(k1).isEqualTo(byKey.get("k1"));

      // Pages of 7 (all keys) and of 3 (one key) join into the whole history: no gap, no repeat.
      List<HistoryPage> allPages = pages(nodes.node(2), id, new HistoryQuery(null, 7, null));
      assertThat(allPages).hasSize(5);
      assertThat(allPages.stream().flatMap(p -> p.entries().stream()).toList()).isEqualTo(before);
      List<HistoryPage> keyPages = pages(nodes.node(2), id, new HistoryQuery("k1", 3, null));
      assertThat(keyPages).hasSize(4);
      assertThat(keyPages.stream().flatMap(p -> p.entries().stream()).toList()).isEqualTo(k1);
      assertThat(nodes.node(2).history(id, new HistoryQuery("no-such-key", 10, null)).entries()).isEmpty();

      List<String> digests = nodes.all().stream().map(n -> n.inspector().replicaState(group).digest()).distinct().toList();
      assertThat(digests).as("replica digests").hasSize(1);

      // Typed errors, and the nodes go on answering.
      assertThatThrownBy(() -> nodes.node(1).history("no-such-workflow")).isInstanceOf(Errors.WorkflowNotFoundException.class);
      assertThatThrownBy(() -> nodes.node(1).history("no-such-workflow", "k1")).isInstanceOf(Errors.WorkflowNotFoundException.class);
      assertThatThrownBy(() -> new HistoryQuery(null, 0, null)).isInstanceOf(Errors.InvalidArgumentException.class);
      assertThatThrownBy(() -> new HistoryQuery(null, HistoryQuery.MAX_LIMIT + 1, null)).isInstanceOf(Errors.InvalidArgumentException.class);
      assertThatThrownBy(() -> new HistoryQuery(null, 10, "not a token")).isInstanceOf(Errors.InvalidArgumentException.class)
          .hasMessageContaining("malformed page token");
      String allKeysToken = allPages.getFirst().nextPageToken();
      assertThatThrownBy(() -> new HistoryQuery("k1", 10, allKeysToken)).isInstanceOf(Errors.InvalidArgumentException.class)
          .hasMessageContaining("belongs to the history of every key");
      assertThatThrownBy(() -> nodes.node(1).history(id, "")).isInstanceOf(Errors.InvalidArgumentException.class);
      assertThatThrownBy(() -> nodes.node(1).history(" ")).isInstanceOf(Errors.InvalidArgumentException.class);
      assertThat(nodes.node(1).history(id, HistoryQuery.allKeys().after(allKeysToken)).entries()).hasSize(STEPS - 7);
    }

    try (Nodes restarted = Nodes.start(members, tmp)) {
      assertThat(restarted.node(2).history(id)).isEqualTo(before);
      assertThat(restarted.node(3).history(id, "k2")).isEqualTo(before.stream().filter(e -> e.key().equals("k2")).toList());
    }
  }

  @Test
  void afterAnOwnerFailoverNewEntriesCarryTheNewOwnerAndTerm() throws Exception {
    String id = "history-failover";
    int steps = 40;
    try (Nodes nodes = Nodes.start(TestCluster.freeAddresses(3), tmp)) {
      nodes.makeOwner(1, id);
      var h = nodes.node(1).start("slow", 1, steps, Integer.class, id);
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (nodes.node(3).history(id).size() < 3) {
        assertThat(System.nanoTime()).as("three steps committed in time").isLessThan(deadline);
        Thread.sleep(20);
      }
      long firstTerm = nodes.node(1).inspector().replicaOwner(h.executionGroup()).term();

      // Asked through node 3, which does not lead: the leader steps down at once, mid-run.
      assertThat(nodes.node(3).inspector().transferLeadership(id, 2, Duration.ofSeconds(10))).isTrue();
      assertThat(nodes.node(3).handle(id, Integer.class).result(TIMEOUT)).isEqualTo(steps);

      List<HistoryEntry> history = nodes.node(3).history(id, "s");
      assertThat(history).extracting(HistoryEntry::seq).containsExactlyElementsOf(
          java.util.stream.LongStream.range(0, steps).boxed().toList());
      assertThat(history.getFirst().ownerNode()).isEqualTo(1);
      assertThat(history.getFirst().ownerTerm()).isEqualTo(firstTerm);
      HistoryEntry last = history.getLast();
      assertThat(last.ownerNode()).isEqualTo(2);
      assertThat(last.ownerTerm()).isGreaterThan(firstTerm);
      // Node 1's entries come first; once node 2 owns, every later entry is its (terms only grow).
      int firstOfNode2 = history.indexOf(history.stream().filter(e -> e.ownerNode() == 2).findFirst().orElseThrow());
      assertThat(history.subList(0, firstOfNode2)).allSatisfy(e -> assertThat(e.ownerNode()).isEqualTo(1));
      assertThat(history.subList(firstOfNode2, steps)).allSatisfy(e -> {
        assertThat(e.ownerNode()).isEqualTo(2);
        assertThat(e.ownerTerm()).isEqualTo(last.ownerTerm());
      });
      assertThat(history).extracting(HistoryEntry::committedAt).isSorted();
    }
  }

  private static List<HistoryPage> pages(RaftoralNode node, String id, HistoryQuery first) {
    List<HistoryPage> pages = new ArrayList<>();
    HistoryQuery q = first;
    while (true) {
      HistoryPage page = node.history(id, q);
      pages.add(page);
      if (page.nextPageToken() == null) {
        return pages;
      }
      q = q.after(page.nextPageToken());
    }
  }

  /** Three nodes on fixed addresses and data directories, so they can be started again as they were. */
  private record Nodes(List<RaftoralNode> all) implements AutoCloseable {
    static Nodes start(Map<Long, String> members, Path dataRoot) throws InterruptedException {
      RaftoralNode[] started = new RaftoralNode[members.size()];
      List<Thread> starters = new ArrayList<>();
      for (long id = 1; id <= members.size(); id++) {
        long nodeId = id;
        starters.add(Thread.ofPlatform().start(() -> {
          started[(int) nodeId - 1] = RaftoralNode.builder().nodeId(nodeId).members(members)
              .dataDirectory(dataRoot.resolve("node-" + nodeId)).electionTimeout(Duration.ofMillis(500))
              .register(steps()).register(slow()).start();
          started[(int) nodeId - 1].inspector().holdLeadersInPlace(true); // the tests move leaders themselves
        }));
      }
      for (Thread t : starters) {
        t.join();
      }
      Nodes nodes = new Nodes(java.util.Arrays.asList(started));
      if (nodes.all.contains(null)) {
        nodes.close();
        throw new AssertionError("a node did not start (see its log)");
      }
      return nodes;
    }

    RaftoralNode node(long id) {
      return all.get((int) id - 1);
    }

    void makeOwner(long node, String workflowId) throws Exception {
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (!node(node).inspector().ownsGroupOf(workflowId)) {
        try {
          node(node).inspector().transferLeadership(workflowId, node, Duration.ofSeconds(5));
        } catch (java.io.IOException e) {
          // the group is electing: ask again
        }
        assertThat(System.nanoTime()).as("node %d owns the group of %s in time", node, workflowId).isLessThan(deadline);
        Thread.sleep(50);
      }
    }

    @Override
    public void close() {
      all.stream().filter(java.util.Objects::nonNull).forEach(RaftoralNode::close);
    }
  }
}
