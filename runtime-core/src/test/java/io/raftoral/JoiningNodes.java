package io.raftoral;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ExecutionGroupInfo;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

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

  /** The cluster as {@code n} sees it once {@code condition} holds (waiting at most 90 s; the last view is in the failure). */
  static ClusterInfoReply awaitCluster(RaftoralNode n, Predicate<ClusterInfoReply> condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    ClusterInfoReply info = n.inspector().clusterInfo();
    while (!condition.test(info)) {
      org.assertj.core.api.Assertions.assertThat(System.nanoTime()).as("cluster did not settle; last seen:\n%s", info)
          .isLessThan(deadline);
      Thread.sleep(100);
      info = n.inspector().clusterInfo();
    }
    return info;
  }

  static List<ExecutionGroupInfo> liveGroups(ClusterInfoReply info) {
    return info.getExecutionGroupsList().stream().filter(g -> g.getMergedInto().isEmpty()).toList();
  }

  /** Live groups of the given sizes, running with their members, open, disjoint and covering every node, each led. */
  static boolean shaped(ClusterInfoReply info, int... sizes) {
    List<ExecutionGroupInfo> live = liveGroups(info);
    if (live.size() != sizes.length) {
      return false;
    }
    Set<Long> placed = new HashSet<>();
    for (int i = 0; i < sizes.length; i++) {
      ExecutionGroupInfo g = live.get(i);
      if (g.getMembersCount() != sizes[i] || !g.getRaftMembersList().equals(g.getMembersList()) || !g.getOpen()
          || g.getLeaderNode() == 0) {
        return false;
      }
      for (long m : g.getMembersList()) {
        if (!placed.add(m)) {
          return false;
        }
      }
    }
    return placed.size() == info.getNodesCount();
  }
}
