package io.raftoral.runtime;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.raft.Command;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.GroupStats;
import io.raftoral.raft.Proposer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;

/**
 * The meters of one node (docs/OPERATIONS.md, "Metrics"), in one {@link MeterRegistry}. The node
 * keeps them across its runtime's restarts: counters go on counting, and what a runtime
 * registers for its groups ({@link #group}) it removes when it stops hosting them.
 *
 * <p>Workflow counters count once in the cluster, on the node whose proposal made the event: a
 * start on the node that served the start call, an end on the owner whose run proposed it, a
 * termination on the node that served the terminate call. A cluster's count is the sum over its
 * nodes.
 */
public final class NodeMetrics {
  /** Meters of no node, for runtimes built without one (tests of one layer). */
  public static NodeMetrics none() {
    return new NodeMetrics(new SimpleMeterRegistry());
  }

  private final MeterRegistry registry;
  private final DistributionSummary batchCommands;
  // Built once: they are recorded on every checkpoint.
  private final Timer checkpointsCommitted;
  private final Timer checkpointsFailed;
  private final java.util.Map<Command.KindCase, Counter> commandsCommitted = new java.util.concurrent.ConcurrentHashMap<>();
  // Lifecycle events applied by this node's replicas (every replica counts; not exported): the console's activity chart.
  private final java.util.concurrent.atomic.LongAdder appliedStarts = new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder appliedEnds = new java.util.concurrent.atomic.LongAdder();

  public NodeMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.batchCommands = DistributionSummary.builder("raftoral.proposer.batch.commands")
        .description("Commands carried by one Raft entry (group commit)").baseUnit("commands")
        .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128, 256).register(registry);
    this.checkpointsCommitted = checkpointTimer("committed");
    this.checkpointsFailed = checkpointTimer("failed");
  }

  private Timer checkpointTimer(String outcome) {
    return Timer.builder("raftoral.checkpoint.commit")
        .description("From a checkpoint's proposal to its commit (or failure), on the node that proposed it")
        .tag("outcome", outcome).publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30)).register(registry);
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** The JVM's meters (heap, GC, threads, classes, CPU, uptime). Once per registry. */
  public NodeMetrics withJvmMeters() {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    return this;
  }

  // ---- workflows ----

  /** A replica here applied a start ({@code started}) or an end or termination. */
  void applied(boolean started) {
    (started ? appliedStarts : appliedEnds).increment();
  }

  /** Workflow starts the replicas of this node applied so far (each group's once, whatever its owner). */
  public long appliedStarts() {
    return appliedStarts.sum();
  }

  /** Workflow ends and terminations the replicas of this node applied so far. */
  public long appliedEnds() {
    return appliedEnds.sum();
  }

  /** The sum of the commit indexes of the execution groups hosted here: its rate is the entries committed per second. */
  public long executionCommitIndexes() {
    return (long) registry.find("raftoral.raft.commit.index").tag("role", "execution").gauges().stream()
        .mapToDouble(Gauge::value).filter(v -> !Double.isNaN(v)).sum();
  }

  void workflowStarted(WorkflowType type) {
    workflowCounter("raftoral.workflows.started", "Workflows started", type).increment();
  }

  void workflowCompleted(WorkflowType type) {
    workflowCounter("raftoral.workflows.completed", "Workflows that returned a result", type).increment();
  }

  void workflowFailed(WorkflowType type) {
    workflowCounter("raftoral.workflows.failed", "Workflows that ended with an error", type).increment();
  }

  void workflowTerminated(WorkflowType type) {
    workflowCounter("raftoral.workflows.terminated", "Workflows terminated before they ended", type).increment();
  }

  private Counter workflowCounter(String name, String description, WorkflowType type) {
    return Counter.builder(name).description(description + " (counted by the node whose proposal made it happen)")
        .tag("type", type.name()).tag("version", Integer.toString(type.version())).register(registry);
  }

  /** The running workflows of the groups this node owns, read at each scrape, until closed. */
  Registration runningWorkflows(Supplier<Integer> count) {
    Gauge gauge = Gauge.builder("raftoral.workflows.running", count, c -> c.get())
        .description("Running workflows of the groups this node owns").strongReference(true).register(registry);
    return () -> registry.remove(gauge);
  }

  /** Of those, the ones asleep (a durable sleep: no run until their wake-up), read at each scrape, until closed. */
  Registration sleepingWorkflows(Supplier<Integer> count) {
    Gauge gauge = Gauge.builder("raftoral.workflows.sleeping", count, c -> c.get())
        .description("Running workflows of the groups this node owns that sleep (a durable sleep), holding no run").strongReference(true)
        .register(registry);
    return () -> registry.remove(gauge);
  }

  // ---- proposals ----

  /** The observer of a group's proposer: batch sizes, and how long each command took to commit. */
  Proposer.Observer proposals() {
    return new Proposer.Observer() {
      @Override
      public void sent(int commands) {
        batchCommands.record(commands);
      }

      @Override
      public void answered(Command.KindCase kind, long nanos, boolean committed) {
        if (kind == Command.KindCase.SET_CHECKPOINT) {
          (committed ? checkpointsCommitted : checkpointsFailed).record(nanos, TimeUnit.NANOSECONDS);
        } else if (committed) {
          commandsCommitted.computeIfAbsent(kind, k -> Counter.builder("raftoral.commands.committed")
              .description("Other commands committed through this node's proposers")
              .tag("kind", k.name().toLowerCase(Locale.ROOT)).register(registry)).increment();
        }
      }
    };
  }

  // ---- raft ----

  /** The meters of one group this node hosts: closing removes every series of the group. */
  final class GroupMeters implements Registration {
    private final List<Meter> meters;
    private final Counter leaderChanges;
    private final Timer snapshots;

    private GroupMeters(List<Meter> meters, Counter leaderChanges, Timer snapshots) {
      this.meters = meters;
      this.leaderChanges = leaderChanges;
      this.snapshots = snapshots;
    }

    /** This replica saw a new leader. */
    void leaderChanged() {
      leaderChanges.increment();
    }

    /** This replica took a snapshot in {@code nanos}. */
    void snapshotTaken(long nanos) {
      snapshots.record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() {
      meters.forEach(registry::remove);
    }
  }

  /**
   * The meters of one hosted group: gauges of its Raft progress, read from {@code stats} at each
   * scrape (null: no longer hosted, every gauge reads NaN), its leader changes and its snapshots.
   * Close the returned handle when the group leaves.
   */
  GroupMeters group(GroupId group, String role, Supplier<GroupStats> stats) {
    List<Meter> meters = new ArrayList<>();
    Counter leaderChanges = Counter.builder("raftoral.raft.leader.changes").description("Leader changes this node's replica saw")
        .tag("group", group.toString()).tag("role", role).register(registry);
    Timer snapshots = Timer.builder("raftoral.raft.snapshot").description("Snapshots this node's replica took, and how long each took")
        .tag("group", group.toString()).tag("role", role).register(registry);
    meters.add(leaderChanges);
    meters.add(snapshots);
    meters.add(groupGauge("raftoral.raft.commit.index", "The last index known committed", group, role, stats, GroupStats::commitIndex));
    meters.add(groupGauge("raftoral.raft.applied.index", "The last index applied here", group, role, stats, GroupStats::appliedIndex));
    meters.add(groupGauge("raftoral.raft.log.entries", "Entries held in the log (not yet in a snapshot)", group, role, stats,
        GroupStats::logEntries));
    meters.add(groupGauge("raftoral.raft.term", "The current term", group, role, stats, GroupStats::term));
    meters.add(groupGauge("raftoral.raft.leader", "1 while this node leads the group", group, role, stats, s -> s.leading() ? 1 : 0));
    meters.add(groupGauge("raftoral.raft.follower.lag.max", "On the leader, the most committed entries a member lacks (0 elsewhere)",
        group, role, stats, s -> s.followerLag().values().stream().mapToLong(Long::longValue).max().orElse(0)));
    return new GroupMeters(meters, leaderChanges, snapshots);
  }

  private Gauge groupGauge(String name, String description, GroupId group, String role, Supplier<GroupStats> stats,
      ToDoubleFunction<GroupStats> value) {
    return Gauge.builder(name, stats, s -> {
      GroupStats now = s.get();
      return now == null ? Double.NaN : value.applyAsDouble(now);
    }).description(description).tag("group", group.toString()).tag("role", role).strongReference(true).register(registry);
  }

  // ---- storage ----

  /** The bytes under the node's state stores (RocksDB) and its Raft storage (logs, snapshots), read at each scrape. */
  Registration storage(Path stateDir, Path raftDir) {
    List<Meter> meters = List.of(
        Gauge.builder("raftoral.storage.state", stateDir, NodeMetrics::bytesUnder).baseUnit("bytes")
            .description("Bytes of the execution groups' state stores (RocksDB)").strongReference(true).register(registry),
        Gauge.builder("raftoral.storage.raft", raftDir, NodeMetrics::bytesUnder).baseUnit("bytes")
            .description("Bytes of the Raft logs and snapshots").strongReference(true).register(registry));
    return () -> meters.forEach(registry::remove);
  }

  private static double bytesUnder(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      return files.mapToLong(f -> {
        try {
          return Files.isRegularFile(f) ? Files.size(f) : 0;
        } catch (IOException e) {
          return 0; // deleted meanwhile (compaction, a purged log segment)
        }
      }).sum();
    } catch (NoSuchFileException e) {
      return 0;
    } catch (IOException | UncheckedIOException e) {
      return Double.NaN;
    }
  }

  /** Meters registered for something that may go away: closing removes them. */
  @FunctionalInterface
  interface Registration extends AutoCloseable {
    @Override
    void close();
  }
}
