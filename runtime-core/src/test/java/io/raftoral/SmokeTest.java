package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.WorkflowHandle;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SmokeTest {
  static WorkflowDefinition<String, String> pingPong() {
    return WorkflowDefinition.of("ping_pong", 1, String.class, String.class, (ctx, input) -> {
      String a = ctx.checkpointCompute("first", String.class, () -> input + "-seen");
      String b = ctx.checkpointCompute("second", String.class, () -> "ping".equals(input) ? "pong" : "unknown");
      return a.startsWith("ping") ? b : "unexpected";
    });
  }

  @Test
  void threeNodesRunPingPong() {
    try (TestCluster c = TestCluster.start(3, null, (id, b) -> b.register(pingPong()))) {
      WorkflowHandle<String> h = c.node(2).start("ping_pong", 1, "ping", String.class);
      assertThat(h.result(Duration.ofSeconds(30))).isEqualTo("pong");
      for (var n : c.nodes) {
        assertThat(n.handle(h.workflowId(), String.class).result(Duration.ofSeconds(30))).isEqualTo("pong");
      }
    }
  }
}
