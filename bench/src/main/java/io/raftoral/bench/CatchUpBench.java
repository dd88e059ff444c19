package io.raftoral.bench;

import io.raftoral.proto.client.ReplicaInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * The {@code catchup} workload (issue 22) on one fresh cluster of 3 node processes: node 3 is
 * SIGKILLed (with {@code fresh}, its data directory removed too) before a state of {@code stateMb}
 * is written, so that it misses those writes and the leader snapshots and purges its log past
 * node 3's position; then, with seq10 load running on nodes 1 and 2, node 3 is started again and
 * catches up through a snapshot it fetches out of band (SnapshotFetcher). Measured: the transfer
 * (parsed from the line node 3 logs when it installed it), the time from the restart until node 3
 * applied as far as node 1, and seq10 latency during the catch-up and during the transfer vs a
 * window of the same length just before the restart (node 3 down, no transfer). Progress goes to
 * stderr; the result is one {@link Row}.
 */
final class CatchUpBench {
  /** The line SnapshotFetcher logs (INFO) on the node that installed a snapshot fetched out of band. */
  static final Pattern TRANSFER = Pattern.compile("group (\\S+): installed snapshot (\\S+) \\(t:(\\d+), i:(\\d+)\\) "
      + "fetched out of band: total=(\\d+) fetched=(\\d+) resumed=(\\d+) refetched=(\\d+) bySource=\\{([^}]*)\\} "
      + "in (\\d+) ms \\(([0-9.]+) MB/s\\)");
  private static final Pattern LOG_FILE = Pattern.compile("log_(?:inprogress_)?(\\d+)(?:-\\d+)?");
  /** Workflows that write the state at once (each pipelines its own writes). */
  static final int WRITERS = 4;
  /** Keys per writing workflow, written round-robin. */
  static final int KEYS = 1_000;
  static final Duration WRITE_TIMEOUT = Duration.ofMinutes(30);
  static final Duration CATCH_UP_TIMEOUT = Duration.ofMinutes(10);
  static final Duration CONVERGE_TIMEOUT = Duration.ofMinutes(3);
  /** Rounds of seq10 workflows run after the writes, at most, until the leaders purged past node 3's position. */
  static final int PURGE_ROUNDS = 60;

  private CatchUpBench() {}

  /** How node 3 misses the writes: kept down with its data ({@code down}), or down and wiped, back as a new node ({@code fresh}). */
  static final List<String> MODES = List.of("down", "fresh");

  /** One install of a snapshot fetched out of band, as node 3 logged it. */
  record Transfer(String group, String snapshot, long index, long totalBytes, long fetchedBytes, long resumedBytes,
      long refetchedBytes, String bySource, long millis, double mbPerSecond) {
    static List<Transfer> parse(String log) {
      List<Transfer> all = new ArrayList<>();
      Matcher m = TRANSFER.matcher(log);
      while (m.find()) {
        all.add(new Transfer(m.group(1), m.group(2), Long.parseLong(m.group(4)), Long.parseLong(m.group(5)),
            Long.parseLong(m.group(6)), Long.parseLong(m.group(7)), Long.parseLong(m.group(8)), m.group(9),
            Long.parseLong(m.group(10)), Double.parseDouble(m.group(11))));
      }
      return all;
    }
  }

  /** seq10 workflows that started and ended in a window: how many, p50 and p99 in ms (NaN when none). */
  record Latency(double seconds, long count, double p50Ms, double p99Ms) {
    String markdown() {
      return count == 0 ? "- (0)" : String.format(Locale.ROOT, "%.1f / %.1f (%d)", p50Ms, p99Ms, count);
    }

    String json() {
      return String.format(Locale.ROOT, "{\"seconds\":%.2f,\"count\":%d,\"p50_ms\":%s,\"p99_ms\":%s}", seconds, count,
          count == 0 ? "null" : String.format(Locale.ROOT, "%.2f", p50Ms), count == 0 ? "null" : String.format(Locale.ROOT, "%.2f", p99Ms));
    }
  }

  /**
   * What one catch-up measured. {@code transfers}: every out-of-band install node 3 logged (one
   * per group it caught up that way); the row's bytes are their sum, its MB/s and seconds those of
   * the largest. {@code caughtUpSeconds}: from node 3's restart until its every replica had applied
   * at least as far as node 1's replica of that group (under load a digest is only equal at the
   * same index); {@code digestsEqual}: once the load stopped, all three nodes' replicas reported one
   * digest per group.
   */
  record Row(String catchUpMode, long rateLimit, int clients, long writtenBytes, List<Transfer> transfers,
      double caughtUpSeconds, Latency withoutCatchUp, Latency duringCatchUp, Latency withoutTransfer, Latency duringTransfer,
      long errors, boolean digestsEqual) {
    static final String HEADER = "| workload | node 3 | transfer limit B/s | C | written MB | snapshot MB | fetched MB (resumed, refetched) "
        + "| by source | transfer s | transfer MB/s | restart → caught up s | seq10 p50 / p99 ms (n): before restart, same length "
        + "| during catch-up | before restart, transfer's length | during transfer | errors | digests equal |\n"
        + "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

    Transfer largest() {
      return transfers.stream().max(java.util.Comparator.comparingLong(Transfer::fetchedBytes)).orElse(null);
    }

    long fetchedBytes() {
      return transfers.stream().mapToLong(Transfer::fetchedBytes).sum();
    }

    String markdown() {
      Transfer big = largest();
      long resumed = transfers.stream().mapToLong(Transfer::resumedBytes).sum();
      long refetched = transfers.stream().mapToLong(Transfer::refetchedBytes).sum();
      return String.format(Locale.ROOT, "| catchup | %s | %s | %d | %.1f | %s | %.1f (%.1f, %.1f) | %s | %s | %s | %.1f | %s | %s | %s | %s | %d | %s |",
          catchUpMode, rateLimit == 0 ? "unlimited" : Long.toString(rateLimit), clients, writtenBytes / 1e6,
          big == null ? "-" : String.format(Locale.ROOT, "%.1f", big.totalBytes() / 1e6), fetchedBytes() / 1e6, resumed / 1e6,
          refetched / 1e6, big == null ? "-" : "{" + big.bySource() + "}", big == null ? "-" : String.format(Locale.ROOT, "%.2f", big.millis() / 1e3),
          big == null ? "-" : String.format(Locale.ROOT, "%.1f", big.mbPerSecond()), caughtUpSeconds, withoutCatchUp.markdown(),
          duringCatchUp.markdown(), withoutTransfer.markdown(), duringTransfer.markdown(), errors, digestsEqual ? "yes" : "NO");
    }

    String json() {
      String each = transfers.stream().map(t -> String.format(Locale.ROOT,
              "{\"group\":\"%s\",\"snapshot\":\"%s\",\"index\":%d,\"total_bytes\":%d,\"fetched_bytes\":%d,\"resumed_bytes\":%d,"
                  + "\"refetched_bytes\":%d,\"by_source\":\"%s\",\"millis\":%d,\"mb_per_s\":%.1f}", t.group(), t.snapshot(), t.index(),
              t.totalBytes(), t.fetchedBytes(), t.resumedBytes(), t.refetchedBytes(), t.bySource(), t.millis(), t.mbPerSecond()))
          .collect(Collectors.joining(",", "[", "]"));
      return String.format(Locale.ROOT, "{\"workload\":\"catchup\",\"node3\":\"%s\",\"transfer_rate_limit\":%d,\"clients\":%d,"
              + "\"written_bytes\":%d,\"transfers\":%s,\"caught_up_s\":%.2f,\"seq10_before_restart\":%s,\"seq10_during_catch_up\":%s,"
              + "\"seq10_before_restart_transfer_length\":%s,\"seq10_during_transfer\":%s,\"errors\":%d,\"digests_equal\":%b,"
              + "\"private_loopback\":%b}",
          catchUpMode, rateLimit, clients, writtenBytes, each, caughtUpSeconds, withoutCatchUp.json(), duringCatchUp.json(),
          withoutTransfer.json(), duringTransfer.json(), errors, digestsEqual, Traffic.privateLoopback());
    }
  }

  /**
   * @param catchUpMode {@code down} or {@code fresh}
   * @param rateLimit {@code --snapshot-transfer-rate} of every node (bytes/s, 0 = none)
   * @param stateBytes at least this many value bytes are written while node 3 is down
   * @param seconds seq10 load measured before the restart (after {@code warmup}): the longest baseline window
   */
  static Row run(String catchUpMode, long rateLimit, int clients, long stateBytes, int valueBytes, int snapshotEvery,
      int warmup, int seconds, List<String> jvm, List<String> nodeArgs, boolean keepFiles) throws Exception {
    boolean fresh = catchUpMode.equals("fresh");
    String label = String.format(Locale.ROOT, "catchup %s, rate %s", catchUpMode, rateLimit == 0 ? "unlimited" : rateLimit + " B/s");
    List<String> args = new ArrayList<>(List.of("--snapshot-every", Integer.toString(snapshotEvery),
        // node 3 stays a member while it is down: not removed and replaced by the cluster
        "--node-failure-timeout", "600s", "--snapshot-transfer-rate", Long.toString(rateLimit)));
    args.addAll(nodeArgs);
    try (ProcessCluster cluster = ProcessCluster.start(3, jvm, args, 3, List.of(), keepFiles)) {
      System.err.println(label + ": placement: " + cluster.placement());
      // A first small state that every node holds: node 3's position before it goes down.
      write(cluster, "catchup-seed", 1, 200, valueBytes, label);
      awaitReplicasEqual(cluster, CONVERGE_TIMEOUT);
      Map<String, Long> node3At = applied(cluster, 3);
      System.err.println(label + ": node 3's replicas before the kill (group=applied index): " + node3At);

      cluster.kill(3);
      if (fresh) {
        Target.deleteTree(cluster.dataDirectory(3));
      }
      int checkpoints = (int) Math.max(1, (stateBytes + valueBytes - 1) / valueBytes);
      long written = write(cluster, "catchup-state", WRITERS, checkpoints, valueBytes, label);
      // Groups node 1 holds now (fresh: node 3 had none of them under its new id).
      Map<String, Long> positions = new HashMap<>();
      applied(cluster, 1).keySet().forEach(g -> positions.put(g, fresh ? 0L : node3At.getOrDefault(g, 0L)));
      awaitPurged(cluster, positions, label);

      // seq10 on nodes 1 and 2, recorded from before the baseline window until node 3 caught up.
      ConcurrentLinkedQueue<long[]> done = new ConcurrentLinkedQueue<>();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong errors = new AtomicLong();
      List<Thread> load = drive(cluster, clients, done, stop, errors);
      long measureFrom = System.nanoTime() + Duration.ofSeconds(warmup).toNanos();
      Thread.sleep(Duration.ofSeconds(warmup + seconds));
      long errorsBefore = errors.get();

      long restart = System.nanoTime();
      cluster.restart(3, fresh);
      System.err.println(label + ": node 3 restarted" + (fresh ? " (wiped: joins as a new node)" : ""));
      Map<String, Long> seenAt = new HashMap<>(); // snapshot id -> when its line was first read
      long caughtUp = awaitCaughtUp(cluster, restart, seenAt, label);
      stop.set(true);
      for (Thread t : load) {
        t.join();
      }
      List<Transfer> transfers = Transfer.parse(Files.readString(cluster.stderr(3), StandardCharsets.UTF_8));
      boolean equal = awaitReplicasEqual(cluster, CONVERGE_TIMEOUT);

      double caughtUpSeconds = (caughtUp - restart) / 1e9;
      Latency during = latency(done, restart, caughtUp);
      Latency before = latency(done, Math.max(measureFrom, restart - (caughtUp - restart)), restart);
      Latency duringTransfer = new Latency(0, 0, Double.NaN, Double.NaN);
      Latency beforeTransfer = duringTransfer;
      Transfer big = transfers.stream().max(java.util.Comparator.comparingLong(Transfer::fetchedBytes)).orElse(null);
      if (big != null && seenAt.containsKey(big.snapshot())) {
        long end = seenAt.get(big.snapshot());
        long length = Duration.ofMillis(big.millis()).toNanos();
        duringTransfer = latency(done, end - length, end);
        beforeTransfer = latency(done, Math.max(measureFrom, restart - length), restart);
      }
      for (Transfer t : transfers) {
        System.err.printf(Locale.ROOT, "%s: node 3 installed %s of %s out of band: total %,d B, fetched %,d B (resumed %,d, refetched %,d), "
                + "by source {%s}, %d ms, %.1f MB/s%n", label, t.snapshot(), t.group(), t.totalBytes(), t.fetchedBytes(),
            t.resumedBytes(), t.refetchedBytes(), t.bySource(), t.millis(), t.mbPerSecond());
      }
      System.err.printf(Locale.ROOT, "%s: caught up %.1f s after the restart; seq10 errors %d before the restart, %d after; digests %s%n",
          label, caughtUpSeconds, errorsBefore, errors.get() - errorsBefore, equal ? "equal" : "DIFFER");
      return new Row(catchUpMode, rateLimit, clients, written, transfers, caughtUpSeconds, before, during, beforeTransfer,
          duringTransfer, errors.get(), equal);
    }
  }

  /**
   * Starts {@code writers} {@link BigState#RANDOM} workflows of {@code checkpoints / writers}
   * values each (through node 1) and waits for them; returns the value bytes written.
   */
  private static long write(ProcessCluster cluster, String prefix, int writers, int checkpoints, int valueBytes, String label)
      throws Exception {
    long t0 = System.nanoTime();
    int each = Math.max(1, (checkpoints + writers - 1) / writers);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < writers; i++) {
      String id = prefix + "-" + i + "-" + System.nanoTime();
      cluster.startBigState(BigState.RANDOM, id, BigState.Input.of(each, KEYS, valueBytes));
      ids.add(id);
    }
    long intact = 0;
    for (String id : ids) {
      intact += cluster.awaitBigState(id, WRITE_TIMEOUT);
    }
    long bytes = (long) each * writers * valueBytes;
    if (intact != (long) each * writers) {
      throw new IllegalStateException(prefix + ": " + intact + " of " + each * writers + " values came back intact");
    }
    double s = (System.nanoTime() - t0) / 1e9;
    System.err.printf(Locale.ROOT, "%s: %s: %d workflows wrote %,d values of %d B (%.1f MB) in %.1f s (%.1f MB/s)%n",
        label, prefix, writers, (long) each * writers, valueBytes, bytes / 1e6, s, bytes / 1e6 / s);
    return bytes;
  }

  /** Group id -> applied index of node {@code index}'s replicas. */
  private static Map<String, Long> applied(ProcessCluster cluster, int index) {
    Map<String, Long> at = new HashMap<>();
    for (ReplicaInfo r : cluster.clusterInfo(index, true).getReplicasList()) {
      at.put(r.getGroupId(), r.getAppliedIndex());
    }
    return at;
  }

  /**
   * Until nodes 1 and 2 have purged, in every group, the log entries after node 3's position (so
   * that it can only catch up through a snapshot), running rounds of seq10 workflows to make the
   * leaders snapshot again when the writes were not enough.
   */
  private static void awaitPurged(ProcessCluster cluster, Map<String, Long> positions, String label) throws Exception {
    for (int round = 0; ; round++) {
      if (purgedPast(cluster, positions)) {
        System.err.println(label + ": nodes 1 and 2 purged their logs past node 3's position " + positions
            + (round > 0 ? " after " + round + " rounds of seq10" : ""));
        return;
      }
      if (round >= PURGE_ROUNDS) {
        throw new IllegalStateException("the logs of nodes 1 and 2 were not purged past node 3's position " + positions
            + " after " + PURGE_ROUNDS + " rounds of seq10: is --snapshot-every too large?");
      }
      AtomicBoolean stop = new AtomicBoolean();
      List<Thread> load = drive(cluster, 8, new ConcurrentLinkedQueue<>(), stop, new AtomicLong());
      Thread.sleep(1_000);
      stop.set(true);
      for (Thread t : load) {
        t.join();
      }
    }
  }

  private static boolean purgedPast(ProcessCluster cluster, Map<String, Long> positions) throws IOException {
    for (var e : positions.entrySet()) {
      for (int i = 1; i <= 2; i++) {
        if (firstLogIndex(cluster.dataDirectory(i), e.getKey()) <= e.getValue() + 1) {
          return false;
        }
      }
    }
    return true;
  }

  /** The first index of a group's log segments on disk (Ratis names them log_START-END and log_inprogress_START). */
  private static long firstLogIndex(Path dataDirectory, String group) throws IOException {
    Path current = dataDirectory.resolve("raft").resolve(group).resolve("current");
    if (!Files.isDirectory(current)) {
      return 0;
    }
    try (Stream<Path> files = Files.list(current)) {
      return files.map(p -> LOG_FILE.matcher(p.getFileName().toString())).filter(Matcher::matches)
          .mapToLong(m -> Long.parseLong(m.group(1))).min().orElse(Long.MAX_VALUE);
    }
  }

  /** Closed-loop seq10 clients on nodes 1 and 2 (alternately) until {@code stop}; each success adds {start, end} to {@code done}. */
  private static List<Thread> drive(ProcessCluster cluster, int clients, ConcurrentLinkedQueue<long[]> done, AtomicBoolean stop,
      AtomicLong errors) {
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      Target.Seq10Client client = cluster.clientOn(1 + i % 2);
      threads.add(Thread.ofVirtual().start(() -> {
        int n = 0;
        while (!stop.get()) {
          long t0 = System.nanoTime();
          try {
            int input = n++;
            int result = client.run(input);
            if (result != input + 55) {
              throw new IllegalStateException("seq10(" + input + ") returned " + result);
            }
            done.add(new long[] {t0, System.nanoTime()});
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
   * Until every group node 1 holds is held by node 3 and applied there at least as far as node 1
   * had applied it just before; meanwhile notes when each transfer line first shows in node 3's
   * log ({@code seenAt}, by snapshot id). Returns the time it caught up.
   */
  private static long awaitCaughtUp(ProcessCluster cluster, long restart, Map<String, Long> seenAt, String label)
      throws Exception {
    long deadline = restart + CATCH_UP_TIMEOUT.toNanos();
    String last = "no answer yet";
    while (true) {
      long now = System.nanoTime();
      for (Transfer t : Transfer.parse(Files.readString(cluster.stderr(3), StandardCharsets.UTF_8))) {
        if (seenAt.putIfAbsent(t.snapshot(), now) == null) {
          System.err.printf(Locale.ROOT, "%s: %.1f s after the restart: node 3 installed %s (%,d B in %d ms)%n",
              label, (now - restart) / 1e9, t.snapshot(), t.fetchedBytes(), t.millis());
        }
      }
      if (!cluster.isAlive(3)) {
        throw new IllegalStateException("node process 3 exited while catching up; its log: " + cluster.stderr(3));
      }
      try {
        Map<String, Long> leader = applied(cluster, 1);
        Map<String, Long> node3 = applied(cluster, 3);
        boolean caught = !leader.isEmpty() && leader.entrySet().stream()
            .allMatch(e -> node3.getOrDefault(e.getKey(), -1L) >= e.getValue());
        if (caught) {
          System.err.printf(Locale.ROOT, "%s: node 3 caught up %.1f s after the restart: %s (node 1: %s)%n", label,
              (System.nanoTime() - restart) / 1e9, node3, leader);
          return System.nanoTime();
        }
        last = "node 3 " + node3 + ", node 1 " + leader;
      } catch (RuntimeException notYet) {
        last = notYet.getMessage(); // node 3 still starting
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("node 3 did not catch up within " + CATCH_UP_TIMEOUT.toMinutes() + " min; last: " + last);
      }
      Thread.sleep(100);
    }
  }

  /** Until every node holds every group with one digest; false when not within {@code timeout}. */
  static boolean awaitReplicasEqual(ProcessCluster cluster, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      Map<String, Set<String>> digests = new HashMap<>();
      Map<String, Integer> holders = new HashMap<>();
      try {
        for (int i = 1; i <= cluster.size(); i++) {
          for (ReplicaInfo r : cluster.clusterInfo(i, true).getReplicasList()) {
            digests.computeIfAbsent(r.getGroupId(), g -> new java.util.HashSet<>()).add(r.getDigest());
            holders.merge(r.getGroupId(), 1, Integer::sum);
          }
        }
        if (!digests.isEmpty() && digests.values().stream().allMatch(d -> d.size() == 1)
            && holders.values().stream().allMatch(h -> h == cluster.size())) {
          return true;
        }
        last = "digests " + digests + ", holders " + holders;
      } catch (RuntimeException e) {
        last = e.getMessage();
      }
      Thread.sleep(200);
    }
    System.err.println("replicas did not converge within " + timeout.toSeconds() + " s; last: " + last);
    return false;
  }

  /** The seq10 workflows that started at or after {@code from} and ended by {@code to}. */
  private static Latency latency(ConcurrentLinkedQueue<long[]> done, long from, long to) {
    Histogram h = new Histogram(3);
    for (long[] w : done) {
      if (w[0] >= from && w[1] <= to) {
        h.recordValue((w[1] - w[0]) / 1000);
      }
    }
    double seconds = Math.max(0, to - from) / 1e9;
    return h.getTotalCount() == 0 ? new Latency(seconds, 0, Double.NaN, Double.NaN)
        : new Latency(seconds, h.getTotalCount(), h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0);
  }
}
