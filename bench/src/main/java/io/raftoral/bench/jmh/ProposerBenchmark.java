package io.raftoral.bench.jmh;

import io.raftoral.proto.raft.BatchResult;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandBatch;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.raft.Proposer;
import io.raftoral.raft.RaftReply;
import java.util.concurrent.CompletableFuture;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Setup;

/**
 * Proposer batching, without Raft: the submit function answers at once with a reply carrying
 * one APPLIED result per command (as ProposerTest's fake log does by hand), so what is measured
 * is the proposer's own work per command: queueing, packing the entry and serializing it,
 * parsing the reply's {@code BatchResult} and completing every future.
 *
 * <ul>
 *   <li>{@code idle}: a proposer with nothing in flight, so each command leaves alone in its own
 *       entry (seq10 at C = 1).
 *   <li>{@code burstOf16} / {@code burstOf128}: one command is in flight (its reply held back) while
 *       the rest of the burst arrives; when the reply comes the rest leaves as one entry (a busy
 *       group at C = 16 / 128). Time per command.
 * </ul>
 */
public class ProposerBenchmark extends MicroBenchmark {
  private static final int POOL = 1024;
  private static final int MAX_BURST = 128;

  private Command[] commands;
  private int next;
  // replies[n]: a successful reply whose BatchResult has n APPLIED results
  private RaftReply[] replies;
  private int commandBytesInBatch;

  private Proposer idleProposer;
  private Proposer burstProposer;
  private boolean holdNext;
  private CompletableFuture<RaftReply> held;

  @Setup
  public void setUp() {
    commands = new Command[POOL];
    for (int i = 0; i < POOL; i++) {
      // equal serialized sizes (seq > 0: proto3 leaves a 0 out), so an entry's size tells its command count
      commands[i] = Commands.checkpoint(Commands.workflowId(i), "step", 1 + i % 9, 56);
    }
    commandBytesInBatch = CommandBatch.newBuilder().addCommands(commands[0]).build().getSerializedSize();
    replies = new RaftReply[MAX_BURST + 1];
    CommandResult applied = CommandResult.newBuilder().setCode(ResultCode.APPLIED).setStatus(WorkflowStatusCode.RUNNING).build();
    for (int n = 1; n <= MAX_BURST; n++) {
      BatchResult.Builder results = BatchResult.newBuilder();
      for (int i = 0; i < n; i++) {
        results.addResults(applied);
      }
      replies[n] = RaftReply.success(results.build().toByteArray(), n, 1);
    }
    idleProposer = new Proposer(this::answerAtOnce, 2, 1 << 20);
    burstProposer = new Proposer(data -> {
      if (holdNext) {
        holdNext = false;
        held = new CompletableFuture<>();
        return held;
      }
      return answerAtOnce(data);
    }, 1, 1 << 20);
  }

  private CompletableFuture<RaftReply> answerAtOnce(byte[] entry) {
    return CompletableFuture.completedFuture(replies[entry.length / commandBytesInBatch]);
  }

  private Command nextCommand() {
    Command c = commands[next];
    next = (next + 1) % POOL;
    return c;
  }

  @Benchmark
  public Proposer.Outcome idle() {
    return idleProposer.propose(nextCommand()).join();
  }

  @Benchmark
  @OperationsPerInvocation(16)
  public Proposer.Outcome burstOf16() {
    return burst(16);
  }

  @Benchmark
  @OperationsPerInvocation(128)
  public Proposer.Outcome burstOf128() {
    return burst(128);
  }

  private Proposer.Outcome burst(int size) {
    holdNext = true;
    CompletableFuture<Proposer.Outcome> first = burstProposer.propose(nextCommand());
    CompletableFuture<Proposer.Outcome> last = first;
    for (int i = 1; i < size; i++) {
      last = burstProposer.propose(nextCommand());
    }
    held.complete(replies[1]); // frees the slot: the other size - 1 leave together, answered at once
    first.join();
    return last.join();
  }
}
