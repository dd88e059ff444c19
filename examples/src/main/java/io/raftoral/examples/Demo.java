package io.raftoral.examples;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import java.time.Duration;
import java.util.List;

/** `make demo`: a local 3-node cluster (in memory) runs the example workflows and prints each result. */
public final class Demo {
  private Demo() {}

  public static void main(String[] args) {
    try (LocalCluster cluster = LocalCluster.start(3, null,
        (id, b) -> b.register(PingPong.DEFINITION).register(OrderWorkflow.DEFINITION))) {
      System.out.println("a 3-node cluster runs on " + cluster.members().values());
      List<RaftoralNode> nodes = cluster.nodes();
      Duration timeout = Duration.ofSeconds(30);
      WorkflowHandle<String> ping = nodes.get(0).start("ping_pong", 1, "ping", String.class);
      for (RaftoralNode n : nodes) {
        System.out.printf("ping_pong %s on node %d -> %s%n", ping.workflowId(), n.nodeId(),
            n.handle(ping.workflowId(), String.class).result(timeout));
      }
      var order = new OrderWorkflow.Order("A-1001", "alice",
          List.of(new OrderWorkflow.Item("book", 2, 1500), new OrderWorkflow.Item("pen", 3, 250)));
      WorkflowHandle<OrderWorkflow.Receipt> receipt = nodes.get(1).start("order", 1, order, OrderWorkflow.Receipt.class);
      for (RaftoralNode n : nodes) {
        System.out.printf("order %s on node %d -> %s%n", receipt.workflowId(), n.nodeId(),
            n.handle(receipt.workflowId(), OrderWorkflow.Receipt.class).result(timeout));
      }
      var info = nodes.get(2).describe(receipt.workflowId());
      System.out.printf("describe on node 3: status=%s owner=node %d checkpoints=%d%n",
          info.status(), info.ownerNode(), info.checkpointCount());
    }
  }
}
