package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.cli.NodeProcesses.CliResult;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * SPEC §8 with real node processes started by {@code raftoral node}: nodes join while
 * workflows run, voters stay capped at three, the five nodes form one execution group (the
 * default sizes 3 / 3 / 5), and the SIGKILL of the process that owns the running workflows loses
 * nothing and gets the voter set back to three.
 */
class MembershipProcessesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(120);

  /** Polls {@code raftoral cluster --output json} on node {@code via} until the condition holds. */
  private static JsonNode awaitCluster(NodeProcesses nodes, int via, Predicate<JsonNode> condition) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    JsonNode last = null;
    while (System.nanoTime() < deadline) {
      CliResult r = nodes.cliOn(via, "cluster", "--output", "json");
      if (r.exitCode() == 0) {
        last = JSON.readTree(r.stdout());
        if (condition.test(last)) {
          return last;
        }
      }
      Thread.sleep(500);
    }
    throw new AssertionError("the cluster did not settle; last seen: " + last);
  }

  private static long voters(JsonNode cluster) {
    long n = 0;
    for (JsonNode node : cluster.path("nodes")) {
      if (node.path("role").asText().equals("VOTER")) {
        n++;
      }
    }
    return n;
  }

  private static List<String> startCountdowns(RaftoralClient client, String prefix, int count, int steps) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ids.add(client.start("countdown", 1, NodeProcesses.json(steps), prefix + "-" + i).workflowId());
    }
    return ids;
  }

  private static void assertAllComplete(RaftoralClient client, List<String> ids, int expected) {
    for (String id : ids) {
      RaftoralClient.Outcome outcome = client.await(id, WAIT);
      assertThat(outcome.info().status()).as(id).isEqualTo(WorkflowStatus.COMPLETED);
      assertThat(new String(outcome.result(), StandardCharsets.UTF_8)).as(id).isEqualTo(Integer.toString(expected));
    }
  }

  @Test
  void nodesJoinWhileWorkflowsRunAndTheOwnersSigkillLosesNothing() throws Exception {
    try (NodeProcesses nodes = new NodeProcesses("MembershipProcessesTest")) {
      nodes.bootstrap("--node-failure-timeout", "3s");
      nodes.startJoining("--node-failure-timeout", "3s");
      nodes.startJoining("--node-failure-timeout", "3s");
      awaitCluster(nodes, 1, c -> c.path("nodes").size() == 3 && voters(c) == 3);

      // Nodes 4 and 5 join while 50 workflows run.
      List<String> first;
      try (RaftoralClient client = RaftoralClient.connect(nodes.apiAddress(2))) {
        first = startCountdowns(client, "joining", 50, 3);
        CompletableFuture<Integer> fourth = CompletableFuture.supplyAsync(() -> nodes.startJoining("--node-failure-timeout", "3s"));
        CompletableFuture<Integer> fifth = CompletableFuture.supplyAsync(() -> nodes.startJoining("--node-failure-timeout", "3s"));
        fourth.get();
        fifth.get();
        assertAllComplete(client, first, 3);
      }
      JsonNode five = awaitCluster(nodes, 3, c -> c.path("nodes").size() == 5 && voters(c) == 3);
      // Before killing anyone, every group's Raft configuration must have caught up with its
      // committed members (a group still at two of three would lose its quorum).
      try (RaftoralClient client = RaftoralClient.connect(nodes.apiAddress(3))) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!client.clusterInfo().getExecutionGroupsList().stream().allMatch(g -> g.getRaftMembersList().equals(g.getMembersList()))) {
          assertThat(System.nanoTime()).as("group configurations caught up").isLessThan(deadline);
          Thread.sleep(200);
        }
      }
      // Disjoint groups with the default sizes (3 / 3 / 5): five nodes are one group of five.
      assertThat(five.path("executionGroups").size()).isEqualTo(1);
      assertThat(five.path("executionGroups").get(0).path("members").size()).isEqualTo(5);

      // SIGKILL a voter that owns running workflows (the leader of their execution group), so
      // both failover and the promotion of a listener are exercised.
      java.util.Set<Long> voterIds = new java.util.HashSet<>();
      five.path("nodes").forEach(n -> {
        if (n.path("role").asText().equals("VOTER")) {
          voterIds.add(n.path("nodeId").asLong());
        }
      });
      try (RaftoralClient client = RaftoralClient.connect(nodes.apiAddress(1))) {
        List<String> second = startCountdowns(client, "killed", 20, 6);
        long owner = second.stream().map(client::describe).mapToLong(WorkflowInfo::ownerNode)
            .filter(voterIds::contains).findFirst()
            .orElseThrow(() -> new AssertionError("no workflow is owned by a voter"));
        int victim = -1;
        for (int i = 1; i <= nodes.size(); i++) {
          if (nodes.nodeId(i) == owner) {
            victim = i;
          }
        }
        assertThat(victim).as("the owner %d is one of our processes", owner).isPositive();
        int talkTo = victim == 1 ? 2 : 1; // node 1 leads the management group too: then that fails over as well
        nodes.kill(victim);

        try (RaftoralClient survivor = RaftoralClient.connect(nodes.apiAddress(talkTo))) {
          assertAllComplete(survivor, second, 6);
          assertAllComplete(survivor, first.subList(0, 5), 3);
        }
        JsonNode after = awaitCluster(nodes, talkTo, c -> c.path("nodes").size() == 4 && voters(c) == 3);
        after.path("nodes").forEach(n -> assertThat(n.path("nodeId").asLong()).isNotEqualTo(owner));
        after.path("executionGroups").forEach(g -> g.path("members").forEach(m -> assertThat(m.asLong()).isNotEqualTo(owner)));
        // The group of five lost one member: four stay in it (above the minimum, nothing to merge).
        assertThat(after.path("executionGroups").size()).isEqualTo(1);
        assertThat(after.path("executionGroups").get(0).path("members").size()).isEqualTo(4);
      }
    }
  }
}
