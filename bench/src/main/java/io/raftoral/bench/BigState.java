package io.raftoral.bench;

import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The {@code bigstate} workflows: one workflow writes many checkpoints, round-robin over a number
 * of keys, as fast as the owner's pipelined writes go; the result is how many writes got their own
 * value back. {@code bigstate} v1 runs {@link ExecutionMode#HOT_STANDBY}, {@code bigstate_owner_only}
 * v1 the same function {@link ExecutionMode#OWNER_ONLY}. Node processes started with this module's
 * classpath register both through {@link BenchWorkflows} (the suite's {@code BigWorkflowHeapTest}
 * runs them too).
 *
 * <p>With {@code pauseEvery > 0} the run stops after every {@code pauseEvery} writes (and after the
 * last) in a {@code checkpointCompute} of key {@code pause} until the load generator lets it go on:
 * the owner's side effect creates {@code at-N} in {@code pauseDir} once all N writes are committed
 * (the side-effect barrier), then waits for {@code go-N}. Meanwhile the load generator measures every
 * replica's live heap with the workflow still running, at exactly N committed checkpoints. Each
 * pause adds one small checkpoint (the count N) to the workflow.
 */
public final class BigState {
  private BigState() {}

  /**
   * @param checkpoints how many values to write
   * @param keys values go to keys {@code k0..k(keys-1)} round-robin
   * @param valueBytes the size of each value (text-like bytes: compressible, not trivially)
   * @param pauseEvery 0 for no pauses
   * @param pauseDir a directory every node process and the load generator share; empty without pauses
   */
  public record Input(int checkpoints, int keys, int valueBytes, int pauseEvery, String pauseDir) {
    /** No pauses. */
    public static Input of(int checkpoints, int keys, int valueBytes) {
      return new Input(checkpoints, keys, valueBytes, 0, "");
    }
  }

  public static final WorkflowDefinition<Input, Integer> HOT_STANDBY =
      WorkflowDefinition.of("bigstate", 1, Input.class, Integer.class, BigState::run);
  public static final WorkflowDefinition<Input, Integer> OWNER_ONLY =
      WorkflowDefinition.of("bigstate_owner_only", 1, Input.class, Integer.class, BigState::run).withMode(ExecutionMode.OWNER_ONLY);
  /**
   * {@code bigstate_random} v1: as {@link #HOT_STANDBY} with {@link #randomValue}s, which the
   * state store cannot compress: the catch-up workload's state on disk is as large as the values written.
   */
  public static final WorkflowDefinition<Input, Integer> RANDOM =
      WorkflowDefinition.of("bigstate_random", 1, Input.class, Integer.class, (ctx, in) -> run(ctx, in, BigState::randomValue));

  /** How long a paused run waits for the load generator before it goes on by itself. */
  private static final long PAUSE_LIMIT_MILLIS = 30 * 60 * 1000;

  private static Integer run(WorkflowContext ctx, Input in) {
    return run(ctx, in, BigState::value);
  }

  private static Integer run(WorkflowContext ctx, Input in, java.util.function.BiFunction<Integer, Integer, byte[]> values) {
    int intact = 0;
    for (int i = 0; i < in.checkpoints(); i++) {
      byte[] value = values.apply(i, in.valueBytes());
      if (Arrays.equals(ctx.checkpointBytes(key(i, in.keys()), value), value)) {
        intact++;
      }
      int written = i + 1;
      if (in.pauseEvery() > 0 && (written % in.pauseEvery() == 0 || written == in.checkpoints())) {
        ctx.checkpointCompute("pause", Integer.class, () -> pause(Path.of(in.pauseDir()), written));
      }
    }
    return intact;
  }

  /** The key of the i-th write. */
  public static String key(int i, int keys) {
    return "k" + (i % keys);
  }

  private static final String[] WORDS = ("order payment shipment invoice customer account balance retry timeout "
      + "warehouse parcel address refund credit debit ledger quantity price discount status pending settled").split(" ");

  /**
   * The i-th value: words and numbers drawn from a generator seeded with i, cut to {@code size}
   * bytes. Text like a JSON payload's: general-purpose compressors shrink it about 2-3x.
   */
  public static byte[] value(int i, int size) {
    SplittableRandom random = new SplittableRandom(i);
    StringBuilder text = new StringBuilder(size + 32).append(i).append(':');
    while (text.length() < size) {
      text.append(WORDS[random.nextInt(WORDS.length)]).append('=').append(random.nextInt(100_000)).append(' ');
    }
    return Arrays.copyOf(text.toString().getBytes(StandardCharsets.US_ASCII), size);
  }

  /** The i-th value of {@link #RANDOM}: {@code size} bytes from a generator seeded with i (incompressible). */
  public static byte[] randomValue(int i, int size) {
    byte[] bytes = new byte[size];
    new SplittableRandom(i).nextBytes(bytes);
    return bytes;
  }

  private static int pause(Path dir, int written) throws IOException, InterruptedException {
    Files.writeString(dir.resolve("at-" + written), "");
    long deadline = System.currentTimeMillis() + PAUSE_LIMIT_MILLIS;
    while (!Files.exists(dir.resolve("go-" + written)) && System.currentTimeMillis() < deadline) {
      Thread.sleep(20);
    }
    return written;
  }
}
