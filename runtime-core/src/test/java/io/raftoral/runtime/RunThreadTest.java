package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.LocalCluster;
import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowFunction;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A run's thread: virtual by default, a platform thread of its own when its function needs one. */
class RunThreadTest {
  private static LocalCluster cluster;

  /** Says which kind of thread it ran on, after a checkpoint (the run's thread makes it too). */
  private static final class ThreadKind implements WorkflowFunction<String, String> {
    private final boolean platform;

    ThreadKind(boolean platform) {
      this.platform = platform;
    }

    @Override
    public String run(WorkflowContext ctx, String input) {
      ctx.checkpoint("k", input);
      return Thread.currentThread().isVirtual() ? "virtual" : "platform " + Thread.currentThread().getName();
    }

    @Override
    public boolean needsPlatformThread() {
      return platform;
    }
  }

  @BeforeAll
  static void start() {
    cluster = LocalCluster.start(1, null, (id, b) -> b
        .register(WorkflowDefinition.of("plain", 1, String.class, String.class, new ThreadKind(false)))
        .register(WorkflowDefinition.of("computing", 1, String.class, String.class, new ThreadKind(true))));
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  void aJavaWorkflowRunsOnAVirtualThread() {
    assertThat(cluster.node(1).start("plain", 1, "x", String.class).result(Duration.ofSeconds(30))).isEqualTo("virtual");
  }

  @Test
  void aFunctionThatNeedsAPlatformThreadGetsOne() {
    assertThat(cluster.node(1).start("computing", 1, "x", String.class).result(Duration.ofSeconds(30))).startsWith("platform raftoral-run-");
  }
}
