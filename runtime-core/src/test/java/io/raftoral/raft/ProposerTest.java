package io.raftoral.raft;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import io.raftoral.proto.raft.BatchResult;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandBatch;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.proto.raft.WorkflowStatusCode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Group commit of the commands of one Raft group. The log is a fake: it records every entry the
 * proposer submits and answers only when a test completes that entry's reply.
 */
class ProposerTest {
  static final int NO_LIMIT = Integer.MAX_VALUE;

  final FakeLog log = new FakeLog();

  // An idle proposer submits a command at once, alone in its entry.
  @Test
  void idleProposerSubmitsAtOnce() {
    Proposer p = new Proposer(log, 1, NO_LIMIT);

    CompletableFuture<Proposer.Outcome> f = p.propose(cmd("a"));

    assertThat(log.entries()).hasSize(1);
    assertThat(ids(log.entry(0))).containsExactly("a");
    assertThat(f).isNotDone();
  }

  // With every slot in flight, new commands wait; when a reply frees the slot they leave
  // together, in the order they were proposed, in one entry.
  @Test
  void waitingCommandsLeaveTogetherWhenSlotFrees() {
    Proposer p = new Proposer(log, 1, NO_LIMIT);
    p.propose(cmd("first"));
    for (String id : List.of("c1", "c2", "c3", "c4", "c5")) {
      p.propose(cmd(id));
    }
    assertThat(log.entries()).hasSize(1);

    log.succeed(0, 10);

    assertThat(log.entries()).hasSize(2);
    assertThat(ids(log.entry(1))).containsExactly("c1", "c2", "c3", "c4", "c5");
  }

  // maxInFlight entries may be in flight at once, no more.
  @Test
  void upToMaxInFlightEntriesAreInFlight() {
    Proposer p = new Proposer(log, 2, NO_LIMIT);
    p.propose(cmd("a"));
    p.propose(cmd("b"));
    p.propose(cmd("c"));
    p.propose(cmd("d"));

    assertThat(log.entries()).hasSize(2);
    assertThat(ids(log.entry(0))).containsExactly("a");
    assertThat(ids(log.entry(1))).containsExactly("b");

    log.succeed(1, 11);

    assertThat(log.entries()).hasSize(3);
    assertThat(ids(log.entry(2))).containsExactly("c", "d");
  }

  // Each command's future completes with its own result and the index of its entry.
  @Test
  void eachFutureGetsItsOwnResultAndTheEntryIndex() {
    Proposer p = new Proposer(log, 1, NO_LIMIT);
    CompletableFuture<Proposer.Outcome> first = p.propose(cmd("first"));
    List<CompletableFuture<Proposer.Outcome>> waiting = new ArrayList<>();
    for (String id : List.of("c1", "c2", "c3")) {
      waiting.add(p.propose(cmd(id)));
    }
    log.succeed(0, 7);
    assertThat(first.join()).isEqualTo(new Proposer.Outcome(result(ResultCode.APPLIED), 7));
    assertThat(waiting).allMatch(f -> !f.isDone());

    log.reply(1, 8, result(ResultCode.APPLIED), result(ResultCode.DUPLICATE), result(ResultCode.STALE_OWNER));

    assertThat(waiting.get(0).join()).isEqualTo(new Proposer.Outcome(result(ResultCode.APPLIED), 8));
    assertThat(waiting.get(1).join()).isEqualTo(new Proposer.Outcome(result(ResultCode.DUPLICATE), 8));
    assertThat(waiting.get(2).join()).isEqualTo(new Proposer.Outcome(result(ResultCode.STALE_OWNER), 8));
  }

  // A reply completes the futures of its own entry only.
  @Test
  void replyCompletesOnlyItsOwnEntry() {
    Proposer p = new Proposer(log, 2, NO_LIMIT);
    CompletableFuture<Proposer.Outcome> a = p.propose(cmd("a"));
    CompletableFuture<Proposer.Outcome> b = p.propose(cmd("b"));

    log.succeed(1, 21);

    assertThat(a).isNotDone();
    assertThat(b.join().logIndex()).isEqualTo(21);
  }

  // A batch stops growing before it would pass maxBatchBytes: a long queue leaves in
  // several entries, in order.
  @Test
  void maxBatchBytesSplitsLongQueue() {
    int size = cmd("c0").getSerializedSize();
    Proposer p = new Proposer(log, 1, 3 * size);
    p.propose(cmd("c0"));
    for (int i = 1; i <= 7; i++) {
      p.propose(cmd("c" + i));
    }

    log.succeed(0, 1);
    log.succeed(1, 2);
    log.succeed(2, 3);

    assertThat(log.entries()).hasSize(4);
    assertThat(ids(log.entry(0))).containsExactly("c0");
    assertThat(ids(log.entry(1))).containsExactly("c1", "c2", "c3");
    assertThat(ids(log.entry(2))).containsExactly("c4", "c5", "c6");
    assertThat(ids(log.entry(3))).containsExactly("c7");
  }

  // One command always fits: a command bigger than maxBatchBytes goes alone.
  @Test
  void commandBiggerThanMaxBatchBytesGoesAlone() {
    Proposer p = new Proposer(log, 1, 64);
    CompletableFuture<Proposer.Outcome> big = p.propose(cmd("big", 1000));

    assertThat(ids(log.entry(0))).containsExactly("big");
    log.succeed(0, 5);
    assertThat(big.join().logIndex()).isEqualTo(5);
  }

  // A big command in a queue leaves alone, between the entries of the small ones around it.
  @Test
  void bigCommandInQueueGoesAlone() {
    Proposer p = new Proposer(log, 1, 64);
    p.propose(cmd("s0"));
    p.propose(cmd("s1"));
    p.propose(cmd("big", 1000));
    p.propose(cmd("s2"));

    log.succeed(0, 1);
    log.succeed(1, 2);
    log.succeed(2, 3);

    assertThat(log.entries()).hasSize(4);
    assertThat(ids(log.entry(1))).containsExactly("s1");
    assertThat(ids(log.entry(2))).containsExactly("big");
    assertThat(ids(log.entry(3))).containsExactly("s2");
  }

  // A failed submission fails every future of its entry, and frees the slot for later commands.
  @Test
  void failedReplyFailsWholeBatchAndLaterCommandsStillGo() {
    Proposer p = new Proposer(log, 1, NO_LIMIT);
    p.propose(cmd("first"));
    CompletableFuture<Proposer.Outcome> a = p.propose(cmd("a"));
    CompletableFuture<Proposer.Outcome> b = p.propose(cmd("b"));
    log.succeed(0, 1);
    CompletableFuture<Proposer.Outcome> later = p.propose(cmd("later"));

    IOException cause = new IOException("connection lost");
    log.fail(1, cause);

    assertThat(failure(a)).isSameAs(cause);
    assertThat(failure(b)).isSameAs(cause);
    assertThat(ids(log.entry(2))).containsExactly("later");
    log.succeed(2, 3);
    assertThat(later.join().logIndex()).isEqualTo(3);
  }

  // A reply that is not a success fails every future of its entry with the reply's exception.
  @Test
  void unsuccessfulReplyFailsWholeBatchWithItsException() {
    Proposer p = new Proposer(log, 1, NO_LIMIT);
    p.propose(cmd("first"));
    CompletableFuture<Proposer.Outcome> a = p.propose(cmd("a"));
    CompletableFuture<Proposer.Outcome> b = p.propose(cmd("b"));
    log.succeed(0, 1);
    CompletableFuture<Proposer.Outcome> later = p.propose(cmd("later"));

    RaftError refused = new RaftError(RaftError.Kind.STATE_MACHINE, "apply failed", null);
    log.complete(1, RaftReply.failure(refused, 1));

    assertThat(failure(a)).isSameAs(refused);
    assertThat(failure(b)).isSameAs(refused);
    assertThat(ids(log.entry(2))).containsExactly("later");
    log.succeed(2, 3);
    assertThat(later.join().logIndex()).isEqualTo(3);
  }

  // A reply whose result count differs from the entry's command count fails every future of
  // the entry: results cannot be matched to commands.
  @Test
  void replyWithTooManyResultsFailsBatch() {
    Proposer p = new Proposer(log, 1, NO_LIMIT);
    CompletableFuture<Proposer.Outcome> a = p.propose(cmd("a"));

    log.reply(0, 1, result(ResultCode.APPLIED), result(ResultCode.APPLIED));

    assertThat(failure(a)).isInstanceOf(IllegalStateException.class);
  }

  // Too few results fail the whole entry as well, and the slot is freed.
  @Test
  void replyWithTooFewResultsFailsBatch() {
    Proposer p = new Proposer(log, 1, NO_LIMIT);
    p.propose(cmd("first"));
    CompletableFuture<Proposer.Outcome> a = p.propose(cmd("a"));
    CompletableFuture<Proposer.Outcome> b = p.propose(cmd("b"));
    log.succeed(0, 1);
    p.propose(cmd("later"));

    log.reply(1, 2, result(ResultCode.APPLIED));

    assertThat(failure(a)).isInstanceOf(IllegalStateException.class);
    assertThat(failure(b)).isInstanceOf(IllegalStateException.class);
    assertThat(ids(log.entry(2))).containsExactly("later");
  }

  // A reply whose message is not a BatchResult fails every future of the entry.
  @Test
  void replyWithUnreadableMessageFailsBatch() {
    Proposer p = new Proposer(log, 1, NO_LIMIT);
    CompletableFuture<Proposer.Outcome> a = p.propose(cmd("a"));

    log.complete(0, RaftReply.success(new byte[] {(byte) 0xff, (byte) 0xff}, 1, 1));

    assertThat(failure(a)).isInstanceOf(InvalidProtocolBufferException.class);
  }

  // A submit function that throws fails the entry's futures and does not leak the slot.
  @Test
  void throwingSubmitFailsBatchAndFreesSlot() {
    RuntimeException down = new IllegalStateException("client closed");
    boolean[] throwNext = {true};
    Proposer p = new Proposer(data -> {
      if (throwNext[0]) {
        throwNext[0] = false;
        throw down;
      }
      return log.apply(data);
    }, 1, NO_LIMIT);

    CompletableFuture<Proposer.Outcome> a = p.propose(cmd("a"));
    CompletableFuture<Proposer.Outcome> b = p.propose(cmd("b"));

    assertThat(failure(a)).isSameAs(down);
    assertThat(ids(log.entry(0))).containsExactly("b");
    log.succeed(0, 1);
    assertThat(b.join().logIndex()).isEqualTo(1);
  }

  // --- the fake log ---

  /** Records submitted entries; each reply is completed by hand. */
  // --- linger ---

  // With a linger, an idle proposer still submits at once: nothing is in flight to wait for.
  @Test
  void idleProposerWithALingerSubmitsAtOnce() {
    Proposer p = new Proposer(log, 2, NO_LIMIT, timer, Proposer.Observer.NONE);

    p.propose(cmd("a"));

    assertThat(log.entries()).hasSize(1);
    assertThat(timer.waiting).isEmpty();
  }

  // A lone client's commands come one at a time, so each entry carries one command: a free slot
  // sends at once even though another entry is in flight. The linger is for load only.
  @Test
  void entriesOfOneCommandNeverWaitForTheLinger() {
    Proposer p = new Proposer(log, 2, NO_LIMIT, timer, Proposer.Observer.NONE);
    p.propose(cmd("a"));

    p.propose(cmd("b"));

    assertThat(log.entries()).hasSize(2);
    assertThat(timer.waiting).isEmpty();
  }

  // Under load (the last entry carried several commands), a slot that frees while another entry
  // is in flight waits for the linger; what arrives meanwhile leaves together when it ends.
  @Test
  void underLoadAFreeSlotWaitsForTheLingerWhileAnEntryIsInFlight() {
    Proposer p = loaded(NO_LIMIT);
    p.propose(cmd("e"));
    p.propose(cmd("f"));

    log.succeed(1, 11);

    assertThat(log.entries()).hasSize(3);
    assertThat(timer.waiting).hasSize(1);
    p.propose(cmd("g"));
    timer.pass();
    assertThat(log.entries()).hasSize(4);
    assertThat(ids(log.entry(3))).containsExactly("e", "f", "g");
  }

  // A full batch does not wait for the linger.
  @Test
  void aFullBatchLeavesWithoutWaitingForTheLinger() {
    Proposer p = loaded(300);
    p.propose(cmd("e", 100));
    log.succeed(1, 11);
    assertThat(log.entries()).hasSize(3);

    p.propose(cmd("f", 200));

    assertThat(log.entries()).hasSize(4);
    assertThat(ids(log.entry(3))).containsExactly("e");
  }

  // After the linger the waiting commands leave even though an entry is still in flight; once an
  // entry carried one command again, the next free slot sends at once.
  @Test
  void theLingerEndsOnceAndStopsWhenTheLoadDoes() {
    Proposer p = loaded(NO_LIMIT);
    p.propose(cmd("e"));
    log.succeed(1, 11);
    assertThat(log.entries()).hasSize(3);
    timer.pass();
    assertThat(log.entries()).hasSize(4);
    assertThat(ids(log.entry(3))).containsExactly("e");

    p.propose(cmd("f"));
    log.succeed(2, 12);

    assertThat(log.entries()).hasSize(5);
    assertThat(timer.waiting).isEmpty();
  }

  /**
   * A proposer with a linger and two slots, whose last entry carried two commands ("c", "d"):
   * that entry (index 2) and "b" (index 1) are in flight, entry 0 ("a") was answered.
   */
  Proposer loaded(int maxBatchBytes) {
    Proposer p = new Proposer(log, 2, maxBatchBytes, timer, Proposer.Observer.NONE);
    p.propose(cmd("a"));
    p.propose(cmd("b"));
    p.propose(cmd("c"));
    p.propose(cmd("d"));
    log.succeed(0, 10);
    assertThat(ids(log.entry(2))).containsExactly("c", "d");
    assertThat(timer.waiting).isEmpty();
    return p;
  }

  final ManualTimer timer = new ManualTimer();

  /** The linger's timer: tasks wait until {@link #pass} runs them. */
  static final class ManualTimer implements java.util.concurrent.Executor {
    final List<Runnable> waiting = new ArrayList<>();

    @Override
    public void execute(Runnable task) {
      waiting.add(task);
    }

    void pass() {
      List<Runnable> due = List.copyOf(waiting);
      waiting.clear();
      due.forEach(Runnable::run);
    }
  }

  static final class FakeLog implements Function<byte[], CompletableFuture<RaftReply>> {
    private final List<CommandBatch> entries = new ArrayList<>();
    private final List<CompletableFuture<RaftReply>> replies = new ArrayList<>();

    @Override
    public CompletableFuture<RaftReply> apply(byte[] data) {
      try {
        entries.add(CommandBatch.parseFrom(data));
      } catch (InvalidProtocolBufferException e) {
        throw new UncheckedIOException(e);
      }
      CompletableFuture<RaftReply> reply = new CompletableFuture<>();
      replies.add(reply);
      return reply;
    }

    List<CommandBatch> entries() {
      return entries;
    }

    CommandBatch entry(int i) {
      assertThat(entries).as("submitted entries").hasSizeGreaterThan(i);
      return entries.get(i);
    }

    /** Answers entry {@code i} with APPLIED for each of its commands. */
    void succeed(int i, long logIndex) {
      CommandResult[] results = new CommandResult[entry(i).getCommandsCount()];
      Arrays.fill(results, result(ResultCode.APPLIED));
      reply(i, logIndex, results);
    }

    /** Answers entry {@code i} with the given results, whatever their number. */
    void reply(int i, long logIndex, CommandResult... results) {
      BatchResult batch = BatchResult.newBuilder().addAllResults(List.of(results)).build();
      complete(i, RaftReply.success(batch.toByteArray(), logIndex, 1));
    }

    void complete(int i, RaftReply reply) {
      entry(i);
      assertThat(replies.get(i).complete(reply)).as("entry %s answered once", i).isTrue();
    }

    void fail(int i, Throwable error) {
      entry(i);
      assertThat(replies.get(i).completeExceptionally(error)).as("entry %s answered once", i).isTrue();
    }
  }

  // --- helpers ---

  static CommandResult result(ResultCode code) {
    return CommandResult.newBuilder().setCode(code).setStatus(WorkflowStatusCode.RUNNING).build();
  }

  static Command cmd(String id) {
    return cmd(id, 0);
  }

  /** A start command identified by {@code id}, padded with {@code inputBytes} of input. */
  static Command cmd(String id, int inputBytes) {
    return Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder()
        .setWorkflowId(id).setType("t").setVersion(1)
        .setInput(com.google.protobuf.ByteString.copyFrom(new byte[inputBytes]))).build();
  }

  static List<String> ids(CommandBatch batch) {
    return batch.getCommandsList().stream().map(c -> c.getWorkflowStart().getWorkflowId()).toList();
  }

  /** The root cause of a future that must have failed. */
  static Throwable failure(CompletableFuture<?> f) {
    assertThat(f).isCompletedExceptionally();
    return rootCause(f.handle((o, e) -> e).join());
  }

  static Throwable rootCause(Throwable e) {
    while (e.getCause() != null && e.getCause() != e) {
      e = e.getCause();
    }
    return e;
  }
}
