package io.raftoral;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * In-process nodes of one cluster grown by joins (real Ratis servers and gRPC on loopback), with
 * short election and failure timeouts, each running {@link #steps()} and any definitions given to
 * the constructor; closes them all, newest first.
 */
final class JoiningNodes implements AutoCloseable {
  /** Every node started, in start order; safe to add to from several threads. */
  final List<RaftoralNode> nodes = Collections.synchronizedList(new ArrayList<>());
  private final List<WorkflowDefinition<?, ?>> more;

  JoiningNodes(WorkflowDefinition<?, ?>... more) {
    this.more = List.of(more);
  }

  /** {@code steps} v1: n compute checkpoints of 50 ms under one key; the result is 0 + 1 + ... + (n - 1). */
  static WorkflowDefinition<Integer, Integer> steps() {
    return WorkflowDefinition.of("steps", 1, Integer.class, Integer.class, (ctx, n) -> {
      int sum = 0;
      for (int i = 0; i < n; i++) {
        int step = i;
        sum += ctx.checkpointCompute("step", Integer.class, () -> {
          Thread.sleep(50);
          return step;
        });
      }
      return sum;
    });
  }

  RaftoralNode bootstrap() {
    return started(RaftoralNode.builder().nodeId(1));
  }

  RaftoralNode join(String seed) {
    return started(RaftoralNode.builder().join(List.of(seed)));
  }

  private RaftoralNode started(RaftoralNode.Builder b) {
    Map<Long, String> a = LocalCluster.freeAddresses(2);
    b.raftAddress(a.get(1L)).apiAddress(a.get(2L)).electionTimeout(Duration.ofMillis(500))
        .nodeFailureTimeout(Duration.ofSeconds(3)).register(steps());
    more.forEach(b::register);
    RaftoralNode n = b.start();
    nodes.add(n);
    return n;
  }

  @Override
  public void close() {
    List<RaftoralNode> all;
    synchronized (nodes) {
      all = new ArrayList<>(nodes);
    }
    all.reversed().forEach(n -> {
      try {
        n.close();
      } catch (RuntimeException ignored) {
        // closed by the test already
      }
    });
  }
}
