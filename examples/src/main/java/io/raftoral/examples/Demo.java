package io.raftoral.examples;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** `make demo`: a local 3-node cluster (in memory) runs the example workflows and prints each result. */
public final class Demo {
  private Demo() {}

  public static void main(String[] args) throws Exception {
    Map<Long, String> members = new LinkedHashMap<>();
    for (long id = 1; id <= 3; id++) {
      members.put(id, "127.0.0.1:" + freePort());
    }
    System.out.println("starting a 3-node cluster on " + members.values());
    List<RaftoralNode> nodes = new ArrayList<>();
    List<Thread> starters = new ArrayList<>();
    for (long id = 1; id <= 3; id++) {
      long nodeId = id;
      starters.add(Thread.ofPlatform().start(() -> {
        RaftoralNode node = RaftoralNode.builder().nodeId(nodeId).members(members)
            .register(PingPong.DEFINITION).register(OrderWorkflow.DEFINITION).start();
        synchronized (nodes) {
          nodes.add(node);
        }
      }));
    }
    for (Thread t : starters) {
      t.join();
    }
    nodes.sort((a, b) -> Long.compare(a.nodeId(), b.nodeId()));
    try {
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
    } finally {
      nodes.forEach(RaftoralNode::close);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
