package io.raftoral.bench;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.HdrHistogram.Recorder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Closed-loop load generator: C clients each start a workflow, wait for its result, and start
 * the next. Latency is start-to-result per workflow (HdrHistogram). Nodes run in this process
 * ("embedded") with their Raft logs on disk (fsync on, Ratis's default).
 */
@Command(name = "bench/run", mixinStandardHelpOptions = true,
    description = "Runs BENCHMARK.md workloads and prints the report table (or JSON rows).")
public final class LoadGenerator implements Callable<Integer> {
  @Option(names = "--workload", description = "seq10 (default) or fanin")
  String workload = "seq10";

  @Option(names = "--nodes", split = ",", description = "cluster sizes, e.g. 1,3 (default: 1,3)")
  List<Integer> nodes = List.of(1, 3);

  @Option(names = "--mode", description = "embedded (the only mode until the node API exists)")
  String mode = "embedded";

  @Option(names = "--clients", split = ",", description = "concurrent clients, e.g. 1,8,32,128 (default: all four)")
  List<Integer> clients = List.of(1, 8, 32, 128);

  @Option(names = "--seconds", description = "measured seconds per row (default 20)")
  int seconds = 20;

  @Option(names = "--warmup", description = "warm-up seconds per row (default 10)")
  int warmup = 10;

  @Option(names = "--json", description = "print one JSON object per row")
  boolean json;

  public static void main(String[] args) {
    System.exit(new CommandLine(new LoadGenerator()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    if (!mode.equals("embedded")) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--mode " + mode + " is not available: node processes need the gRPC node API, which does not exist yet");
    }
    if (!List.of("seq10", "fanin").contains(workload)) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--workload " + workload + " is not available here (seq10, fanin); bigstate, ffi and snapshot need later issues");
    }
    if (!json) {
      System.out.println(Report.HEADER);
    }
    for (int size : nodes) {
      for (int c : workload.equals("fanin") ? List.of(1000) : clients) {
        Report r = workload.equals("fanin") ? fanin(size) : closedLoop(size, c);
        System.out.println(json ? r.json() : r.markdown());
      }
    }
    return 0;
  }

  Report closedLoop(int size, int c) throws Exception {
    try (Cluster cluster = Cluster.start(size)) {
      Recorder recorder = new Recorder(3);
      AtomicLong completed = new AtomicLong();
      AtomicLong errors = new AtomicLong();
      long warmupEnd = System.nanoTime() + Duration.ofSeconds(warmup).toNanos();
      long end = warmupEnd + Duration.ofSeconds(seconds).toNanos();
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < c; i++) {
        RaftoralNode node = cluster.nodes.get(i % size);
        threads.add(Thread.ofVirtual().start(() -> {
          int n = 0;
          while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            try {
              int input = n++;
              int result = node.start("seq10", 1, input, Integer.class).result(Duration.ofSeconds(60));
              if (result != input + 55) {
                throw new IllegalStateException("seq10(" + input + ") returned " + result);
              }
              long t1 = System.nanoTime();
              if (t0 >= warmupEnd && t1 <= end) {
                recorder.recordValue((t1 - t0) / 1000);
                completed.incrementAndGet();
              }
            } catch (RuntimeException e) {
              if (errors.incrementAndGet() <= 3) {
                System.err.println("workflow failed: " + e);
              }
            }
          }
        }));
      }
      Thread.sleep(Duration.ofSeconds(warmup));
      recorder.reset();
      double cpu0 = processCpuSeconds();
      long wall0 = System.nanoTime();
      for (Thread t : threads) {
        t.join();
      }
      double elapsed = Math.min((System.nanoTime() - wall0) / 1e9, seconds);
      double cpu = (processCpuSeconds() - cpu0) / Math.max(elapsed, 1e-9) * 100;
      var h = recorder.getIntervalHistogram();
      double wfs = completed.get() / (double) seconds;
      return new Report(workload, size, mode, c, wfs, wfs * 10, h.getValueAtPercentile(50) / 1000.0,
          h.getValueAtPercentile(90) / 1000.0, h.getValueAtPercentile(99) / 1000.0, cpu, rssMb(), completed.get(), errors.get());
    }
  }

  /** fanin: 1,000 seq10 workflows started at once; the time until all are complete. */
  private Report fanin(int size) throws Exception {
    try (Cluster cluster = Cluster.start(size)) {
      int count = 1000;
      Recorder recorder = new Recorder(3);
      AtomicLong errors = new AtomicLong();
      double cpu0 = processCpuSeconds();
      long t0 = System.nanoTime();
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        RaftoralNode node = cluster.nodes.get(i % size);
        int input = i;
        threads.add(Thread.ofVirtual().start(() -> {
          long s = System.nanoTime();
          try {
            node.start("seq10", 1, input, Integer.class).result(Duration.ofSeconds(120));
            recorder.recordValue((System.nanoTime() - s) / 1000);
          } catch (RuntimeException e) {
            errors.incrementAndGet();
          }
        }));
      }
      for (Thread t : threads) {
        t.join();
      }
      double elapsed = (System.nanoTime() - t0) / 1e9;
      var h = recorder.getIntervalHistogram();
      double wfs = (count - errors.get()) / elapsed;
      double cpu = (processCpuSeconds() - cpu0) / elapsed * 100;
      System.err.printf("fanin: %d workflows on %d node(s) complete in %.2f s%n", count, size, elapsed);
      return new Report("fanin", size, mode, count, wfs, wfs * 10, h.getValueAtPercentile(50) / 1000.0,
          h.getValueAtPercentile(90) / 1000.0, h.getValueAtPercentile(99) / 1000.0, cpu, rssMb(), count - errors.get(), errors.get());
    }
  }

  private static double processCpuSeconds() {
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    return os.getProcessCpuTime() / 1e9;
  }

  /** Resident set size of this process (all embedded nodes together), from /proc. */
  private static double rssMb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // not Linux: report 0
    }
    return 0;
  }

  /** Nodes in this process, each with its Raft log on disk under a temporary directory. */
  static final class Cluster implements AutoCloseable {
    final List<RaftoralNode> nodes;
    private final LocalCluster local;
    private final Path root;

    private Cluster(LocalCluster local, Path root) {
      this.local = local;
      this.nodes = local.nodes();
      this.root = root;
    }

    static Cluster start(int size) throws IOException {
      Path root = Files.createTempDirectory("raftoral-bench-");
      return new Cluster(LocalCluster.start(size, root, (id, b) -> b.register(Workloads.SEQ10)), root);
    }

    @Override
    public void close() throws IOException {
      local.close();
      try (Stream<Path> paths = Files.walk(root)) {
        for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }
}
