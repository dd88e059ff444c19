package io.raftoral.graal;

import io.raftoral.common.Errors;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How a node runs JavaScript workflows ({@link GraalWorkflows}).
 *
 * @param turnLimit how much CPU time one turn of a run (JavaScript from an event to the next
 *     await; Python between two blocking ctx calls) may use on its thread before the run is
 *     stopped and its workflow fails with a {@code TimeLimitError}: a runaway loop must not hold
 *     a thread of the node forever, and a sleep or a busy machine must not fail a workflow
 * @param maxIdleContexts how many idle contexts (each with its module evaluated) the node keeps for
 *     its next runs, across modules; the least recently used is closed first
 * @param terminationGrace how long a terminated workflow's code may take to unwind (its ctx
 *     calls then throw {@code RaftoralError} WORKFLOW_TERMINATED) before its run is abandoned
 * @param hostModules the Java functions workflows may import ({@link HostModule})
 * @param loadLimit how long a module's top-level code may run while it loads (a Python module's
 *     first load includes GraalPy's own start, seconds on a busy machine)
 * @param heapLimit the memory guard: when the JVM's old generation is fuller than this fraction of
 *     its maximum after a collection, the idle contexts are closed or, when there is none, the runs
 *     whose code is running at that moment are stopped and their workflows fail with {@code
 *     MemoryLimitError} (GraalVM Community has no per-context heap limit: a runaway script must
 *     not take the node down with it)
 */
public record GraalOptions(Duration turnLimit, int maxIdleContexts, Duration terminationGrace, List<HostModule> hostModules,
    double heapLimit, Duration loadLimit) {
  public static final Duration DEFAULT_TURN_LIMIT = Duration.ofSeconds(10);
  public static final int DEFAULT_MAX_IDLE_CONTEXTS = 8;
  public static final Duration DEFAULT_TERMINATION_GRACE = Duration.ofSeconds(5);
  public static final double DEFAULT_HEAP_LIMIT = 0.85;
  public static final Duration DEFAULT_LOAD_LIMIT = Duration.ofMinutes(2);

  public GraalOptions {
    Objects.requireNonNull(turnLimit, "turnLimit");
    Objects.requireNonNull(terminationGrace, "terminationGrace");
    if (turnLimit.isNegative() || turnLimit.isZero()) {
      throw new Errors.InvalidArgumentException("turnLimit must be > 0, got " + turnLimit);
    }
    if (terminationGrace.isNegative()) {
      throw new Errors.InvalidArgumentException("terminationGrace must be >= 0, got " + terminationGrace);
    }
    if (maxIdleContexts < 0) {
      throw new Errors.InvalidArgumentException("maxIdleContexts must be >= 0, got " + maxIdleContexts);
    }
    Objects.requireNonNull(loadLimit, "loadLimit");
    if (loadLimit.isNegative() || loadLimit.isZero()) {
      throw new Errors.InvalidArgumentException("loadLimit must be > 0, got " + loadLimit);
    }
    if (!(heapLimit > 0 && heapLimit <= 1)) {
      throw new Errors.InvalidArgumentException("heapLimit must be a fraction in (0, 1], got " + heapLimit);
    }
    hostModules = List.copyOf(hostModules);
    List<String> names = new ArrayList<>();
    for (HostModule m : hostModules) {
      if (m.name() == null || m.name().isEmpty() || names.contains(m.name())) {
        throw new Errors.InvalidArgumentException("host module names must be non-empty and distinct, got '" + m.name() + "'");
      }
      names.add(m.name());
    }
  }

  public static GraalOptions defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public static final class Builder {
    private Duration turnLimit = DEFAULT_TURN_LIMIT;
    private int maxIdleContexts = DEFAULT_MAX_IDLE_CONTEXTS;
    private Duration terminationGrace = DEFAULT_TERMINATION_GRACE;
    private final List<HostModule> hostModules = new ArrayList<>();
    private double heapLimit = DEFAULT_HEAP_LIMIT;
    private Duration loadLimit = DEFAULT_LOAD_LIMIT;

    private Builder() {}

    public Builder loadLimit(Duration limit) {
      loadLimit = limit;
      return this;
    }

    public Builder heapLimit(double fraction) {
      heapLimit = fraction;
      return this;
    }

    public Builder turnLimit(Duration limit) {
      turnLimit = limit;
      return this;
    }

    public Builder maxIdleContexts(int count) {
      maxIdleContexts = count;
      return this;
    }

    public Builder terminationGrace(Duration grace) {
      terminationGrace = grace;
      return this;
    }

    public Builder hostModule(HostModule module) {
      hostModules.add(Objects.requireNonNull(module, "module"));
      return this;
    }

    public GraalOptions build() {
      return new GraalOptions(turnLimit, maxIdleContexts, terminationGrace, hostModules, heapLimit, loadLimit);
    }
  }
}
