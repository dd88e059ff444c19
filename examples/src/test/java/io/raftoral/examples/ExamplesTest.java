package io.raftoral.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.Errors;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The examples run to completion on 1-node and 3-node clusters, and every member reports the same result. */
class ExamplesTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  @ParameterizedTest(name = "{0} node(s)")
  @ValueSource(ints = {1, 3})
  void examplesCompleteWithTheSameResultOnEveryMember(int size) {
    try (LocalCluster cluster = LocalCluster.start(size, null, (id, b) -> b.electionTimeout(Duration.ofMillis(500))
        .register(PingPong.DEFINITION).register(OrderWorkflow.DEFINITION))) {
      List<RaftoralNode> nodes = cluster.nodes();
      WorkflowHandle<String> ping = nodes.getLast().start("ping_pong", 1, "ping", String.class);
      var order = new OrderWorkflow.Order("A-7", "bob", List.of(new OrderWorkflow.Item("mug", 2, 900)));
      WorkflowHandle<OrderWorkflow.Receipt> receipt = nodes.getFirst().start("order", 1, order, OrderWorkflow.Receipt.class);
      for (RaftoralNode n : nodes) {
        assertThat(n.handle(ping.workflowId(), String.class).result(TIMEOUT)).isEqualTo("pong");
        OrderWorkflow.Receipt r = n.handle(receipt.workflowId(), OrderWorkflow.Receipt.class).result(TIMEOUT);
        assertThat(r.orderId()).isEqualTo("A-7");
        assertThat(r.totalCents()).isEqualTo(1800);
        assertThat(r.paymentId()).isEqualTo("pay-bob-1800");
        assertThat(r.stage()).isEqualTo("shipped");
      }
      // ping_pong: two compute checkpoints; order: stage var (4 writes) + 4 compute steps.
      assertThat(nodes.getFirst().describe(ping.workflowId()).checkpointCount()).isEqualTo(2);
      assertThat(nodes.getFirst().describe(receipt.workflowId()).checkpointCount()).isEqualTo(8);

      WorkflowHandle<OrderWorkflow.Receipt> empty = nodes.getFirst().start("order", 1,
          new OrderWorkflow.Order("A-8", "eve", List.of()), OrderWorkflow.Receipt.class);
      assertThatThrownBy(() -> empty.result(TIMEOUT)).isInstanceOfSatisfying(Errors.WorkflowFailedException.class,
          e -> assertThat(e.errorMessage()).isEqualTo("order A-8 has no items"));
    }
  }

  @ParameterizedTest(name = "{0} node(s)")
  @ValueSource(ints = {1, 3})
  void aReminderIsSentOnceWhenDueOnEveryMember(int size) {
    try (LocalCluster cluster = LocalCluster.start(size, null, (id, b) -> b.electionTimeout(Duration.ofMillis(500))
        .register(Reminder.DEFINITION))) {
      List<RaftoralNode> nodes = cluster.nodes();
      WorkflowHandle<Reminder.Sent> h = nodes.getFirst().start("reminder", 1, new Reminder.Request("ann", "stand-up", 2),
          Reminder.Sent.class);
      for (RaftoralNode n : nodes) {
        Reminder.Sent sent = n.handle(h.workflowId(), Reminder.Sent.class).result(TIMEOUT);
        assertThat(sent.to()).isEqualTo("ann");
        assertThat(sent.text()).isEqualTo("stand-up");
        assertThat(sent.sentAt()).isAfterOrEqualTo(sent.due());
      }
      // due, the sleep's wake-up time, sent.
      assertThat(nodes.getLast().describe(h.workflowId()).checkpointCount()).isEqualTo(3);
    }
  }
}
