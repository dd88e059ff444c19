package io.raftoral.faults;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftoral.common.ErrorCode;
import io.raftoral.common.RaftoralException;
import io.raftoral.proto.client.ReplicaInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * One run of the fault matrix: a cluster of node processes, the clients' {@link Workload}, and
 * the {@link Nemesis} applying a seeded schedule of faults; then every fault healed, the
 * cluster's final answers about every workflow recorded, and the {@link Checker} over it all.
 * {@code faults/run --help} lists the options; the report goes to {@code OUT/report.md}, the
 * history to {@code OUT/history.jsonl}, the side-effect log to {@code OUT/cluster/effects.jsonl}.
 * Exits 1 when an invariant was broken.
 */
public final class FaultRun {
  /** What a run does. {@code minutes == 0}: each kind of {@code kinds} once, in a seeded order. */
  record Options(int nodes, long seed, double minutes, int faults, List<Nemesis.Kind> kinds, int holdMinMillis, int holdMaxMillis,
      int clients, String electionTimeout, String nodeFailureTimeout, long snapshotEvery, int diskMebibytes, Path out) {
    static Options defaults(Path out) {
      return new Options(3, 1, 0, 0, List.of(Nemesis.Kind.values()), 1000, 30_000, 3, "500ms", "60s", 200, 256, out);
    }

    FaultCluster.Settings cluster() {
      return new FaultCluster.Settings(nodes, electionTimeout, nodeFailureTimeout, snapshotEvery, diskMebibytes,
          kinds.contains(Nemesis.Kind.SLOW_LINKS));
    }
  }

  private static final Duration RECOVERY_BOUND = Duration.ofSeconds(120);

  private FaultRun() {}

  public static void main(String[] args) throws Exception {
    Options o;
    try {
      o = parse(args);
    } catch (IllegalArgumentException bad) {
      System.err.println("faults/run: " + bad.getMessage());
      System.exit(2);
      return;
    }
    Checker.Report report = run(o, System.getProperty("java.class.path"));
    System.out.println(report.markdown());
    System.out.println("history: " + o.out().resolve("history.jsonl") + ", report: " + o.out().resolve("report.md"));
    System.exit(report.clean() ? 0 : 1);
  }

  static Options parse(String[] args) {
    Options d = Options.defaults(Path.of("faults/target/run-" + System.currentTimeMillis()));
    int nodes = d.nodes();
    long seed = d.seed();
    double minutes = d.minutes();
    int faults = d.faults();
    List<Nemesis.Kind> kinds = d.kinds();
    int holdMin = d.holdMinMillis();
    int holdMax = d.holdMaxMillis();
    int clients = d.clients();
    String electionTimeout = d.electionTimeout();
    String nodeFailureTimeout = d.nodeFailureTimeout();
    long snapshotEvery = d.snapshotEvery();
    int diskMebibytes = d.diskMebibytes();
    Path out = d.out();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--help") || a.equals("-h")) {
        System.out.println("""
            faults/run [--minutes M | --faults N] [--seed S] [--nodes N] [--kinds K,...] [--hold-ms MIN,MAX] [--clients C]
                       [--election-timeout D] [--node-failure-timeout D] [--snapshot-every N] [--disk-mib M] [--out DIR]
              --minutes 0 (the default) injects each kind once; --faults N: N faults of the kinds at random; kinds: %s
              --snapshot-every N: each group snapshots every N entries (default 200: snapshots, purges and
                closed log segments happen during the run)
              --disk-mib M: each node's data directory on a tmpfs of M MiB (default 256; 0: on disk, no DISK_FULL)"""
            .formatted(Arrays.toString(Nemesis.Kind.values())));
        System.exit(0);
      }
      if (i + 1 >= args.length) {
        throw usage(a + " needs a value");
      }
      String v = args[++i];
      try {
        switch (a) {
          case "--minutes" -> minutes = Double.parseDouble(v);
          case "--faults" -> faults = Integer.parseInt(v);
          case "--seed" -> seed = Long.parseLong(v);
          case "--nodes" -> nodes = Integer.parseInt(v);
          case "--kinds" -> kinds = Arrays.stream(v.split(","))
              .map(k -> Nemesis.Kind.valueOf(k.strip().toUpperCase(java.util.Locale.ROOT).replace('-', '_'))).toList();
          case "--hold-ms" -> {
            String[] mm = v.split(",");
            holdMin = Integer.parseInt(mm[0].strip());
            holdMax = Integer.parseInt(mm[mm.length - 1].strip());
          }
          case "--clients" -> clients = Integer.parseInt(v);
          case "--node-failure-timeout" -> nodeFailureTimeout = FaultCluster.duration(v).toMillis() + "ms";
          case "--election-timeout" -> electionTimeout = FaultCluster.duration(v).toMillis() + "ms";
          case "--snapshot-every" -> snapshotEvery = Long.parseLong(v);
          case "--disk-mib" -> diskMebibytes = Integer.parseInt(v);
          case "--out" -> out = Path.of(v);
          default -> throw usage("unknown option " + a);
        }
      } catch (IllegalArgumentException bad) { // NumberFormatException, an unknown kind
        throw bad.getMessage() != null && bad.getMessage().endsWith("(faults/run --help)") ? bad
            : usage(a + " " + v + ": " + bad.getMessage());
      }
    }
    if (nodes < 3) {
      throw usage("--nodes must be at least 3 (a partition needs two sides and a majority)");
    }
    if (holdMin < 0 || holdMax < holdMin) {
      throw usage("--hold-ms needs 0 <= MIN <= MAX");
    }
    if (minutes < 0 || faults < 0 || clients < 1 || kinds.isEmpty()) {
      throw usage("--minutes and --faults must be >= 0, --clients >= 1, --kinds not empty");
    }
    if (minutes > 0 && faults > 0) {
      throw usage("--minutes and --faults: one or the other");
    }
    if (snapshotEvery < 1) {
      throw usage("--snapshot-every must be at least 1");
    }
    if (diskMebibytes != 0 && diskMebibytes < 128) {
      throw usage("--disk-mib must be 0 (no tmpfs) or at least 128 (a node keeps 64 MiB free)");
    }
    if (diskMebibytes == 0 && kinds.contains(Nemesis.Kind.DISK_FULL)) {
      kinds = kinds.stream().filter(k -> k != Nemesis.Kind.DISK_FULL).toList();
      if (kinds.isEmpty()) {
        throw usage("--kinds disk-full needs --disk-mib > 0");
      }
    }
    return new Options(nodes, seed, minutes, faults, kinds, holdMin, holdMax, clients, electionTimeout, nodeFailureTimeout,
        snapshotEvery, diskMebibytes, out);
  }

  private static IllegalArgumentException usage(String why) {
    return new IllegalArgumentException(why + " (faults/run --help)");
  }

  /** Runs the matrix with node processes on {@code classPath}; returns the checker's report. */
  static Checker.Report run(Options o, String classPath) throws Exception {
    Files.createDirectories(o.out());
    Random random = new Random(o.seed());
    History history = new History(o.out().resolve("history.jsonl"));
    Checker.Report report;
    try (history; FaultCluster cluster = new FaultCluster(o.out().resolve("cluster"), o.cluster(), classPath)) {
      cluster.start();
      cluster.awaitWhole(Duration.ofSeconds(120));
      Workload workload = new Workload(cluster, history, o.seed(), o.clients());
      workload.start();
      Nemesis nemesis = new Nemesis(cluster, random);
      try {
        Workload.pause(3000);
        for (Nemesis.Kind kind : schedule(o, random, history)) {
          inject(cluster, nemesis, kind, o, random, history);
        }
      } finally {
        workload.stop();
      }
      settle(cluster);
      finalAnswers(cluster, workload.mayExist(), history);
      digests(cluster, history);
      history.close();
      List<JsonNode> effects = new ArrayList<>();
      for (String line : Files.readAllLines(cluster.effectLog(), StandardCharsets.UTF_8)) {
        if (!line.isBlank()) {
          effects.add(History.JSON.readTree(line));
        }
      }
      report = Checker.check(history.events(), effects);
    }
    String md = "# Fault matrix run\n\nseed " + o.seed() + ", " + o.nodes() + " nodes, " + o.clients() + " clients, "
        + (o.faults() > 0 ? o.faults() + " faults" : o.minutes() == 0 ? "each kind once" : o.minutes() + " minutes") + ", faults held " + o.holdMinMillis() + "-"
        + o.holdMaxMillis() + " ms, election timeout " + o.electionTimeout() + ", node failure timeout " + o.nodeFailureTimeout()
        + ", snapshots every " + o.snapshotEvery() + " entries, " + (o.diskMebibytes() == 0 ? "data on disk"
        : "data on a " + o.diskMebibytes() + " MiB tmpfs per node") + "\n\n" + report.markdown();
    Files.writeString(o.out().resolve("report.md"), md);
    return report;
  }

  /** The kinds in the order they are injected: each once, or random ones until the time is up (null ends). */
  private static Iterable<Nemesis.Kind> schedule(Options o, Random random, History history) {
    if (o.faults() > 0) {
      List<Nemesis.Kind> some = new ArrayList<>();
      for (int i = 0; i < o.faults(); i++) {
        some.add(o.kinds().get(random.nextInt(o.kinds().size())));
      }
      return some;
    }
    if (o.minutes() == 0) {
      List<Nemesis.Kind> once = new ArrayList<>(o.kinds());
      Collections.shuffle(once, random);
      return once;
    }
    long endMillis = history.elapsedMillis() + (long) (o.minutes() * 60_000);
    return () -> new java.util.Iterator<>() {
      @Override
      public boolean hasNext() {
        return history.elapsedMillis() < endMillis;
      }

      @Override
      public Nemesis.Kind next() {
        return o.kinds().get(random.nextInt(o.kinds().size()));
      }
    };
  }

  private static void inject(FaultCluster cluster, Nemesis nemesis, Nemesis.Kind kind, Options o, Random random, History history)
      throws Exception {
    int hold = o.holdMinMillis() + random.nextInt(o.holdMaxMillis() - o.holdMinMillis() + 1);
    ObjectNode begin = history.event("fault").put("kind", kind.name()).put("hold_ms", hold);
    Nemesis.Fault fault = nemesis.begin(kind, begin);
    history.add(begin);
    System.out.printf("%6.1f s  %s %s%s for %d ms%n", history.elapsedMillis() / 1000.0, kind, begin.path("victims").isMissingNode()
        ? "sides " + begin.path("side_a") + " | " + begin.path("side_b") : "of " + begin.path("victims"),
        begin.has("shape") ? " (" + begin.path("shape").asText() + ")" : "", hold);
    Thread.sleep(hold);
    long healStart = System.nanoTime();
    ObjectNode healed = history.event("heal").put("kind", kind.name());
    fault.heal(healed);
    history.add(healed);
    long recovered = recover(cluster, random);
    long millis = recovered < 0 ? -1 : (recovered - healStart) / 1_000_000;
    history.add(history.event("recovered").put("kind", kind.name()).put("millis", millis));
    System.out.printf("%6.1f s  healed; serving again after %d ms%n", history.elapsedMillis() / 1000.0, millis);
    Thread.sleep(1000 + random.nextInt(2000));
  }

  /** Probes random nodes ({@link FaultCluster#probe}) until one completes; returns when (System.nanoTime), or -1 when none did within {@link #RECOVERY_BOUND}. */
  private static long recover(FaultCluster cluster, Random random) {
    long deadline = System.nanoTime() + RECOVERY_BOUND.toNanos();
    while (System.nanoTime() < deadline) {
      if (cluster.probe(1 + random.nextInt(cluster.size()))) {
        return System.nanoTime();
      }
      Workload.pause(100);
    }
    return -1;
  }

  /** Every node running and answering, every execution group with a leader and every node as a member. */
  private static void settle(FaultCluster cluster) throws Exception {
    cluster.network().healAll();
    if (cluster.links() != null) {
      cluster.links().clearAll();
    }
    for (int i = 1; i <= cluster.size(); i++) {
      if (cluster.isPaused(i)) {
        cluster.resume(i);
      }
      if (!cluster.isAlive(i)) {
        cluster.restart(i);
      }
    }
    cluster.awaitWhole(cluster.wholeAgainBound());
  }

  /** Every node's answer about every workflow a start may have created: awaited (first node) or described. */
  private static void finalAnswers(FaultCluster cluster, List<String> workflows, History history) {
    for (String wf : workflows) {
      for (int node = 1; node <= cluster.size(); node++) {
        ObjectNode e = history.event("final").put("wf", wf).put("node", node);
        try {
          Workload.record(e, cluster.client(node, Duration.ofSeconds(30)).await(wf, Duration.ofSeconds(node == 1 ? 90 : 10)));
        } catch (RaftoralException ex) {
          e.put("outcome", ex.code() == ErrorCode.NOT_FOUND ? "fail" : "unknown").put("error", ex.code().name());
        }
        history.add(e);
      }
    }
  }

  /** Whether every node's replica of each group reaches one digest (waiting up to 60 s for them to apply the same entries). */
  private static void digests(FaultCluster cluster, History history) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      Map<String, Set<String>> byGroup = new HashMap<>();
      Map<String, Integer> holders = new HashMap<>();
      List<String> silent = new ArrayList<>();
      List<String> replicas = new ArrayList<>(); // "n2 group@applied=digest", for the report
      for (int i = 1; i <= cluster.size(); i++) {
        try {
          for (ReplicaInfo r : cluster.clusterInfo(i, true).getReplicasList()) {
            byGroup.computeIfAbsent(r.getGroupId(), k -> new HashSet<>()).add(r.getDigest());
            holders.merge(r.getGroupId(), 1, Integer::sum);
            replicas.add(FaultCluster.label(i) + " " + r.getGroupId().substring(0, 8) + "@" + r.getAppliedIndex() + "="
                + r.getDigest().substring(0, Math.min(12, r.getDigest().length())) + " (" + r.getWorkflows() + " workflows)");
          }
        } catch (RuntimeException e) {
          silent.add(FaultCluster.label(i) + ": " + e.getMessage());
        }
      }
      boolean equal = silent.isEmpty() && !byGroup.isEmpty() && byGroup.values().stream().allMatch(d -> d.size() == 1)
          && holders.values().stream().allMatch(h -> h == cluster.size());
      if (equal || System.nanoTime() > deadline) {
        history.add(history.event("digests").put("equal", equal)
            .put("detail", "replicas " + replicas + ", holders " + holders + (silent.isEmpty() ? "" : ", silent " + silent)));
        return;
      }
      Thread.sleep(500);
    }
  }
}
