package io.raftoral.bench.jmh;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The settings every micro-benchmark here shares, in one place (JMH's annotations are
 * {@code @Inherited}, so a subclass runs with them): each benchmark class is its own per-thread
 * state, average time per operation in nanoseconds, one fork with the flag Ratis needs on JDK 25,
 * 3 × 1 s of warm-up and 3 × 1 s measured (docs/BENCHMARKS.md). A benchmark or the command line
 * ({@code bench/run --jmh ... -i 5}) may still override one.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--sun-misc-unsafe-memory-access=allow")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
public abstract class MicroBenchmark {}
