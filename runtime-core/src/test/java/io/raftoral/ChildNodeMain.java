package io.raftoral;

import io.raftoral.api.RaftoralNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A node in a child process, for tests that SIGKILL it.
 * Arguments: nodeId members(1=host:port,2=...) stepLogFile stepMillis
 */
public final class ChildNodeMain {
  private ChildNodeMain() {}

  public static void main(String[] args) throws Exception {
    long nodeId = Long.parseLong(args[0]);
    Map<Long, String> members = new LinkedHashMap<>();
    for (String m : args[1].split(",")) {
      String[] kv = m.split("=", 2);
      members.put(Long.parseLong(kv[0]), kv[1]);
    }
    StepLog log = new StepLog(Path.of(args[2]));
    RaftoralNode node = RaftoralNode.builder().nodeId(nodeId).members(members).electionTimeout(Duration.ofMillis(500))
        .register(FailoverWorkflows.slowSteps(nodeId, log, Long.parseLong(args[3])))
        .start();
    node.inspector().holdLeadersInPlace(true); // the test moves leaders itself
    System.out.println("READY " + node.nodeId());
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
