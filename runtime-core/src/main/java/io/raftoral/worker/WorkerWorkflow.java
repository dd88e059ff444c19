package io.raftoral.worker;

import com.google.protobuf.ByteString;
import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.worker.Ack;
import io.raftoral.proto.worker.CallFailed;
import io.raftoral.proto.worker.Cancel;
import io.raftoral.proto.worker.CheckpointCommitted;
import io.raftoral.proto.worker.CheckpointProposal;
import io.raftoral.proto.worker.CheckpointValue;
import io.raftoral.proto.worker.ComputeResult;
import io.raftoral.proto.worker.Execute;
import io.raftoral.proto.worker.Failure;
import io.raftoral.proto.worker.NodeMessage;
import io.raftoral.proto.worker.ProtocolError;
import io.raftoral.proto.worker.RunCompute;
import io.raftoral.proto.worker.WorkerMessage;
import io.raftoral.proto.worker.WorkflowResult;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.ForeignException;
import io.raftoral.workflow.RunControl;
import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowFunction;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A workflow type whose code runs on workers: its function, run by the node like any other,
 * hands the run to a worker registered for the type and makes the worker's calls on its own
 * context, one at a time, in the order they arrive. So the checkpoint contract, ownership,
 * replay and failover are the engine's, unchanged; the worker only runs the user's code.
 *
 * <p>When the worker is lost mid-run, the run goes to another worker of the type (or the same
 * one, reconnected) with every value this run has given out so far: the new worker replays
 * against them and continues. A compute step whose result was not committed then runs again
 * (its position stayed free); a committed one never does.
 */
final class WorkerWorkflow implements WorkflowFunction<byte[], byte[]> {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerWorkflow.class);
  // How often a run that waits (for a worker, or for its worker's next message) checks that it is still wanted.
  private static final long POLL_MILLIS = 200;
  // A context that cannot say whether its run is wanted (a read-only replay) waits this long for a worker.
  private static final long UNCONTROLLED_WAIT_MILLIS = 30_000;
  // The most history bytes an Execute carries; the positions past it are answered when asked.
  static final int MAX_HISTORY_BYTES = 4 << 20;

  private final WorkerHost host;
  private final WorkflowDefinition<byte[], byte[]> definition;
  private final CopyOnWriteArrayList<WorkerSession> sessions = new CopyOnWriteArrayList<>();

  WorkerWorkflow(WorkerHost host, WorkflowType type, ExecutionMode mode, long keepLastPerKey) {
    this.host = host;
    this.definition = WorkflowDefinition.ofBytes(type.name(), type.version(), this).withMode(mode)
        .withKeepLastPerKey(keepLastPerKey);
  }

  WorkflowDefinition<byte[], byte[]> definition() {
    return definition;
  }

  WorkflowType type() {
    return definition.type();
  }

  void add(WorkerSession session) {
    sessions.addIfAbsent(session);
  }

  void remove(WorkerSession session) {
    sessions.remove(session);
  }

  int workers() {
    return sessions.size();
  }

  /** The values a run of this node has given out, per key in seq order, and in the order given. */
  private static final class Served {
    final Map<String, List<ByteString>> byKey = new HashMap<>();
    final List<CheckpointValue> inOrder = new ArrayList<>();

    long next(String key) {
      List<ByteString> values = byKey.get(key);
      return values == null ? 0 : values.size();
    }

    ByteString at(String key, long seq) {
      return byKey.get(key).get((int) seq);
    }

    void add(String key, long seq, ByteString value) {
      byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
      inOrder.add(CheckpointValue.newBuilder().setKey(key).setSeq(seq).setValue(value).build());
    }
  }

  /** The worker ended the run (sent its result) while a compute step it asked for was outstanding. */
  private static final class ComputeAbandoned extends RuntimeException {
    ComputeAbandoned() {
      super("the worker sent the run's result without the result of its compute step", null, false, false);
    }
  }

  /** The worker's stream ended while it held the run. */
  private static final class WorkerLost extends RuntimeException {
    WorkerLost() {
      super("the worker was lost", null, false, false);
    }
  }

  @Override
  public byte[] run(WorkflowContext ctx, byte[] input) {
    Served served = new Served();
    while (true) {
      WorkerSession session = acquire(ctx);
      RemoteRun run = session.open(host.nextRunId());
      if (run == null) {
        continue; // the session ended between the reservation and now
      }
      try {
        session.send(execute(ctx, input, run, served));
        return drive(ctx, run, served);
      } catch (WorkerLost lost) {
        LOG.info("workflow {}: {} was lost during run {}; the run goes to another worker", ctx.workflowId(),
            session.name(), run.id);
      } finally {
        session.close(run);
      }
    }
  }

  /**
   * A slot on the least busy worker of the type that has room, waiting until one has. The run is
   * checked to be still wanted once the slot is taken, so that a workflow terminated (or ended
   * elsewhere) while it waited never reaches a worker that registered just after.
   */
  private WorkerSession acquire(WorkflowContext ctx) {
    long waitedMillis = 0;
    while (true) {
      long seen = host.slotEpoch();
      List<WorkerSession> byLoad = new ArrayList<>(sessions);
      byLoad.sort(java.util.Comparator.comparingInt(WorkerSession::activeRuns));
      for (WorkerSession s : byLoad) {
        if (s.reserve()) {
          try {
            stillWanted(ctx, waitedMillis);
          } catch (RuntimeException | Error notWanted) {
            s.release();
            throw notWanted;
          }
          return s;
        }
      }
      stillWanted(ctx, waitedMillis);
      host.awaitSlot(seen, POLL_MILLIS);
      waitedMillis += POLL_MILLIS;
    }
  }

  /**
   * Throws when the run should stop. The engine's context knows (terminated, ended elsewhere, not
   * ours, the node stopping); a context that cannot tell (a read-only replay) gives up after a while.
   */
  private void stillWanted(WorkflowContext ctx, long waitedMillis) {
    if (ctx instanceof RunControl control) {
      control.checkStillWanted();
      return;
    }
    if (host.isClosed()) {
      throw new Errors.NodeClosedException("the node's worker host is closed: workflow " + ctx.workflowId() + " does not run here");
    }
    if (waitedMillis >= UNCONTROLLED_WAIT_MILLIS) {
      throw new Errors.UnavailableException("no worker of " + type() + " answered within " + waitedMillis + " ms", null);
    }
  }

  private NodeMessage execute(WorkflowContext ctx, byte[] input, RemoteRun run, Served served) {
    Execute.Builder e = Execute.newBuilder().setRun(run.id).setWorkflowId(ctx.workflowId())
        .setType(type().name()).setVersion(type().version()).setInput(ByteString.copyFrom(input))
        .setIsOwner(ctx.isOwner()).setMode(WorkerHost.toProto(definition.mode()));
    long bytes = 0;
    for (CheckpointValue v : served.inOrder) {
      bytes += v.getSerializedSize();
      if (bytes > MAX_HISTORY_BYTES) {
        break; // the worker asks for the rest: answered from `served` (replay below)
      }
      e.addHistory(v);
    }
    return NodeMessage.newBuilder().setExecute(e).build();
  }

  /** Handles the worker's messages of the run until its result. */
  private byte[] drive(WorkflowContext ctx, RemoteRun run, Served served) {
    long idleMillis = 0;
    while (true) {
      WorkerMessage m = next(ctx, run, idleMillis);
      if (m == null) {
        idleMillis += POLL_MILLIS;
        continue;
      }
      idleMillis = 0;
      switch (m.getKindCase()) {
        case CHECKPOINT -> checkpoint(ctx, run, served, m.getCheckpoint());
        case COMPUTE_RESULT -> protocolError(run, "a ComputeResult for " + m.getComputeResult().getKey() + "#"
            + m.getComputeResult().getSeq() + " came while no compute step was asked of the worker; ignored");
        case WORKFLOW_RESULT -> {
          WorkflowResult r = m.getWorkflowResult();
          run.session.send(NodeMessage.newBuilder().setAck(Ack.newBuilder().setRun(run.id)).build());
          return switch (r.getOutcomeCase()) {
            case RESULT -> r.getResult().toByteArray();
            case ERROR -> throw failure(r.getError());
            case OUTCOME_NOT_SET -> throw new ForeignException("InvalidWorkflowResult",
                "the worker's WorkflowResult for run " + run.id + " carried neither a result nor an error");
          };
        }
        default -> throw new IllegalStateException("a session delivers run messages only, got " + m.getKindCase());
      }
    }
  }

  /** The next message of the run, or null after a poll interval; throws when the worker is lost or the run is not wanted. */
  private WorkerMessage next(WorkflowContext ctx, RemoteRun run, long idleMillis) {
    WorkerMessage m;
    try {
      m = run.next(POLL_MILLIS);
    } catch (InterruptedException e) {
      // Only a stopping node interrupts a run; that shows in stillWanted below, else wait on.
      m = null;
    }
    if (m == RemoteRun.LOST) {
      throw new WorkerLost();
    }
    if (m == null) {
      try {
        stillWanted(ctx, idleMillis);
      } catch (RuntimeException | Error notWanted) { // the engine's stop signal is an Error
        cancel(ctx, run, notWanted);
        throw notWanted;
      }
    }
    return m;
  }

  private void checkpoint(WorkflowContext ctx, RemoteRun run, Served served, CheckpointProposal p) {
    String key = p.getKey();
    long expected = served.next(key);
    if (p.getSeq() < 0) { // unsigned on the wire: 2^63 and above
      callFailed(run, p, new Errors.InvalidArgumentException("write " + Long.toUnsignedString(p.getSeq()) + " of key '" + key
          + "' of run " + run.id + " skips ahead: the next write of that key is " + expected));
      return;
    }
    if (p.getSeq() < expected) {
      // A replay past the history Execute carried: this run gave the value out already.
      committed(run, key, p.getSeq(), served.at(key, p.getSeq()));
      return;
    }
    if (p.getSeq() > expected) {
      callFailed(run, p, new Errors.InvalidArgumentException("write " + p.getSeq() + " of key '" + key + "' of run " + run.id
          + " skips ahead: the next write of that key is " + expected + " (count each key's writes from 0)"));
      return;
    }
    byte[] value;
    try {
      value = p.getCompute()
          ? ctx.checkpointComputeBytes(key, () -> compute(ctx, run, key, p.getSeq()))
          : ctx.checkpointBytes(key, p.getValue().toByteArray());
    } catch (WorkerLost lost) {
      throw lost;
    } catch (ComputeAbandoned abandoned) {
      protocolError(run, abandoned.getMessage() + " (" + key + "#" + p.getSeq() + "); the step's position stays free");
      return;
    } catch (io.raftoral.workflow.ReplayedSideEffectFailure replayed) {
      // A replay (RaftoralNode.replay) found no value for this step: it failed when the workflow
      // ran. The worker's code gets it as that run's code got the failure, and may catch it again.
      String type = replayed.recordedErrorType() != null ? replayed.recordedErrorType() : "ReplayedSideEffectFailure";
      run.session.send(NodeMessage.newBuilder().setCallFailed(CallFailed.newBuilder().setRun(run.id).setKey(key)
          .setSeq(p.getSeq()).setCode(io.raftoral.proto.client.ErrorCode.ERR_WORKFLOW_FAILED)
          .setMessage(String.valueOf(replayed.getMessage()))
          .setFailure(Failure.newBuilder().setType(type).setMessage(String.valueOf(replayed.getMessage())))).build());
      return;
    } catch (Errors.WorkflowTerminatedException terminated) {
      cancel(ctx, run, terminated);
      throw terminated;
    } catch (ForeignException failed) {
      run.session.send(NodeMessage.newBuilder().setCallFailed(CallFailed.newBuilder().setRun(run.id).setKey(key)
          .setSeq(p.getSeq()).setCode(io.raftoral.proto.client.ErrorCode.ERR_WORKFLOW_FAILED)
          .setMessage(String.valueOf(failed.getMessage()))
          .setFailure(Failure.newBuilder().setType(failed.errorType()).setMessage(String.valueOf(failed.getMessage())))).build());
      return;
    } catch (Errors.InvalidArgumentException | Errors.CodecException refused) {
      // Bad input of the call (a key, a value over the limit): the workflow code decides what to do.
      callFailed(run, p, refused);
      return;
    } catch (RuntimeException | Error control) {
      cancel(ctx, run, control);
      throw control;
    }
    ByteString v = ByteString.copyFrom(value);
    served.add(key, p.getSeq(), v);
    committed(run, key, p.getSeq(), v);
  }

  /**
   * Asks the worker to compute (key, seq) and waits for its result; the run's other messages
   * meanwhile wait for after it. Runs inside the context's compute step, on the owner only.
   */
  private byte[] compute(WorkflowContext ctx, RemoteRun run, String key, long seq) {
    run.session.send(NodeMessage.newBuilder().setRunCompute(RunCompute.newBuilder().setRun(run.id).setKey(key).setSeq(seq)).build());
    long idleMillis = 0;
    while (true) {
      WorkerMessage m;
      try {
        m = run.nextFromWorker(POLL_MILLIS);
      } catch (InterruptedException e) {
        m = null; // only a stopping node interrupts a run: stillWanted below says so
      }
      if (m == RemoteRun.LOST) {
        throw new WorkerLost();
      }
      if (m == null) {
        idleMillis += POLL_MILLIS;
        stillWanted(ctx, idleMillis); // what it throws unwinds the compute step, then the run (cancelled there)
        continue;
      }
      if (m.getKindCase() == WorkerMessage.KindCase.WORKFLOW_RESULT) {
        // The function returned without waiting for the step (a JS promise never awaited): no
        // ComputeResult will come. The step's position stays free; the result ends the run.
        run.defer(m);
        throw new ComputeAbandoned();
      }
      if (m.getKindCase() != WorkerMessage.KindCase.COMPUTE_RESULT) {
        run.defer(m);
        continue;
      }
      ComputeResult r = m.getComputeResult();
      if (!r.getKey().equals(key) || r.getSeq() != seq) {
        protocolError(run, "a ComputeResult for " + r.getKey() + "#" + r.getSeq() + " came while " + key + "#" + seq
            + " was asked; ignored");
        continue;
      }
      return switch (r.getOutcomeCase()) {
        case VALUE -> r.getValue().toByteArray();
        case ERROR -> throw failure(r.getError());
        case OUTCOME_NOT_SET -> throw new ForeignException("InvalidComputeResult", "the ComputeResult for " + key + "#" + seq
            + " carried neither a value nor an error");
      };
    }
  }

  /** A worker's error as the workflow's: its type cut to 256 characters, its message to the payload limit. */
  private ForeignException failure(Failure f) {
    String type = f.getType().length() > 256 ? f.getType().substring(0, 256) : f.getType();
    String message = f.getMessage();
    int limit = Math.max(1024, host.maxValueBytes());
    if (message.length() > limit) {
      message = message.substring(0, limit) + "... (" + f.getMessage().length() + " characters)";
    }
    return new ForeignException(type, message);
  }

  private static void committed(RemoteRun run, String key, long seq, ByteString value) {
    run.session.send(NodeMessage.newBuilder().setCheckpointCommitted(CheckpointCommitted.newBuilder()
        .setRun(run.id).setKey(key).setSeq(seq).setValue(value)).build());
  }

  private static void callFailed(RemoteRun run, CheckpointProposal p, RaftoralException e) {
    run.session.send(NodeMessage.newBuilder().setCallFailed(CallFailed.newBuilder().setRun(run.id).setKey(p.getKey())
        .setSeq(p.getSeq()).setCode(io.raftoral.proto.client.ErrorCode.forNumber(e.code().number()))
        .setMessage(String.valueOf(e.getMessage()))).build());
  }

  private static void protocolError(RemoteRun run, String message) {
    run.session.send(NodeMessage.newBuilder().setProtocolError(ProtocolError.newBuilder().setRun(run.id).setMessage(message)).build());
  }

  /** Tells the worker its run stops, and why. */
  private void cancel(WorkflowContext ctx, RemoteRun run, Throwable why) {
    Cancel.Reason reason;
    String message;
    if (why instanceof Errors.WorkflowTerminatedException t) {
      reason = Cancel.Reason.TERMINATED;
      message = String.valueOf(t.getMessage());
    } else if (host.isClosed() || why instanceof Errors.NodeClosedException) {
      reason = Cancel.Reason.NODE_STOPPING;
      message = "the node is stopping";
    } else if (definition.mode() == ExecutionMode.OWNER_ONLY && !ctx.isOwner()) {
      reason = Cancel.Reason.OWNERSHIP_LOST;
      message = "this node no longer owns workflow " + ctx.workflowId() + "; its new owner's node runs it";
    } else {
      reason = Cancel.Reason.ENDED_ELSEWHERE;
      message = "this run of workflow " + ctx.workflowId() + " is no longer wanted (it ended elsewhere, or its values "
          + "were replaced and a fresh run replays the committed ones)";
    }
    run.session.send(NodeMessage.newBuilder().setCancel(Cancel.newBuilder().setRun(run.id).setReason(reason)
        .setMessage(message)).build());
  }
}
