package io.raftoral.bench.jmh;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.Command;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.state.WorkflowState;
import java.util.HashMap;
import java.util.Map;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Checkpoint sequencing, per step: the run takes the key's next sequence number (its
 * {@code nextSeq} map), the state applies the {@code SetCheckpoint} at that position (checks it
 * is the key's next, appends it) and the run reads the committed position back ({@link
 * WorkflowEntry#checkpoint}), as {@code WorkflowRun.commit} and {@code WorkflowState} do.
 * {@code duplicate} is a retried proposal of a committed position (refused as DUPLICATE).
 * Each invocation is a new workflow (its start is included, 1/S of the time per step).
 */
public class CheckpointSequencingBenchmark extends MicroBenchmark {
  /** A prepared workflow: its start and its steps' commands. */
  private record Prepared(String id, Command start, String[] keys, Command[] steps) {}

  private Prepared[] tenOnOneKey;
  private Prepared[] thousandOnOneKey;
  private Prepared[] thousandKeys;
  private WorkflowState state;
  private int next10;
  private int next1000;
  private int nextKeys;
  private Command duplicate;
  private WorkflowState duplicateState;

  @Setup
  public void setUp() {
    tenOnOneKey = prepare(1024, 10, false);
    thousandOnOneKey = prepare(16, 1000, false);
    thousandKeys = prepare(16, 1000, true);
    state = fresh();
    duplicateState = fresh();
    String id = Commands.workflowId(0);
    duplicateState.apply(Commands.start(id, 0), Commands.TERM);
    duplicateState.apply(Commands.checkpoint(id, "step", 0, 1), Commands.TERM);
    duplicate = Commands.checkpoint(id, "step", 0, 1);
  }

  private static Prepared[] prepare(int count, int steps, boolean distinctKeys) {
    Prepared[] all = new Prepared[count];
    for (int w = 0; w < count; w++) {
      String id = Commands.workflowId(w);
      String[] keys = new String[steps];
      Command[] commands = new Command[steps];
      for (int s = 0; s < steps; s++) {
        keys[s] = distinctKeys ? "key-" + s : "step";
        commands[s] = Commands.checkpoint(id, keys[s], distinctKeys ? 0 : s, 56 + s);
      }
      all[w] = new Prepared(id, Commands.start(id, w), keys, commands);
    }
    return all;
  }

  private static WorkflowState fresh() {
    WorkflowState s = new WorkflowState();
    s.apply(Commands.ownerChange(1), Commands.TERM);
    return s;
  }

  /** Runs one prepared workflow's steps; the state is renewed before the pool's ids repeat. */
  private void run(Prepared w, boolean renew, Blackhole bh) {
    if (renew) {
      state = fresh();
    }
    state.apply(w.start(), Commands.TERM);
    WorkflowEntry entry = state.get(w.id());
    Map<String, Long> nextSeq = new HashMap<>();
    for (int s = 0; s < w.steps().length; s++) {
      String key = w.keys()[s];
      long seq = nextSeq.merge(key, 1L, Long::sum) - 1;
      bh.consume(state.apply(w.steps()[s], Commands.TERM));
      ByteString committed = entry.checkpoint(key, seq);
      bh.consume(committed);
    }
  }

  @Benchmark
  @OperationsPerInvocation(10)
  public void tenStepsOneKey(Blackhole bh) {
    run(tenOnOneKey[next10], next10 == 0, bh);
    next10 = (next10 + 1) % tenOnOneKey.length;
  }

  @Benchmark
  @OperationsPerInvocation(1000)
  public void thousandStepsOneKey(Blackhole bh) {
    run(thousandOnOneKey[next1000], next1000 == 0, bh);
    next1000 = (next1000 + 1) % thousandOnOneKey.length;
  }

  @Benchmark
  @OperationsPerInvocation(1000)
  public void thousandKeysOneStepEach(Blackhole bh) {
    run(thousandKeys[nextKeys], nextKeys == 0, bh);
    nextKeys = (nextKeys + 1) % thousandKeys.length;
  }

  @Benchmark
  public Object duplicate() {
    return duplicateState.apply(duplicate, Commands.TERM);
  }
}
