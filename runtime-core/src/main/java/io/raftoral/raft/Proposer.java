package io.raftoral.raft;

import io.raftoral.proto.raft.BatchResult;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandBatch;
import io.raftoral.proto.raft.CommandResult;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * Group commit for one Raft group: the commands of all concurrent workflows of the group go
 * into one {@link CommandBatch} entry. When fewer than {@code maxInFlight} entries are in flight
 * a command is flushed at once (no latency added when idle); otherwise commands wait for the
 * next free slot and leave together. With a linger, a slot that frees while another entry is
 * still in flight waits that long for more commands (up to a full batch) before it sends, but
 * only under load: when the last entry sent carried more than one command. A lone client whose
 * commands arrive one at a time never waits.
 */
public final class Proposer {
  /** A command that reached the log, with the index of the entry that carried it. */
  public record Outcome(CommandResult result, long logIndex) {}

  /** What a proposer reports as it works (the node's metrics). Called on its threads: must not block. */
  public interface Observer {
    Observer NONE = new Observer() {
      @Override
      public void sent(int commands) {}

      @Override
      public void answered(Command.KindCase kind, long nanos, boolean committed) {}
    };

    /** A batch of {@code commands} left as one entry. */
    void sent(int commands);

    /** A command was answered {@code nanos} after it was proposed: committed, or failed (not committed here). */
    void answered(Command.KindCase kind, long nanos, boolean committed);
  }

  private record Pending(Command command, int size, long proposedAt, CompletableFuture<Outcome> future) {}

  private final Function<byte[], CompletableFuture<RaftReply>> submit;
  private final int maxInFlight;
  private final int maxBatchBytes;
  private final Executor afterLinger;
  private final Observer observer;
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private int queuedBytes;
  private int inFlight;
  private boolean lingering;
  private int lastBatchCommands;

  /**
   * @param submit appends one entry and completes with the leader's reply
   * @param maxInFlight entries submitted but not yet answered, at most
   * @param maxBatchBytes a batch stops growing past this size (one command always fits)
   */
  public Proposer(Function<byte[], CompletableFuture<RaftReply>> submit, int maxInFlight, int maxBatchBytes) {
    this(submit, maxInFlight, maxBatchBytes, null, Observer.NONE);
  }

  /**
   * @param afterLinger runs a task once the linger has passed, or null for no linger
   * @param observer told of each batch sent and each command answered
   */
  public Proposer(Function<byte[], CompletableFuture<RaftReply>> submit, int maxInFlight, int maxBatchBytes,
      Executor afterLinger, Observer observer) {
    this.submit = submit;
    this.maxInFlight = maxInFlight;
    this.maxBatchBytes = maxBatchBytes;
    this.afterLinger = afterLinger;
    this.observer = observer;
  }

  /** Proposes {@code command}; completes once it is applied on the leader. */
  public CompletableFuture<Outcome> propose(Command command) {
    Pending p = new Pending(command, command.getSerializedSize(), System.nanoTime(), new CompletableFuture<>());
    synchronized (this) {
      queue.add(p);
      queuedBytes += p.size;
    }
    flush(false);
    return p.future;
  }

  private void lingerEnded() {
    synchronized (this) {
      lingering = false;
    }
    flush(true);
  }

  /** Sends the next batch if a slot is free (and, with a linger, once it has waited). */
  private void flush(boolean lingered) {
    List<Pending> batch;
    synchronized (this) {
      if (inFlight >= maxInFlight || queue.isEmpty()) {
        return;
      }
      boolean full = queuedBytes >= maxBatchBytes;
      if (lingering && !full) {
        return;
      }
      if (afterLinger != null && inFlight > 0 && lastBatchCommands > 1 && !full && !lingered) {
        lingering = true;
        afterLinger.execute(this::lingerEnded);
        return;
      }
      batch = new ArrayList<>();
      int bytes = 0;
      while (!queue.isEmpty() && (batch.isEmpty() || bytes + queue.peek().size <= maxBatchBytes)) {
        Pending p = queue.poll();
        bytes += p.size;
        batch.add(p);
      }
      queuedBytes -= bytes;
      lastBatchCommands = batch.size();
      inFlight++;
    }
    observer.sent(batch.size());
    CommandBatch.Builder entry = CommandBatch.newBuilder();
    for (Pending p : batch) {
      entry.addCommands(p.command);
    }
    CompletableFuture<RaftReply> reply;
    try {
      reply = submit.apply(entry.build().toByteArray());
    } catch (RuntimeException e) {
      reply = CompletableFuture.failedFuture(e);
    }
    reply.whenComplete((r, error) -> {
      synchronized (this) {
        inFlight--;
      }
      complete(batch, r, error);
      flush(false);
    });
  }

  private void complete(List<Pending> batch, RaftReply reply, Throwable error) {
    if (error == null && !reply.isSuccess()) {
      error = reply.error();
    }
    BatchResult results = null;
    if (error == null) {
      try {
        results = BatchResult.parseFrom(reply.message());
        if (results.getResultsCount() != batch.size()) {
          error = new IllegalStateException("batch of " + batch.size() + " got " + results.getResultsCount() + " results");
        }
      } catch (Exception e) {
        error = e;
      }
    }
    long now = System.nanoTime();
    for (int i = 0; i < batch.size(); i++) {
      Pending p = batch.get(i);
      observer.answered(p.command.getKindCase(), now - p.proposedAt, error == null);
      if (error != null) {
        batch.get(i).future.completeExceptionally(error);
      } else {
        batch.get(i).future.complete(new Outcome(results.getResults(i), reply.logIndex()));
      }
    }
  }
}
