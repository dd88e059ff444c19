package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPEC §4: when the owner dies mid-workflow, another member becomes owner and the workflow
 * completes with the same result; no committed step runs again.
 */
class FailoverTest {
  private static final int STEPS = 20;
  private static final int EXPECTED = STEPS * (STEPS - 1) / 2;
  private static final Duration TIMEOUT = Duration.ofSeconds(90);

  @TempDir
  Path tmp;

  @Test
  void ownerWhoseRaftServerStopsAbruptlyIsReplaced() throws Exception {
    StepLog log = new StepLog(tmp.resolve("steps.log"));
    try (TestCluster c = TestCluster.start(3, null, (node, b) -> b.register(FailoverWorkflows.slowSteps(node, log, 100)))) {
      WorkflowHandle<Integer> h = c.node(1).start("slow_steps", 1, STEPS, Integer.class, "failover-in-jvm");
      RaftoralNode owner = awaitOwner(c.nodes, h.workflowId());
      RaftoralNode survivor = c.nodes.stream().filter(n -> n != owner).findFirst().orElseThrow();
      long committedBeforeCrash = awaitCheckpoints(survivor, h.workflowId(), 5);

      owner.close();

      assertThat(survivor.handle(h.workflowId(), Integer.class).result(TIMEOUT)).isEqualTo(EXPECTED);
      assertThat(survivor.describe(h.workflowId()).ownerNode()).isNotEqualTo(owner.nodeId());
      assertNoCommittedStepRanTwice(log, committedBeforeCrash);
    }
  }

  @Test
  void ownerProcessKilledWithSigkillIsReplaced() throws Exception {
    StepLog log = new StepLog(tmp.resolve("steps.log"));
    Map<Long, String> members = TestCluster.freeAddresses(3);
    Process child = startChild(3, members, log, tmp.resolve("node-3.out"));
    List<RaftoralNode> nodes = new ArrayList<>();
    try {
      List<Thread> starters = new ArrayList<>();
      for (long id = 1; id <= 2; id++) {
        long nodeId = id;
        starters.add(Thread.ofPlatform().start(() -> {
          RaftoralNode n = RaftoralNode.builder().nodeId(nodeId).members(members).electionTimeout(Duration.ofMillis(500))
              .register(FailoverWorkflows.slowSteps(nodeId, log, 150)).start();
          n.inspector().holdLeadersInPlace(true); // the test moves leaders itself
          synchronized (nodes) {
            nodes.add(n);
          }
        }));
      }
      for (Thread t : starters) {
        t.join();
      }
      awaitLine(tmp.resolve("node-3.out"), "READY 3");
      RaftoralNode node1 = nodes.stream().filter(n -> n.nodeId() == 1).findFirst().orElseThrow();
      String id = "failover-sigkill";
      // Make the child process the owner of the group this workflow lands in.
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (!node1.inspector().transferLeadership(id, 3, Duration.ofSeconds(5))) {
        assertThat(System.nanoTime()).as("leadership moved to node 3 in time").isLessThan(deadline);
      }
      WorkflowHandle<Integer> h = node1.start("slow_steps", 1, STEPS, Integer.class, id);
      long committedBeforeKill = awaitCheckpoints(node1, id, 5);
      assertThat(node1.describe(id).ownerNode()).isEqualTo(3);

      child.destroyForcibly(); // SIGKILL on Linux
      child.waitFor();

      assertThat(h.result(TIMEOUT)).isEqualTo(EXPECTED);
      assertThat(node1.describe(id).ownerNode()).isIn(1L, 2L);
      assertThat(log.nodes()).contains(3L);
      assertNoCommittedStepRanTwice(log, committedBeforeKill);
    } finally {
      child.destroyForcibly();
      nodes.forEach(RaftoralNode::close);
    }
  }

  /** Every step ran; at most one ran twice, and only one whose result was not committed before the crash. */
  private static void assertNoCommittedStepRanTwice(StepLog log, long committedBeforeCrash) {
    Map<Integer, Long> counts = log.countsByStep();
    assertThat(counts.keySet()).hasSize(STEPS);
    Map<Integer, Long> repeated = counts.entrySet().stream().filter(e -> e.getValue() > 1)
        .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    assertThat(repeated).as("steps that ran more than once").hasSizeLessThanOrEqualTo(1);
    repeated.forEach((step, count) -> {
      assertThat(count).isEqualTo(2);
      assertThat((long) step).as("a repeated step was not committed before the crash").isGreaterThanOrEqualTo(committedBeforeCrash);
    });
  }

  private static Process startChild(long nodeId, Map<Long, String> members, StepLog log, Path out) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String memberList = members.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(","));
    // The child's in-memory node keeps its files in a temp directory that its SIGKILL leaves
    // behind: under this test's directory, JUnit removes it.
    List<String> cmd = List.of(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx256m",
        "-Djava.io.tmpdir=" + out.getParent(), "-cp", System.getProperty("java.class.path"), ChildNodeMain.class.getName(),
        String.valueOf(nodeId), memberList, log.file().toString(), "150");
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
  }

  private static void awaitLine(Path file, String line) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    File f = file.toFile();
    while (!(f.exists() && Files.readString(file).contains(line))) {
      assertThat(System.nanoTime()).as("child printed %s; output: %s", line, f.exists() ? Files.readString(file) : "").isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  private static RaftoralNode awaitOwner(List<RaftoralNode> nodes, String workflowId) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      for (RaftoralNode n : nodes) {
        if (n.inspector().ownsGroupOf(workflowId)) {
          return n;
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no owner for " + workflowId);
  }

  /** Waits until the workflow has at least {@code count} checkpoints; returns how many it has. */
  private static long awaitCheckpoints(RaftoralNode node, String workflowId, long count) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      long now = node.describe(workflowId).checkpointCount();
      if (now >= count) {
        return now;
      }
      Thread.sleep(20);
    }
    throw new AssertionError(workflowId + " did not reach " + count + " checkpoints");
  }
}
