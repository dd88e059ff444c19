package io.raftoral.bench;

import io.raftoral.workflow.ExecutionMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Recorder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Closed-loop load generator: C clients each start a workflow, wait for its result, and start
 * the next. Latency is start-to-result per workflow (HdrHistogram). The nodes run in this
 * process ({@code embedded}, {@link EmbeddedCluster}) or as {@code raftoral node} processes
 * reached through the gRPC client API ({@code processes}, {@link ProcessCluster}); either way
 * with their Raft logs on disk (fsync on, Ratis's default).
 */
@Command(name = "bench/run", mixinStandardHelpOptions = true,
    description = {"Runs BENCHMARK.md workloads and prints the report table (or JSON rows).",
        "bench/run --jmh [JMH options] runs the JMH micro-benchmarks instead."})
public final class LoadGenerator implements Callable<Integer> {
  static final List<String> MODES = List.of("embedded", "processes");
  /** Concurrent clients of the closed loop that warms a cluster up before a burst (fanin). */
  static final int WARMUP_CLIENTS = 128;

  @Option(names = "--workload", description = "seq10 (default), fanin, bigstate or catchup")
  String workload = "seq10";

  @Option(names = "--nodes", split = ",", description = "cluster sizes, e.g. 1,3 (default: 1,3; bigstate: 3; catchup: 3 only)")
  List<Integer> nodes;

  @Option(names = "--mode", split = ",", description = "embedded (default: nodes in this JVM) and/or processes "
      + "(raftoral node processes, driven through the gRPC client API), e.g. embedded,processes; catchup: processes only")
  List<String> modes;

  @Option(names = "--clients", split = ",", description = "concurrent clients, e.g. 1,8,32,128 (default: all four); "
      + "catchup: the seq10 clients on nodes 1 and 2, one number (default 4)")
  List<Integer> clients;

  @Option(names = "--seconds", description = "measured seconds per row (default 20)")
  int seconds = 20;

  @Option(names = "--checkpoints", description = "bigstate: checkpoints the workflow writes (default 100,000)")
  int checkpoints = 100_000;

  @Option(names = "--keys", split = ",", description = "bigstate: key counts, one workflow each, written round-robin (default 1,1000)")
  List<Integer> keys = List.of(1, 1_000);

  @Option(names = "--value-bytes", description = "bigstate: bytes per checkpoint value (default 1024); catchup: of the state written (default 3072)")
  Integer valueBytes;

  @Option(names = "--catchup-mode", split = ",", description = "catchup: how node 3 misses the writes: down (default: SIGKILLed "
      + "before them, restarted with its data) and/or fresh (SIGKILLed and its data directory removed: back as a new node), e.g. down,fresh")
  List<String> catchUpModes = List.of("down");

  @Option(names = "--transfer-rate", split = ",", paramLabel = "BYTES_PER_S",
      description = "catchup: --snapshot-transfer-rate of every node, one catch-up (fresh cluster) per rate, e.g. 0,100000000 (default 0: no limit)")
  List<Long> transferRates = List.of(0L);

  @Option(names = "--state-mb", description = "catchup: MB of values (incompressible) written while node 3 is down (default 100)")
  int stateMb = 100;

  @Option(names = "--snapshot-every", description = "catchup: every node's --snapshot-every, so the leaders snapshot and purge (default 2000)")
  int snapshotEvery = 2000;

  @Option(names = "--heap-every", description = "bigstate: live heap of every node after every N checkpoints (default 10,000)")
  int heapEvery = 10_000;

  @Option(names = "--execution", split = ",", description = "bigstate: execution modes, one workflow each (default HOT_STANDBY,OWNER_ONLY)")
  List<ExecutionMode> executionModes = List.of(ExecutionMode.HOT_STANDBY, ExecutionMode.OWNER_ONLY);

  @Option(names = "--warmup", description = "warm-up seconds per row (default 10); fanin warms up with a closed loop at C = 128")
  int warmup = 10;

  @Option(names = "--node-jvm", paramLabel = "OPTIONS",
      description = "processes mode: extra JVM options for every node process, space-separated; {node} becomes "
          + "the node's number, e.g. '-XX:StartFlightRecording=filename=/tmp/node-{node}.jfr,settings=profile'")
  String nodeJvm = "";

  @Option(names = "--group-sizes", paramLabel = "[MIN,]TARGET[,MAX]", split = ",",
      description = "processes mode: execution group sizes for every node: MIN,TARGET,MAX becomes --min-group-size, "
          + "--target-group-size, --max-group-size; TARGET alone only --target-group-size (default: the node's defaults). "
          + "A node that refuses a flag fails the run, with its message")
  List<Integer> groupSizes = List.of();

  @Option(names = "--node-args", paramLabel = "ARGS",
      description = "processes mode: more `raftoral node` options for every node, space-separated, e.g. '--max-voters 5'")
  String nodeArgs = "";

  @Option(names = "--bootstrap-nodes", paramLabel = "K",
      description = "processes mode: how many nodes bootstrap the cluster together (--members); the others join one by one "
          + "(default 3, or N when N < 3)")
  int bootstrapNodes = 3;

  @Option(names = "--idle-seconds", paramLabel = "S",
      description = "processes mode: before the warm-up, measure the placed cluster's traffic with no workflows for S seconds "
          + "(default 0: not measured; 30 for the scaling table)")
  int idleSeconds;

  @Option(names = "--workers", description = "processes mode, seq10: run seq10 through the worker protocol, a worker "
      + "process of this language (go, python, ts: bench/workers/) beside every node, as the type seq10-worker")
  String workers;

  @Option(names = "--js", description = "seq10: run seq10 with its steps in JavaScript (bench/js/seq10.mjs, the type seq10-js, "
      + "through polyglot-graal) on the same nodes: node processes get --workflows bench/js/seq10.mjs, embedded nodes load it "
      + "with GraalWorkflows")
  boolean js;

  @Option(names = "--truffle", paramLabel = "interpreter|optimizing", description = "processes mode with --js: how the node "
      + "JVMs run JavaScript: interpreter (default: a stock JVM, as raftoral node runs) or optimizing (the optimizing Truffle "
      + "runtime: JVMCI on, the Graal jars on the module path, org.graalvm.compiler:compiler on the upgrade module path)")
  String truffle;

  @Option(names = "--keep-node-files", description = "processes mode: keep the node processes' logs (stdout, stderr) "
      + "and data directories after each row; the path is printed")
  boolean keepNodeFiles;

  @Option(names = "--json", description = "print one JSON object per row")
  boolean json;

  public static void main(String[] args) {
    System.exit(new CommandLine(new LoadGenerator()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    boolean catchUp = workload.equals("catchup");
    if (modes == null) {
      modes = List.of(catchUp ? "processes" : "embedded");
    }
    if (clients == null) {
      clients = catchUp ? List.of(4) : List.of(1, 8, 32, 128);
    }
    if (valueBytes == null) {
      valueBytes = catchUp ? 3072 : 1024;
    }
    for (String mode : modes) {
      if (!MODES.contains(mode)) {
        throw new CommandLine.ParameterException(new CommandLine(this), "--mode " + mode + ": expected one of " + MODES);
      }
    }
    if (!List.of("seq10", "fanin", "bigstate", "catchup").contains(workload)) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--workload " + workload
          + " is not available here (seq10, fanin, bigstate, catchup); ffi is bench/ffi and bench/ffi-go");
    }
    if (catchUp && (!modes.equals(List.of("processes")) || (nodes != null && !nodes.equals(List.of(3))) || clients.size() != 1
        || !CatchUpBench.MODES.containsAll(catchUpModes) || stateMb < 1 || valueBytes < 1 || snapshotEvery < 1
        || transferRates.stream().anyMatch(r -> r < 0) || seconds < 1 || warmup < 0)) {
      throw new CommandLine.ParameterException(new CommandLine(this), "catchup runs on 3 node processes (--mode processes --nodes 3) "
          + "with one --clients number, --catchup-mode " + CatchUpBench.MODES + ", positive --state-mb, --value-bytes, --snapshot-every "
          + "and --seconds, --transfer-rate >= 0");
    }
    if (workers != null && (!modes.equals(List.of("processes")) || !workload.equals("seq10")
        || !BenchWorkers.LANGUAGES.contains(workers))) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--workers " + workers + ": one of " + BenchWorkers.LANGUAGES + ", for --workload seq10 --mode processes");
    }
    checkJs();
    if (modes.contains("embedded") && (!groupSizes.isEmpty() || !nodeArgs.isBlank() || idleSeconds > 0)) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--group-sizes, --node-args and --idle-seconds are for --mode processes (node processes on loopback)");
    }
    if (seconds <= 0 && idleSeconds <= 0) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--seconds 0 (no load) needs --idle-seconds S");
    }
    if (workload.equals("bigstate") && (checkpoints < 1 || valueBytes < 1 || heapEvery < 1 || keys.stream().anyMatch(k -> k < 1))) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--checkpoints, --keys, --value-bytes and --heap-every must be positive");
    }
    List<Integer> sizes = nodes != null ? nodes : workload.equals("bigstate") ? List.of(3) : List.of(1, 3);
    if (!json) {
      System.out.println(workload.equals("bigstate") ? BigStateBench.Row.HEADER : catchUp ? CatchUpBench.Row.HEADER : Report.HEADER);
    }
    if (catchUp) {
      catchUps();
      return 0;
    }
    for (String mode : modes) {
      for (int size : sizes) {
        if (workload.equals("bigstate")) {
          bigState(mode, size);
          continue;
        }
        for (int c : workload.equals("fanin") ? List.of(1000) : seconds <= 0 ? List.of(0) : clients) {
          Report r = workload.equals("fanin") ? fanin(mode, size) : closedLoop(mode, size, c);
          System.out.println(json ? r.json() : r.markdown());
          if (!json && !r.detail().isEmpty()) {
            System.err.println(r.detail());
          }
        }
      }
    }
    return 0;
  }

  /** {@code --js} is for seq10 without workers; {@code --truffle} for --js on node processes (an embedded node runs in this JVM). */
  void checkJs() {
    if (js && (!workload.equals("seq10") || workers != null)) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--js runs seq10 in JavaScript: for --workload seq10, without --workers");
    }
    if (truffle != null) {
      JsSeq10.Truffle t;
      try {
        t = JsSeq10.Truffle.parse(truffle);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(new CommandLine(this), e.getMessage());
      }
      if (!js || (t == JsSeq10.Truffle.OPTIMIZING && modes != null && modes.contains("embedded"))) {
        throw new CommandLine.ParameterException(new CommandLine(this), "--truffle " + truffle
            + " is for --js; optimizing only with --mode processes (the node JVMs get its options; embedded nodes run in this JVM)");
      }
    }
  }

  /** The Truffle runtime of node processes with {@code --js}, else null. */
  private JsSeq10.Truffle jsRuntime() {
    return !js ? null : truffle == null ? JsSeq10.Truffle.INTERPRETER : JsSeq10.Truffle.parse(truffle);
  }

  /** A fresh cluster of {@code size} nodes in {@code mode}; every row gets its own. */
  Target open(String mode, int size) throws Exception {
    return switch (mode) {
      case "embedded" -> EmbeddedCluster.start(size, js);
      case "processes" -> {
        ProcessCluster cluster = ProcessCluster.start(size, words(nodeJvm), nodeArguments(), bootstrapNodes,
            groupSizes.size() == 3 ? List.of(groupSizes.get(0), groupSizes.get(2)) : List.of(), keepNodeFiles, workers, jsRuntime());
        System.err.println("placement: " + cluster.placement());
        yield cluster;
      }
      default -> throw new IllegalArgumentException("unknown mode " + mode);
    };
  }

  private static List<String> words(String options) {
    return options.isBlank() ? List.of() : Arrays.asList(options.strip().split("\\s+"));
  }

  /** The {@code raftoral node} options of {@code --group-sizes} and {@code --node-args}. */
  List<String> nodeArguments() {
    List<String> args = new ArrayList<>();
    switch (groupSizes.size()) {
      case 0 -> { }
      case 1 -> args.addAll(List.of("--target-group-size", groupSizes.get(0).toString()));
      case 3 -> args.addAll(List.of("--min-group-size", groupSizes.get(0).toString(), "--target-group-size", groupSizes.get(1).toString(),
          "--max-group-size", groupSizes.get(2).toString()));
      default -> throw new CommandLine.ParameterException(new CommandLine(this),
          "--group-sizes " + groupSizes + ": expected TARGET or MIN,TARGET,MAX");
    }
    args.addAll(words(nodeArgs));
    return args;
  }

  Report closedLoop(String mode, int size, int c) throws Exception {
    try (Target target = open(mode, size)) {
      Idle idle = idle(target);
      if (seconds <= 0) { // the idle traffic only
        return new Report(workload, target.size(), target.mode(), 0, 0, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
            Arrays.stream(target.rssMb()).sum(), 0, 0, List.of(), List.of(), Double.NaN).withTraffic(idle);
      }
      Report row = closedLoop(target, c).withTraffic(idle);
      if (window != null && !Double.isNaN(idle.loBytesPerSecond()) && window.commands() > 0) {
        // Without what the cluster sends anyway (heartbeats, the management group) over as long:
        // an upper bound of that part, as entries under load stand in for some heartbeats.
        System.err.printf(java.util.Locale.ROOT, "traffic net of the idle rate: lo %.0f B/ckpt, Raft sockets %.0f B/ckpt%n",
            (window.lo() - idle.loBytesPerSecond() * seconds) / window.commands(),
            (window.raft() - idle.raftBytesPerSecond() * seconds) / window.commands());
      }
      return row;
    }
  }

  /** The last measured window's commands and bytes (lo, Raft sockets). */
  private record Window(long commands, long lo, long raft) {}

  private Window window;

  /**
   * The placed cluster's own traffic with no workflows, over {@code --idle-seconds}: bytes/s over
   * {@code lo}, of them on Raft sockets, and the execution groups' follower links then.
   */
  record Idle(double loBytesPerSecond, double raftBytesPerSecond, long executionFollowerLinks) {
    static final Idle NONE = new Idle(Double.NaN, Double.NaN, 0);
  }

  private Idle idle(Target target) throws InterruptedException {
    if (idleSeconds <= 0 || !(target instanceof ProcessCluster cluster)) {
      return Idle.NONE;
    }
    long links = cluster.executionFollowerLinks();
    Traffic before = Traffic.now();
    long t0 = System.nanoTime();
    Thread.sleep(Duration.ofSeconds(idleSeconds));
    Traffic after = Traffic.now();
    double s = (System.nanoTime() - t0) / 1e9;
    Idle idle = new Idle(after.loSince(before) / s, after.socketsSince(before, cluster.raftPorts(), true) / s, links);
    System.err.printf(java.util.Locale.ROOT, "idle %d s, %d nodes, %d execution follower links: lo %.0f B/s (%s), "
            + "payload on Raft sockets %.0f B/s, on other sockets %.0f B/s%n",
        idleSeconds, target.size(), links, idle.loBytesPerSecond(), Traffic.privateLoopback() ? "private network namespace"
            : "SHARED loopback: other programs' traffic included", idle.raftBytesPerSecond(),
        after.socketsSince(before, cluster.raftPorts(), false) / s);
    String behind = cluster.viewsBehind();
    if (!behind.isEmpty()) {
      System.err.println("after the idle window, nodes whose own view differs from the management leader's: " + behind);
    }
    return idle;
  }

  private Report closedLoop(Target target, int c) throws Exception {
    Recorder recorder = new Recorder(3);
    AtomicLong completed = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long warmupEnd = System.nanoTime() + Duration.ofSeconds(warmup).toNanos();
    long end = warmupEnd + Duration.ofSeconds(seconds).toNanos();
    AtomicLong ended = new AtomicLong();
    List<Thread> threads = drive(target, c, warmupEnd, end, recorder, completed, errors, ended);
    Usage before;
    Traffic trafficBefore;
    Traffic trafficAfter;
    long endedInWindow;
    try (Progress ignored = Progress.start(workload + " C=" + c, warmupEnd, end, ended::get, errors::get)) {
      Thread.sleep(Duration.ofSeconds(warmup));
      recorder.reset();
      before = Usage.of(target);
      trafficBefore = Traffic.now();
      long endedBefore = ended.get();
      Thread.sleep(Math.max(0, (end - System.nanoTime()) / 1_000_000));
      trafficAfter = Traffic.now();
      endedInWindow = ended.get() - endedBefore;
      for (Thread t : threads) {
        t.join();
      }
    }
    Usage after = Usage.of(target);
    double elapsed = Math.min((after.wallNanos - before.wallNanos) / 1e9, seconds);
    var h = recorder.getIntervalHistogram();
    double wfs = completed.get() / (double) seconds;
    // Per committed command of the workflows that ended in the window: a seq10 workflow commits
    // 12 (its start, 10 checkpoints, its end). In a closed loop at a steady rate the commands the
    // window's bytes carry are as many as those of the workflows that ended in it.
    long commands = endedInWindow * Workloads.SEQ10_COMMANDS;
    double lo = commands == 0 ? Double.NaN : trafficAfter.loSince(trafficBefore) / (double) commands;
    double raft = commands == 0 || !(target instanceof ProcessCluster cluster) ? Double.NaN
        : trafficAfter.socketsSince(trafficBefore, cluster.raftPorts(), true) / (double) commands;
    window = new Window(commands, trafficAfter.loSince(trafficBefore), target instanceof ProcessCluster pc
        ? trafficAfter.socketsSince(trafficBefore, pc.raftPorts(), true) : 0);
    if (commands > 0) {
      System.err.printf(java.util.Locale.ROOT, "traffic: %d workflows ended in the %d s window (%d commands): lo %d B (%s)%s%n",
          endedInWindow, seconds, commands, trafficAfter.loSince(trafficBefore), Traffic.privateLoopback() ? "private network namespace"
              : "SHARED loopback: other programs' traffic included", target instanceof ProcessCluster cluster
              ? String.format(", payload on Raft sockets %d B, on other sockets %d B", trafficAfter.socketsSince(trafficBefore,
                  cluster.raftPorts(), true), trafficAfter.socketsSince(trafficBefore, cluster.raftPorts(), false)) : "");
    }
    if (!workload.equals("seq10")) {
      lo = Double.NaN;
      raft = Double.NaN;
    }
    return report(target, c, wfs, h, before, after, elapsed, completed.get(), errors.get()).withBytesPerCommand(lo, raft);
  }

  /**
   * Starts {@code c} closed-loop seq10 clients that run until {@code end}; a workflow that
   * started at or after {@code from} and ended by {@code end} is recorded and counted.
   */
  private static List<Thread> drive(Target target, int c, long from, long end, Recorder recorder, AtomicLong completed,
      AtomicLong errors) {
    return drive(target, c, from, end, recorder, completed, errors, new AtomicLong());
  }

  /** As above; {@code ended} counts every workflow that completes, whenever it started. */
  private static List<Thread> drive(Target target, int c, long from, long end, Recorder recorder, AtomicLong completed,
      AtomicLong errors, AtomicLong ended) {
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < c; i++) {
      Target.Seq10Client client = target.client(i);
      threads.add(Thread.ofVirtual().start(() -> {
        int n = 0;
        while (System.nanoTime() < end) {
          long t0 = System.nanoTime();
          try {
            int input = n++;
            int result = client.run(input);
            if (result != input + 55) {
              throw new IllegalStateException("seq10(" + input + ") returned " + result);
            }
            long t1 = System.nanoTime();
            ended.incrementAndGet();
            if (t0 >= from && t1 <= end) {
              recorder.recordValue((t1 - t0) / 1000);
              completed.incrementAndGet();
            }
          } catch (Exception e) {
            if (errors.incrementAndGet() <= 3) {
              System.err.println("workflow failed: " + e);
            }
          }
        }
      }));
    }
    return threads;
  }

  /**
   * Brings a fresh cluster to its steady state before a burst: {@code --warmup} seconds of
   * closed-loop seq10 at C = 128 (JIT, heap, connections), as a service that has been running
   * would be. With {@code --warmup 0} the burst meets cold JVMs.
   */
  private void warmUp(Target target) throws InterruptedException {
    if (warmup <= 0) {
      return;
    }
    long end = System.nanoTime() + Duration.ofSeconds(warmup).toNanos();
    AtomicLong errors = new AtomicLong();
    for (Thread t : drive(target, WARMUP_CLIENTS, end, end, new Recorder(3), new AtomicLong(), errors)) {
      t.join();
    }
    if (errors.get() > 0) {
      System.err.println("warm-up: " + errors.get() + " workflows failed");
    }
  }

  /** fanin: after the warm-up, 1,000 seq10 workflows started at once; the time until all are complete. */
  Report fanin(String mode, int size) throws Exception {
    try (Target target = open(mode, size)) {
      warmUp(target);
      int count = 1000;
      Recorder recorder = new Recorder(3);
      AtomicLong errors = new AtomicLong();
      Usage before = Usage.of(target);
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        Target.Seq10Client client = target.client(i);
        int input = i;
        threads.add(Thread.ofVirtual().start(() -> {
          long s = System.nanoTime();
          try {
            int result = client.run(input);
            if (result != input + 55) {
              throw new IllegalStateException("seq10(" + input + ") returned " + result);
            }
            recorder.recordValue((System.nanoTime() - s) / 1000);
          } catch (Exception e) {
            if (errors.incrementAndGet() <= 3) {
              System.err.println("workflow failed: " + e);
            }
          }
        }));
      }
      for (Thread t : threads) {
        t.join();
      }
      Usage after = Usage.of(target);
      double elapsed = (after.wallNanos - before.wallNanos) / 1e9;
      var h = recorder.getIntervalHistogram();
      double wfs = (count - errors.get()) / elapsed;
      System.err.printf("fanin: %d workflows on %d node(s) (%s) complete in %.2f s%n", count, size, target.mode(), elapsed);
      return report(target, count, wfs, h, before, after, elapsed, count - errors.get(), errors.get());
    }
  }

  /**
   * bigstate: for each execution mode and key count, a fresh cluster runs one {@link BigState}
   * workflow ({@link BigStateBench}: live heap of every node after every {@code --heap-every}
   * checkpoints, history query latency, state store bytes on disk). Prints each row once its
   * workflow is measured.
   */
  List<BigStateBench.Row> bigState(String mode, int size) throws Exception {
    List<BigStateBench.Row> rows = new ArrayList<>();
    for (ExecutionMode execution : executionModes) {
      for (int k : keys) {
        try (Target target = open(mode, size)) {
          BigStateBench.Row r = BigStateBench.run(target, execution, k, checkpoints, valueBytes, heapEvery);
          System.out.println(json ? r.json() : r.markdown());
          rows.add(r);
        }
      }
    }
    return rows;
  }

  /** catchup: one catch-up of node 3 per {@code --catchup-mode} and {@code --transfer-rate}, each on a fresh cluster ({@link CatchUpBench}). */
  List<CatchUpBench.Row> catchUps() throws Exception {
    List<CatchUpBench.Row> rows = new ArrayList<>();
    for (String catchUpMode : catchUpModes) {
      for (long rate : transferRates) {
        CatchUpBench.Row r = CatchUpBench.run(catchUpMode, rate, clients.getFirst(), stateMb * 1_000_000L, valueBytes, snapshotEvery,
            warmup, seconds, words(nodeJvm), nodeArguments(), keepNodeFiles);
        System.out.println(json ? r.json() : r.markdown());
        rows.add(r);
      }
    }
    return rows;
  }

  private Report report(Target target, int c, double wfs, org.HdrHistogram.Histogram h, Usage before, Usage after,
      double elapsed, long completed, long errors) {
    double[] rss = target.rssMb();
    List<Double> nodeCpu = new ArrayList<>();
    for (int i = 0; i < after.nodeCpuSeconds.length; i++) {
      nodeCpu.add((after.nodeCpuSeconds[i] - before.nodeCpuSeconds[i]) / Math.max(elapsed, 1e-9) * 100);
    }
    double cpu = nodeCpu.stream().mapToDouble(Double::doubleValue).sum();
    boolean separate = target instanceof ProcessCluster;
    double selfCpu = (after.selfCpuSeconds - before.selfCpuSeconds) / Math.max(elapsed, 1e-9) * 100;
    return new Report(workload, target.size(), target.mode(), c, wfs, wfs * 10, h.getValueAtPercentile(50) / 1000.0,
        h.getValueAtPercentile(90) / 1000.0, h.getValueAtPercentile(99) / 1000.0, cpu, Arrays.stream(rss).sum(),
        completed, errors, separate ? nodeCpu : List.of(), separate ? Arrays.stream(rss).boxed().toList() : List.of(),
        separate ? selfCpu : Double.NaN);
  }

  /** CPU seconds of the node processes and of this one, at one moment. */
  private record Usage(long wallNanos, double[] nodeCpuSeconds, double selfCpuSeconds) {
    static Usage of(Target target) {
      return new Usage(System.nanoTime(), target.cpuSeconds(), EmbeddedCluster.processCpuSeconds());
    }
  }
}
