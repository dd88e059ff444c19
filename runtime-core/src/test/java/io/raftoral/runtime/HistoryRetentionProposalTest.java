package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.proto.raft.WorkflowTerminate;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowFunction;
import io.raftoral.workflow.WorkflowRegistry;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The proposer's half of a workflow type's history retention: the node that ends a workflow (its
 * owner) or terminates it carries its registration's {@code keepLastPerKey} in that command, so
 * that every replica applies the same trim; nothing the run proposes before its end carries it.
 */
class HistoryRetentionProposalTest {
  @Test
  void theOwnerCarriesItsTypesRetentionInTheEndOfACompletedWorkflow() throws Exception {
    List<Command> proposed = new CopyOnWriteArrayList<>();
    try (FakeGroup group = new FakeGroup(c -> proposed.add(c) && false)) {
      WorkflowEntry entry = group.runToEnd("done", definition((ctx, in) -> {
        for (int i = 0; i < 5; i++) {
          ctx.checkpoint("a", i);
        }
        return "ok";
      }).withKeepLastPerKey(2));

      assertThat(entry.status()).isEqualTo(WorkflowStatusCode.COMPLETED);
      assertThat(ends(proposed)).isNotEmpty().allSatisfy(end -> {
        assertThat(end.getWorkflowEnd().hasResult()).isTrue();
        assertThat(end.getWorkflowEnd().getKeepLastPerKey()).isEqualTo(2);
      });
    }
  }

  @Test
  void theOwnerCarriesItsTypesRetentionInTheEndOfAFailedWorkflow() throws Exception {
    List<Command> proposed = new CopyOnWriteArrayList<>();
    try (FakeGroup group = new FakeGroup(c -> proposed.add(c) && false)) {
      WorkflowEntry entry = group.runToEnd("failed", definition((ctx, in) -> {
        ctx.checkpoint("a", 1);
        throw new IllegalStateException("no");
      }).withMode(ExecutionMode.OWNER_ONLY).withKeepLastPerKey(7));

      assertThat(entry.status()).isEqualTo(WorkflowStatusCode.FAILED);
      assertThat(ends(proposed)).isNotEmpty().allSatisfy(end -> {
        assertThat(end.getWorkflowEnd().hasError()).isTrue();
        assertThat(end.getWorkflowEnd().getKeepLastPerKey()).isEqualTo(7);
      });
    }
  }

  @Test
  void aTypeWithoutRetentionEndsKeepingEverything() throws Exception {
    List<Command> proposed = new CopyOnWriteArrayList<>();
    try (FakeGroup group = new FakeGroup(c -> proposed.add(c) && false)) {
      group.runToEnd("whole", definition((ctx, in) -> {
        ctx.checkpoint("a", 1);
        return "ok";
      }));

      assertThat(ends(proposed)).isNotEmpty().allSatisfy(end -> assertThat(end.getWorkflowEnd().getKeepLastPerKey()).isZero());
    }
  }

  @Test
  void aTerminationCarriesTheTerminatingNodesRegistrationOfTheTypeAndVersion() {
    WorkflowRegistry registry = new WorkflowRegistry()
        .register(definition((ctx, in) -> "v1").withKeepLastPerKey(3))
        .register(WorkflowDefinition.of("t", 2, String.class, String.class, (ctx, in) -> "v2"));
    WorkflowRecord v1 = WorkflowRecord.newBuilder().setWorkflowId("w1").setType("t").setVersion(1).build();
    WorkflowRecord v2 = WorkflowRecord.newBuilder().setWorkflowId("w2").setType("t").setVersion(2).build();
    WorkflowRecord unknown = WorkflowRecord.newBuilder().setWorkflowId("w3").setType("elsewhere").setVersion(1).build();

    WorkflowTerminate t1 = WorkflowCalls.terminateCommand("w1", v1, "stop", 42, registry).getWorkflowTerminate();
    assertThat(t1.getWorkflowId()).isEqualTo("w1");
    assertThat(t1.getReason()).isEqualTo("stop");
    assertThat(t1.getAtMillis()).isEqualTo(42);
    assertThat(t1.getKeepLastPerKey()).isEqualTo(3);
    assertThat(WorkflowCalls.terminateCommand("w2", v2, "stop", 42, registry).getWorkflowTerminate().getKeepLastPerKey())
        .as("another version of the type registers no retention").isZero();
    assertThat(WorkflowCalls.terminateCommand("w3", unknown, "stop", 42, registry).getWorkflowTerminate().getKeepLastPerKey())
        .as("a type this node does not register: keep everything").isZero();
  }

  private static WorkflowDefinition<String, String> definition(WorkflowFunction<String, String> fn) {
    return WorkflowDefinition.of("t", 1, String.class, String.class, fn);
  }

  private static List<Command> ends(List<Command> proposed) {
    return proposed.stream().filter(Command::hasWorkflowEnd).toList();
  }
}
