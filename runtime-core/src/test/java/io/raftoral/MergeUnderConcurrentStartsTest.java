package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Rule (SPEC §2, §3, §8; issue 20): a caller-chosen id starts one run in the whole cluster, from
 * whichever node and however often it is started, also while the group it would land in is being
 * merged; a workflow moved by a merge can be terminated (§6) and awaited (§5) from a node outside
 * its group.
 *
 * <p>Scenario: six in-process nodes grown by joins end as two groups of 3. Four long workflows
 * are placed in the group without node 1 (the one to be terminated runs until it is); another
 * member of that group is closed, so the group falls below the minimum with no donor and is
 * merged into the other. From that moment until one group of 5 is left, the five live nodes each
 * start the ids race-0, race-1, ... in the same order (every id is started from five nodes at
 * about the same time; a failed start is retried). Once the merge has begun, node 1 terminates
 * one long workflow and awaits the other three. Every id raced ends with its result and its first
 * compute step ran once (a start in two groups would run it twice); the terminated workflow ends
 * TERMINATED and the awaited ones complete with their results.
 */
class MergeUnderConcurrentStartsTest {
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final int LONG_STEPS = 200;
  private static final int LONG_RESULT = LONG_STEPS * (LONG_STEPS - 1) / 2;
  /** Steps of a workflow that only a termination ends (over 15 minutes of steps). */
  private static final int ENDLESS = 20_000;

  /** Runs of each workflow's first compute step, by workflow id. */
  private final Map<String, AtomicInteger> firstRuns = new ConcurrentHashMap<>();
  private final JoiningNodes cluster = new JoiningNodes(counted());
  private final List<RaftoralNode> nodes = cluster.nodes;

  @AfterEach
  void closeAll() {
    cluster.close();
  }

  /** {@code counted} v1: one compute step that counts its runs, then {@code n} steps of 50 ms; the result is 0 + ... + (n - 1). */
  private WorkflowDefinition<Integer, Integer> counted() {
    return WorkflowDefinition.of("counted", 1, Integer.class, Integer.class, (ctx, n) -> {
      ctx.checkpointCompute("first", Integer.class,
          () -> firstRuns.computeIfAbsent(ctx.workflowId(), k -> new AtomicInteger()).incrementAndGet());
      int sum = 0;
      for (int i = 0; i < n; i++) {
        int step = i;
        sum += ctx.checkpointCompute("step", Integer.class, () -> {
          Thread.sleep(50);
          return step;
        });
      }
      return sum;
    });
  }

  private static Throwable rootCause(Throwable t) {
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t;
  }

  private RaftoralNode node(long id) {
    synchronized (nodes) {
      return nodes.stream().filter(n -> n.nodeId() == id).findFirst().orElseThrow();
    }
  }

  @Test
  void idsStartedFromFiveNodesDuringAMergeStartOnceAndMovedWorkflowsEndAsTold() throws Exception {
    RaftoralNode first = cluster.bootstrap();
    for (int i = 2; i <= 6; i++) {
      cluster.join(first.apiAddress());
      int joined = i;
      JoiningNodes.awaitCluster(first, info -> info.getNodesCount() == joined);
    }
    ClusterInfoReply six = JoiningNodes.awaitCluster(first, info -> JoiningNodes.shaped(info, 3, 3));
    ExecutionGroupInfo doomed = JoiningNodes.liveGroups(six).stream().filter(g -> !g.getMembersList().contains(1L)).findFirst().orElseThrow();
    RaftoralNode member = node(doomed.getMembers(0));

    // Long workflows with caller-chosen ids, until four land in the group that will be merged.
    // The first of them, the one to terminate, runs until it is terminated, so that the
    // termination always meets it running.
    List<String> moved = new ArrayList<>();
    for (int i = 0; moved.size() < 4 && i < 100; i++) {
      int steps = moved.isEmpty() ? ENDLESS : LONG_STEPS;
      WorkflowHandle<Integer> h = member.start("counted", 1, steps, Integer.class, "long-" + i);
      if (h.executionGroup().equals(doomed.getGroupId())) {
        moved.add(h.workflowId());
      } else if (steps == ENDLESS) {
        member.terminate(h.workflowId(), "placed in the group that stays");
      }
    }
    assertThat(moved).as("long workflows placed in group %d", doomed.getIndex()).hasSize(4);

    long victim = doomed.getMembersList().stream().filter(m -> m != member.nodeId()).findFirst().orElseThrow();
    List<RaftoralNode> callers;
    synchronized (nodes) {
      callers = nodes.stream().filter(n -> n.nodeId() != victim).toList();
    }
    node(victim).close();

    // Every live node starts race-0, race-1, ... in turn until the merge is done, so each id is
    // started from five nodes at about the same time.
    AtomicBoolean stop = new AtomicBoolean();
    Map<Long, Integer> reached = new ConcurrentHashMap<>(); // caller -> the last id index it started
    Map<String, AtomicInteger> starts = new ConcurrentHashMap<>();
    List<String> errors = new CopyOnWriteArrayList<>();
    Map<String, Integer> retried = new ConcurrentHashMap<>();
    List<Thread> threads = new ArrayList<>();
    for (RaftoralNode caller : callers) {
      reached.put(caller.nodeId(), -1);
      threads.add(Thread.ofVirtual().start(() -> {
        for (int k = 0; !stop.get(); k++) {
          String id = "race-" + k;
          long deadline = System.nanoTime() + WAIT.toNanos();
          while (true) {
            try {
              caller.start("counted", 1, 3, Integer.class, id);
              starts.computeIfAbsent(id, x -> new AtomicInteger()).incrementAndGet();
              break;
            } catch (RuntimeException e) {
              // A caller retries a start that failed (the id makes it safe), as a client would.
              retried.merge(e.getClass().getSimpleName() + "(" + rootCause(e).getClass().getSimpleName() + ")", 1,
                  Integer::sum);
              if (System.nanoTime() > deadline) {
                errors.add(id + " via node " + caller.nodeId() + ": " + e);
                break;
              }
              try {
                Thread.sleep(100);
              } catch (InterruptedException ie) {
                return;
              }
            }
          }
          reached.put(caller.nodeId(), k);
        }
      }));
    }

    // Once the merge has begun: node 1, never a member of the merged group, terminates one moved
    // workflow and awaits the others. Neither call is retried: every group keeps a leader
    // throughout, and a lookup follows a merge (docs/ARCHITECTURE.md, "Lookup in one step").
    JoiningNodes.awaitCluster(first, info -> info.getExecutionGroupsList().stream()
        .anyMatch(g -> !g.getMergeTarget().isEmpty() || !g.getMergedInto().isEmpty()));
    WorkflowInfo terminated = first.terminate(moved.getFirst(), "terminated during the merge");
    var awaiting = Executors.newVirtualThreadPerTaskExecutor();
    List<CompletableFuture<Integer>> awaited = moved.subList(1, moved.size()).stream()
        .map(id -> CompletableFuture.supplyAsync(() -> first.handle(id, Integer.class).result(WAIT), awaiting)).toList();

    JoiningNodes.awaitCluster(first, info -> JoiningNodes.shaped(info, 5));
    stop.set(true);
    for (Thread t : threads) {
      t.join(WAIT.toMillis());
      assertThat(t.isAlive()).as("a caller still starting after %s", WAIT).isFalse();
    }
    assertThat(errors).as("starts that failed for %s", WAIT).isEmpty();

    assertThat(first.handle(moved.getFirst(), Integer.class).describe().status())
        .as("terminated during the merge (terminate answered %s)", terminated).isEqualTo(WorkflowStatus.TERMINATED);
    for (int i = 0; i < awaited.size(); i++) {
      assertThat(awaited.get(i).get(WAIT.toSeconds(), TimeUnit.SECONDS)).as(moved.get(i + 1)).isEqualTo(LONG_RESULT);
    }
    awaiting.close();

    // Every caller started race-0 .. race-common; later ids only some of them.
    int common = reached.values().stream().mapToInt(Integer::intValue).min().orElse(-1);
    System.out.println("merge race: " + starts.size() + " ids started while the merge ran, race-0 to race-" + common
        + " from all " + callers.size() + " nodes; failed starts retried: " + retried);
    assertThat(common).as("ids started from every live node while the merge ran").isGreaterThanOrEqualTo(2);
    for (int k = 0; k <= common; k++) {
      assertThat(starts.get("race-" + k).get()).as("answered starts of race-%d", k).isEqualTo(callers.size());
    }
    for (String id : starts.keySet()) {
      assertThat(first.handle(id, Integer.class).result(WAIT)).as(id).isEqualTo(3);
      assertThat(firstRuns.get(id).get()).as("runs of the first step of %s", id).isEqualTo(1);
    }
  }
}
