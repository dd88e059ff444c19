package io.raftoral.bench.jmh;

import io.raftoral.proto.raft.BatchResult;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandBatch;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.state.StoreChanges;
import io.raftoral.state.WorkflowState;
import io.raftoral.storage.StateStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.ByteBuffer;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

/**
 * State machine apply of whole seq10 workflows: start, 10 checkpoints, end (12 commands), each
 * workflow a new id. Time per command.
 *
 * <ul>
 *   <li>{@code applyCommands}: {@link WorkflowState#apply} alone, on commands already decoded.
 *   <li>{@code applyEntries}: what {@code WorkflowStateMachine.apply} does per entry
 *       around it, one command per entry as at C = 1: decode the {@code CommandBatch} from the
 *       read-only buffer, apply, build and serialize the {@code BatchResult}.
 *   <li>{@code applyEntriesDurable}: the same, plus the durable write the state machine adds:
 *       the entry's changes and its position in one RocksDB {@code WriteBatch} of the group's
 *       {@link StateStore} (write-ahead log off, as in the node).
 * </ul>
 * The state starts afresh every {@value #POOL} workflows, so it stays the size of a busy group's
 * recent history instead of growing for the whole run.
 */
public class StateApplyBenchmark extends MicroBenchmark {
  static final int POOL = 4096;

  private Command[][] workflows;
  private byte[][][] entries;
  private WorkflowState state;
  private int next;
  private Path storeDir;
  private StateStore store;
  private long index;

  @Setup
  public void setUp() {
    workflows = new Command[POOL][];
    entries = new byte[POOL][][];
    for (int w = 0; w < POOL; w++) {
      List<Command> commands = Commands.seq10(Commands.workflowId(w), w);
      workflows[w] = commands.toArray(Command[]::new);
      entries[w] = commands.stream().map(c -> CommandBatch.newBuilder().addCommands(c).build().toByteArray()).toArray(byte[][]::new);
    }
    fresh();
    try {
      storeDir = Files.createTempDirectory("raftoral-bench-store-");
      store = StateStore.open(storeDir.resolve("group"));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @TearDown
  public void tearDown() throws IOException {
    store.close();
    try (var paths = Files.walk(storeDir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private void fresh() {
    // A replica's state: the latest value per key in memory, the others in the store, which
    // nothing here reads back (a run that replays would).
    state = new WorkflowState((workflowId, key, seq) -> null);
    state.apply(Commands.ownerChange(1), Commands.TERM);
    next = 0;
  }

  private int nextWorkflow() {
    if (next == POOL) {
      fresh();
    }
    return next++;
  }

  @Benchmark
  @OperationsPerInvocation(12)
  public void applyCommands(Blackhole bh) {
    for (Command c : workflows[nextWorkflow()]) {
      bh.consume(state.apply(c, Commands.TERM));
    }
  }

  @Benchmark
  @OperationsPerInvocation(12)
  public void applyEntries(Blackhole bh) throws Exception {
    for (byte[] entry : entries[nextWorkflow()]) {
      CommandBatch batch = CommandBatch.parseFrom(ByteBuffer.wrap(entry).asReadOnlyBuffer());
      BatchResult.Builder results = BatchResult.newBuilder();
      for (Command c : batch.getCommandsList()) {
        results.addResults(state.apply(c, Commands.TERM));
      }
      bh.consume(results.build().toByteArray());
    }
  }

  @Benchmark
  @OperationsPerInvocation(12)
  public void applyEntriesDurable(Blackhole bh) throws Exception {
    for (byte[] entry : entries[nextWorkflow()]) {
      CommandBatch batch = CommandBatch.parseFrom(ByteBuffer.wrap(entry).asReadOnlyBuffer());
      BatchResult.Builder results = BatchResult.newBuilder();
      StateStore.Batch writes = store.batch();
      WorkflowState.Changes changes = new StoreChanges(writes);
      for (Command c : batch.getCommandsList()) {
        results.addResults(state.apply(c, Commands.TERM, changes));
      }
      store.commit(writes, Commands.TERM, ++index);
      bh.consume(results.build().toByteArray());
    }
  }
}
