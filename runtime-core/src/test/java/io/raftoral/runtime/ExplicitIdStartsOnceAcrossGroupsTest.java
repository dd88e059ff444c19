package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.common.Errors;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Rule (SPEC §2): a start with an explicit id never runs a workflow twice, from whichever node,
 * whatever that node's management replica has applied (issue 16, point 9; issue 20: the id is
 * claimed through the management group, whose first claim wins).
 *
 * <p>Scenario: 3 nodes, {@code executionGroups(2)}. The management replica of a node that does
 * not lead the management group stalls (its apply thread held, as a long pause would). Another
 * node starts id Y; then the stalled node starts Y with the same type and input: its claim is
 * answered by the management leader with Y's group, so it gets the existing run. A start of Y
 * with another input fails with AlreadyExists on every node.
 */
class ExplicitIdStartsOnceAcrossGroupsTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private TestCluster cluster;

  @AfterEach
  void stop() {
    cluster.close();
  }

  @Test
  void aNodeWhoseManagementReplicaIsBehindDoesNotStartAnExplicitIdAgain() throws Exception {
    cluster = TestCluster.start(3, null, (id, b) -> b.executionGroups(2).requestTimeout(Duration.ofSeconds(10))
        .register(WorkflowDefinition.of("once", 1, String.class, String.class, (ctx, in) -> ctx.checkpoint("v", in))));
    long leader = 0;
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (leader == 0 || !everyNodeKnowsTwoGroups()) {
      assertThat(System.nanoTime()).as("the management group elects a leader").isLessThan(deadline);
      Thread.sleep(50);
      leader = cluster.node(1).inspector().clusterInfo().getManagementLeader();
    }
    long stalledId = leader == 3 ? 2 : 3;
    long otherId = leader == 1 ? 2 : 1;
    if (otherId == stalledId) {
      otherId = leader;
    }
    RaftoralNode stalled = cluster.node(stalledId);
    RaftoralNode other = cluster.node(otherId);

    String y = "dup-y";
    String group;
    try (var stall = ClusterProbe.managementStall(stalled.inspector())) {
      var first = other.start("once", 1, "in", String.class, y);
      assertThat(first.result(WAIT)).isEqualTo("in");
      var again = stalled.start("once", 1, "in", String.class, y);
      assertThat(again.executionGroup()).as("the stalled node's start of %s", y).isEqualTo(first.executionGroup());
      group = first.executionGroup();
      assertThatThrownBy(() -> stalled.start("once", 1, "other input", String.class, y)).isInstanceOf(Errors.AlreadyExistsException.class);
    }

    for (long n = 1; n <= 3; n++) {
      assertThat(cluster.node(n).handle(y, String.class).result(WAIT)).isEqualTo("in");
      assertThat(cluster.node(n).inspector().executionGroupOf(y)).isEqualTo(group);
      long node = n;
      assertThatThrownBy(() -> cluster.node(node).start("once", 1, "other input", String.class, y))
          .isInstanceOf(Errors.AlreadyExistsException.class);
    }
    long copies = 0;
    for (WorkflowInfo w : other.list(ListQuery.all()).workflows()) {
      if (w.workflowId().equals(y)) {
        copies++;
      }
    }
    assertThat(copies).as("workflows with id %s in the cluster", y).isEqualTo(1);
  }

  private boolean everyNodeKnowsTwoGroups() {
    for (long n = 1; n <= 3; n++) {
      if (cluster.node(n).inspector().clusterInfo().getExecutionGroupsCount() < 2) {
        return false;
      }
    }
    return true;
  }
}
