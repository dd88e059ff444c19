package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.Errors;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.runtime.NodeInspector.LoggedCommand;
import io.raftoral.runtime.NodeInspector.ReplicaState;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/**
 * SPEC §6 retention: finished workflows are pruned after the retention period by a replicated
 * command, identically on every replica; running ones stay.
 */
class RetentionTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void finishedWorkflowsArePrunedEverywhereAndRunningOnesStay() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    try (TestCluster c = TestCluster.start(3, null, (node, b) -> b.retention(Duration.ofSeconds(1))
        .register(WorkflowDefinition.of("steps", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a", in + "-a");
          return ctx.checkpoint("b", in + "-b");
        }))
        .register(WorkflowDefinition.of("fails", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a", in);
          throw new IllegalStateException("boom");
        }))
        .register(WorkflowDefinition.of("waits", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("a", in);
          release.await();
          return ctx.checkpoint("b", in);
        })))) {
      List<String> finished = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        WorkflowHandle<String> h = c.node(1 + i % 3).start("steps", 1, "in" + i, String.class, "done-" + i);
        assertThat(h.result(WAIT)).isEqualTo("in" + i + "-b");
        finished.add(h.workflowId());
      }
      WorkflowHandle<String> failed = c.node(2).start("fails", 1, "x", String.class, "failed-1");
      assertThatThrownBy(() -> failed.result(WAIT)).isInstanceOf(Errors.WorkflowFailedException.class);
      finished.add(failed.workflowId());
      WorkflowHandle<String> stillRunning = c.node(3).start("waits", 1, "x", String.class, "running-1");
      c.node(1).terminate(c.node(1).start("waits", 1, "y", String.class, "terminated-1").workflowId(), "pruned too");
      finished.add("terminated-1");
      String group = stillRunning.executionGroup();

      // Pruned on every node: describe answers NotFound from each one.
      long deadline = System.nanoTime() + WAIT.toNanos();
      for (String id : finished) {
        for (RaftoralNode n : c.nodes) {
          while (true) {
            try {
              n.describe(id);
            } catch (Errors.WorkflowNotFoundException gone) {
              break;
            }
            assertThat(System.nanoTime()).as("%s pruned as seen from node %d", id, n.nodeId()).isLessThan(deadline);
            Thread.sleep(50);
          }
        }
      }
      for (RaftoralNode n : c.nodes) {
        assertThat(n.describe("running-1").status()).isEqualTo(WorkflowStatus.RUNNING);
        assertThat(n.list(ListQuery.all()).workflows()).extracting(w -> w.workflowId()).containsExactly("running-1");
      }

      // Every replica removed the same workflows: one workflow left, equal digests.
      Set<ReplicaState> replicas = new HashSet<>();
      while (replicas.size() != 1) {
        replicas.clear();
        c.nodes.forEach(n -> replicas.add(n.inspector().replicaState(group)));
        assertThat(System.nanoTime()).as("replicas converge: %s", replicas).isLessThan(deadline);
        Thread.sleep(50);
      }
      assertThat(replicas.iterator().next().workflows()).isEqualTo(1);

      // It was the replicated command that removed them.
      List<LoggedCommand> log = c.node(1).inspector().loggedCommands(group);
      assertThat(log).anyMatch(l -> l.command().hasPruneWorkflows());

      release.countDown();
      assertThat(stillRunning.result(WAIT)).isEqualTo("x");
      // The id of a pruned workflow may be used again.
      assertThat(c.node(2).start("steps", 1, "again", String.class, "done-0").result(WAIT)).isEqualTo("again-b");
    }
  }
}
