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
 * Review of issue 21's replay(id, definition, timeout): the timeout is validated as positive,
 * but a long one ("no limit", e.g. 1000 days) overflows
 * Duration.toNanos and the call fails with an ArithmeticException after reading the history,
 * instead of replaying (the function here ends at once).
 */
class BreakReplayTimeoutTest {
  @TempDir static Path tmp;
  private static TestCluster cluster;

  private static WorkflowDefinition<String, String> one() {
    return WorkflowDefinition.of("one", 1, String.class, String.class, (ctx, in) -> ctx.checkpoint("a", in));
  }

  @BeforeAll
  static void start() throws Exception {
    cluster = TestCluster.start(1, tmp, (id, b) -> b.register(one()));
    cluster.makeOwner(1);
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  void aVeryLongTimeoutReplays() {
    String id = cluster.node(1).start("one", 1, "x", String.class).workflowId();
    assertThat(cluster.node(1).handle(id, String.class).result(Duration.ofSeconds(30))).isEqualTo("x");

    ReplayReport r = cluster.node(1).replay(id, one(), Duration.ofDays(365L * 1000));

    assertThat(r.matches()).as("report %s", r).isTrue();
  }
}
