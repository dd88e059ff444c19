package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.common.ReplayReport;
import io.raftoral.workflow.WorkflowDefinition;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replay refuses a workflow whose history a retention policy trimmed; one whose history the
 * policy left whole (no key written more than N times, or N = Long.MAX_VALUE) starts at its
 * first step and replays.
 */
class RetentionReplayBreakTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  @TempDir static Path tmp;
  private static TestCluster cluster;

  private static WorkflowDefinition<Integer, Integer> steps(String type, long keepLast) {
    return WorkflowDefinition.of(type, 1, Integer.class, Integer.class, (ctx, n) -> {
      int last = 0;
      for (int i = 0; i < n; i++) {
        last = ctx.checkpoint("step-" + i, i);
      }
      return last;
    }).withKeepLastPerKey(keepLast);
  }

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = TestCluster.start(1, tmp, (id, b) -> b.register(steps("keep-max", Long.MAX_VALUE)).register(steps("keep-3", 3)));
    cluster.makeOwner(1);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  void aWorkflowKeptWholeByLongMaxValueReplays() {
    String id = cluster.node(1).start("keep-max", 1, 4, Integer.class).workflowId();
    assertThat(cluster.node(1).handle(id, Integer.class).result(TIMEOUT)).isEqualTo(3);
    assertThat(cluster.node(1).history(id)).hasSize(4);
    ReplayReport report = cluster.node(1).replay(id);
    assertThat(report.divergence()).isNull();
  }

  @Test
  void aWorkflowWhoseKeysWereWrittenFewerThanNTimesReplays() {
    String id = cluster.node(1).start("keep-3", 1, 4, Integer.class).workflowId();
    assertThat(cluster.node(1).handle(id, Integer.class).result(TIMEOUT)).isEqualTo(3);
    assertThat(cluster.node(1).history(id)).as("nothing trimmed: each key has one value").hasSize(4);
    ReplayReport report = cluster.node(1).replay(id);
    assertThat(report.divergence()).isNull();
  }
}
