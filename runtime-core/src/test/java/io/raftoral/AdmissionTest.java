package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.Errors;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * SPEC §2: a start of a type the group's leader cannot run fails at once with NotRegistered, for
 * that start alone. Node 1 registers {@code good} and {@code bad}, nodes 2 and 3 only {@code
 * good}, and node 2 leads the group: node 1 passes its own check and forwards, the leader refuses.
 */
class AdmissionTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static TestCluster cluster;

  @BeforeAll
  static void startCluster() {
    cluster = TestCluster.start(3, null, (node, b) -> {
      b.requestTimeout(Duration.ofSeconds(10)).register(echo("good"));
      if (node == 1) {
        b.register(echo("bad"));
      }
      if (node == 2) {
        b.register(echo("leaders"));
      }
    });
  }

  @AfterAll
  static void stopCluster() {
    cluster.close();
  }

  private static WorkflowDefinition<String, String> echo(String type) {
    return WorkflowDefinition.of(type, 1, String.class, String.class,
        (ctx, in) -> ctx.checkpointCompute("echo", String.class, () -> type + ":" + in));
  }

  @BeforeEach
  void nodeTwoLeadsTheGroup() throws Exception {
    cluster.makeOwner(2);
  }

  @Test
  void aStartRefusedByTheLeaderFailsAtOnceWithNotRegistered() {
    RaftoralNode node1 = cluster.node(1);
    assertThatThrownBy(() -> node1.start("bad", 1, "x", String.class, "refused-1"))
        .isInstanceOf(Errors.NotRegisteredException.class)
        .hasMessageContaining("bad@v1");
    // The refusal neither starts the workflow nor poisons the node's later proposals.
    assertThatThrownBy(() -> node1.describe("refused-1")).isInstanceOf(Errors.WorkflowNotFoundException.class);
    assertThat(node1.start("good", 1, "after", String.class).result(TIMEOUT)).isEqualTo("good:after");
  }

  // Whether a type is registered is the owner's to say: a node that lacks the type forwards the
  // start, and the leader, which has it, runs it.
  @Test
  void aStartThroughANodeThatLacksTheTypeIsDecidedByTheOwner() {
    assertThat(cluster.node(1).start("leaders", 1, "x", String.class).result(TIMEOUT)).isEqualTo("leaders:x");
  }

  @Test
  void aRefusedStartFailsAloneAmongConcurrentStartsOfItsBatch() throws Exception {
    RaftoralNode node1 = cluster.node(1);
    List<CompletableFuture<String>> outcomes = new ArrayList<>();
    var threads = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
    for (int i = 0; i < 40; i++) {
      String type = i % 10 == 3 ? "bad" : "good";
      String input = "in-" + i;
      outcomes.add(CompletableFuture.supplyAsync(() -> {
        try {
          WorkflowHandle<String> h = node1.start(type, 1, input, String.class);
          return h.result(TIMEOUT);
        } catch (Errors.NotRegisteredException e) {
          return "refused " + e.workflowType();
        }
      }, threads));
    }
    for (int i = 0; i < 40; i++) {
      String expected = i % 10 == 3 ? "refused bad@v1" : "good:in-" + i;
      assertThat(outcomes.get(i).get()).isEqualTo(expected);
    }
  }
}
