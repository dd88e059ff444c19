package io.raftoral.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.proto.client.ReplicaInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * The long soak of issue 5 (the suite has a bounded one, RestartProcessesTest): N workflows of
 * {@code soak_steps} started over M rounds against real node processes, each round a SIGKILL of
 * a random node, some downtime, and its restart with the same command line. With a small
 * snapshot threshold, a node down for a while comes back behind purged logs and catches up
 * through an installed snapshot. At the end it checks, and exits 1 if any check fails:
 * no workflow lost (every one COMPLETED), each completed once with one committed value per step
 * that one of that step's executions produced, the same result on every node, a step re-run
 * only for a kill during its workflow's run (never a committed one), and all replicas equal.
 */
@Command(name = "soak", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Kill -9 / restart soak of node processes; checks no workflow lost, none re-executed, replicas equal.")
public final class Soak implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(180);

  @Option(names = "--workflows", defaultValue = "300", description = "Workflows in all (default ${DEFAULT-VALUE}).")
  int workflows;

  @Option(names = "--rounds", defaultValue = "30", description = "Kill and restart rounds (default ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--nodes", defaultValue = "3", description = "Node processes (default ${DEFAULT-VALUE}).")
  int nodeCount;

  @Option(names = "--steps", defaultValue = "6", description = "Steps per workflow (default ${DEFAULT-VALUE}).")
  int steps;

  @Option(names = "--step-millis", defaultValue = "300", description = "Sleep of each step (default ${DEFAULT-VALUE}).")
  long stepMillis;

  @Option(names = "--max-down-millis", defaultValue = "4000",
      description = "A killed node stays down a random time up to this (default ${DEFAULT-VALUE}).")
  long maxDownMillis;

  @Option(names = "--snapshot-every", defaultValue = "50", description = "The nodes' --snapshot-every (default ${DEFAULT-VALUE}).")
  long snapshotEvery;

  @Option(names = "--node-jvm", paramLabel = "OPTIONS", description = "Extra JVM options for every node process, space-separated.")
  String nodeJvm = "";

  @Option(names = "--seed", description = "Random seed (default: the clock); printed to replay a run.")
  Long seed;

  @Option(names = "--keep-node-files", description = "Keep the nodes' logs and data directories.")
  boolean keepFiles;

  /** What the last {@link #call} found. */
  record Summary(int workflows, int kills, long snapshots, long installs, long reruns, List<String> problems) {}

  Summary summary;
  private long reruns;

  public static void main(String[] args) {
    System.exit(new CommandLine(new Soak()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    long s = seed != null ? seed : System.nanoTime();
    Random random = new Random(s);
    Path root = Files.createTempDirectory("raftoral-soak-");
    Path log = root.resolve("steps.log");
    System.err.printf("soak: seed %d, %d workflows, %d rounds, %d nodes, snapshot every %d entries, files in %s%n",
        s, workflows, rounds, nodeCount, snapshotEvery, root);
    long began = System.nanoTime();
    List<String> problems = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    List<Instant> killedAt = new ArrayList<>();
    try (SoakCluster nodes = new SoakCluster(root, List.of("--election-timeout", "500ms", "--node-failure-timeout", "600s",
        "--snapshot-every", Long.toString(snapshotEvery)), nodeJvm.isBlank() ? List.of() : List.of(nodeJvm.strip().split("\\s+")))) {
      nodes.start(nodeCount);
      nodes.awaitSettled(0, WAIT);
      for (int round = 0; round < rounds; round++) {
        int victim = random.nextInt(nodeCount);
        int via = (victim + 1) % nodeCount;
        int count = workflows / rounds + (round < workflows % rounds ? 1 : 0);
        try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(via))) {
          for (int i = 0; i < count; i++) {
            String id = "soak-" + round + "-" + i;
            c.start("soak_steps", 1, JSON.writeValueAsBytes(new SoakSteps.Input(steps, stepMillis, log.toString())), id);
            ids.add(id);
          }
        }
        Thread.sleep(300 + random.nextInt(1500));
        killedAt.add(Instant.now());
        nodes.kill(victim);
        Thread.sleep(random.nextLong(maxDownMillis + 1));
        nodes.restart(victim);
        nodes.awaitSettled(via, WAIT);
        System.err.printf("soak: round %d/%d: killed and restarted node %d%n", round + 1, rounds, victim + 1);
      }
      check(nodes, ids, killedAt, log, problems);
      long installs = nodes.countLogLines("restoring the state store from snapshot");
      long snapshots = nodes.countLogLines(": snapshot at ");
      summary = new Summary(ids.size(), killedAt.size(), snapshots, installs, reruns, List.copyOf(problems));
      System.out.printf("soak: %d workflows, %d kills, %d snapshots taken, %d snapshot installs, %d steps re-run, %d problems, %.0f s (seed %d)%n",
          ids.size(), killedAt.size(), snapshots, installs, reruns, problems.size(), (System.nanoTime() - began) / 1e9, s);
    } finally {
      if (keepFiles || !problems.isEmpty()) {
        System.err.println("soak: node logs and data directories kept in " + root);
      } else {
        Target.deleteTree(root);
      }
    }
    problems.stream().limit(50).forEach(p -> System.out.println("PROBLEM " + p));
    return problems.isEmpty() ? 0 : 1;
  }

  private void check(SoakCluster nodes, List<String> ids, List<Instant> killedAt, Path log, List<String> problems) throws Exception {
    Map<String, List<String>> committed = new HashMap<>();
    Map<String, Long> killsDuringRun = new HashMap<>();
    try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(0))) {
      for (String id : ids) {
        RaftoralClient.Outcome o = c.await(id, WAIT);
        if (o.info().status() != WorkflowStatus.COMPLETED) {
          problems.add(id + " is " + o.info().status() + " " + o.info().errorMessage().orElse(""));
          continue;
        }
        committed.put(id, SoakSteps.committedValues(o.result()));
        Instant started = o.info().startedAt().minusSeconds(1); // one machine's clock; a second of slack
        Instant ended = o.info().endedAt().orElseThrow().plusSeconds(1);
        killsDuringRun.put(id, killedAt.stream().filter(k -> k.isAfter(started) && k.isBefore(ended)).count());
      }
    }
    for (int i = 1; i < nodes.size(); i++) {
      try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(i))) {
        for (String id : committed.keySet()) {
          List<String> there = SoakSteps.committedValues(c.await(id, WAIT).result());
          if (!there.equals(committed.get(id))) {
            problems.add(id + ": node " + (i + 1) + " has result " + there + ", node 1 " + committed.get(id));
          }
        }
      }
    }
    SoakSteps.Check check = SoakSteps.check(committed, killsDuringRun, steps, log);
    problems.addAll(check.problems());
    reruns += check.reruns();
    checkReplicasEqual(nodes, problems);
  }

  /** Every node's replica of every group ends with one digest (waits for the last restarted node to catch up). */
  private static void checkReplicasEqual(SoakCluster nodes, List<String> problems) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    Map<String, Set<String>> digests = new HashMap<>();
    while (System.nanoTime() < deadline) {
      digests.clear();
      for (int i = 0; i < nodes.size(); i++) {
        try (RaftoralClient c = RaftoralClient.connect(nodes.apiAddress(i))) {
          for (ReplicaInfo r : c.clusterInfo(true).getReplicasList()) {
            digests.computeIfAbsent(r.getGroupId(), k -> new HashSet<>()).add(r.getDigest());
          }
        }
      }
      if (!digests.isEmpty() && digests.values().stream().allMatch(d -> d.size() == 1)) {
        return;
      }
      Thread.sleep(500);
    }
    problems.add("replicas differ: " + digests);
  }
}
