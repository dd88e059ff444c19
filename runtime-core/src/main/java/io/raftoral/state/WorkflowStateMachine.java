package io.raftoral.state;

import com.google.protobuf.InvalidProtocolBufferException;
import io.raftoral.proto.raft.AwaitWorkflow;
import io.raftoral.proto.raft.BatchResult;
import io.raftoral.proto.raft.ListWorkflows;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandBatch;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import java.io.IOException;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * The Ratis state machine of one execution group: decodes each committed entry (a {@link
 * CommandBatch}), applies its commands to {@link WorkflowState} and publishes what it applied.
 * It never calls into the runtime; the runtime subscribes through {@link Listener}.
 */
public final class WorkflowStateMachine extends BaseStateMachine {

  /** What the state machine publishes. Called on Ratis threads: implementations must not block. */
  public interface Listener {
    /** One command of the entry at {@code index} was applied with {@code result}. */
    void applied(long index, Command command, CommandResult result);

    /** Ratis reports a new leader of the group (possibly this node). */
    void leaderChanged(RaftPeerId newLeader);
  }

  /**
   * Checks a batch on the leader before it is appended; throws {@link Rejection} to refuse it.
   * This is where a start of a type the leader cannot run is refused (SPEC §2).
   */
  public interface Admission {
    void check(CommandBatch batch) throws Rejection;
  }

  /** A refused proposal. The message travels back to a forwarding node inside Ratis's reply. */
  public static final class Rejection extends IOException {
    public Rejection(String message) {
      super(message);
    }
  }

  private final WorkflowState state = new WorkflowState();
  // Await queries of remote callers, answered when their workflow ends.
  private final ConcurrentHashMap<String, Set<CompletableFuture<Message>>> awaiting = new ConcurrentHashMap<>();
  private final Admission admission;
  private volatile Listener listener;
  private final Object appliedMonitor = new Object();
  private volatile long appliedIndex;

  public WorkflowStateMachine(Admission admission) {
    this.admission = admission;
  }

  public WorkflowState state() {
    return state;
  }

  public void setListener(Listener listener) {
    this.listener = listener;
  }

  public long appliedIndex() {
    return appliedIndex;
  }

  /** Waits until this replica has applied {@code index}; returns whether it has. */
  public boolean awaitApplied(long index, long deadlineNanos) throws InterruptedException {
    synchronized (appliedMonitor) {
      while (appliedIndex < index) {
        long left = deadlineNanos - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        appliedMonitor.wait(Math.max(1, left / 1_000_000));
      }
      return true;
    }
  }

  @Override
  public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
    admission.check(decodeBatch(request.getMessage().getContent()));
    return super.startTransaction(request);
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    CommandBatch batch;
    try {
      batch = decodeBatch(entry.getStateMachineLogEntry().getLogData());
    } catch (IOException e) {
      // A committed entry we cannot read means a bug or corruption: Ratis stops this server.
      return CompletableFuture.failedFuture(e);
    }
    BatchResult.Builder results = BatchResult.newBuilder();
    Listener l = listener;
    for (Command command : batch.getCommandsList()) {
      CommandResult result = state.apply(command, entry.getTerm());
      results.addResults(result);
      if (result.getCode() == ResultCode.APPLIED && (command.hasWorkflowEnd() || command.hasWorkflowTerminate())) {
        finished(command.hasWorkflowEnd() ? command.getWorkflowEnd().getWorkflowId() : command.getWorkflowTerminate().getWorkflowId());
      }
      if (l != null) {
        l.applied(entry.getIndex(), command, result);
      }
    }
    markApplied(entry.getTerm(), entry.getIndex());
    return CompletableFuture.completedFuture(
        Message.valueOf(UnsafeByteOperations.unsafeWrap(results.build().toByteArray())));
  }

  @Override
  public void notifyTermIndexUpdated(long term, long index) {
    // Entries without state machine data (elections, configuration) advance the index too.
    markApplied(term, index);
  }

  private void markApplied(long term, long index) {
    updateLastAppliedTermIndex(term, index);
    synchronized (appliedMonitor) {
      if (index > appliedIndex) {
        appliedIndex = index;
      }
      appliedMonitor.notifyAll();
    }
  }

  @Override
  public CompletableFuture<Message> query(Message request) {
    Query query;
    try {
      query = Query.parseFrom(request.getContent().asReadOnlyByteBuffer());
    } catch (InvalidProtocolBufferException e) {
      return CompletableFuture.failedFuture(e);
    }
    return switch (query.getKindCase()) {
      case DESCRIBE_WORKFLOW_ID -> CompletableFuture.completedFuture(describe(query.getDescribeWorkflowId()));
      case AWAIT -> await(query.getAwait());
      case LIST -> CompletableFuture.completedFuture(reply(list(query.getList())));
      case PING, KIND_NOT_SET -> CompletableFuture.completedFuture(reply(QueryReply.newBuilder()));
    };
  }

  private Message describe(String workflowId) {
    WorkflowEntry w = state.get(workflowId);
    return reply(w == null ? QueryReply.newBuilder() : QueryReply.newBuilder().setFound(true).setWorkflow(w.toRecord()));
  }

  /** Completes when the workflow is final (or unknown), else after the wait with its current record. */
  private CompletableFuture<Message> await(AwaitWorkflow await) {
    String id = await.getWorkflowId();
    CompletableFuture<Message> answer = new CompletableFuture<>();
    awaiting.computeIfAbsent(id, k -> ConcurrentHashMap.newKeySet()).add(answer);
    // Checked after registering, so a workflow that ends meanwhile is not missed.
    WorkflowEntry w = state.get(id);
    if (w == null || !w.isRunning()) {
      answer.complete(describe(id));
    } else {
      answer.completeOnTimeout(describe(id), Math.max(1, await.getWaitMillis()), TimeUnit.MILLISECONDS);
    }
    answer.whenComplete((m, e) -> {
      Set<CompletableFuture<Message>> waiting = awaiting.get(id);
      if (waiting != null) {
        waiting.remove(answer);
        awaiting.remove(id, Set.of());
      }
    });
    return answer;
  }

  private void finished(String workflowId) {
    Set<CompletableFuture<Message>> waiting = awaiting.remove(workflowId);
    if (waiting != null) {
      Message m = describe(workflowId);
      waiting.forEach(f -> f.complete(m));
    }
  }

  /** The matches after the cursor in (started-at, id) order, at most {@code limit}; a page of a list call. */
  public QueryReply.Builder list(ListWorkflows q) {
    Comparator<WorkflowEntry> order = Comparator.comparingLong(WorkflowEntry::startedAtMillis).thenComparing(WorkflowEntry::workflowId);
    List<WorkflowEntry> matches = state.workflows().stream()
        .filter(w -> q.getStatusesCount() == 0 || q.getStatusesList().contains(w.status()))
        .filter(w -> q.getType().isEmpty() || (q.getType().equals(w.type()) && (q.getVersion() == 0 || q.getVersion() == w.version())))
        .filter(w -> q.getStartedAfterMillis() == 0 || w.startedAtMillis() >= q.getStartedAfterMillis())
        .filter(w -> q.getStartedBeforeMillis() == 0 || w.startedAtMillis() < q.getStartedBeforeMillis())
        .filter(w -> !q.getHasCursor() || w.startedAtMillis() > q.getAfterStartedAtMillis()
            || (w.startedAtMillis() == q.getAfterStartedAtMillis() && w.workflowId().compareTo(q.getAfterWorkflowId()) > 0))
        .sorted(order)
        .limit(q.getLimit() + 1L)
        .toList();
    QueryReply.Builder reply = QueryReply.newBuilder().setMore(matches.size() > q.getLimit());
    matches.stream().limit(q.getLimit())
        .forEach(w -> reply.addWorkflows(w.toRecord().toBuilder().clearInput().clearResult()));
    return reply;
  }

  private static Message reply(QueryReply.Builder reply) {
    return Message.valueOf(UnsafeByteOperations.unsafeWrap(reply.build().toByteArray()));
  }

  @Override
  public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
    Listener l = listener;
    if (l != null) {
      l.leaderChanged(newLeaderId);
    }
  }

  private static CommandBatch decodeBatch(ByteString data) throws InvalidProtocolBufferException {
    return CommandBatch.parseFrom(data.asReadOnlyByteBuffer());
  }
}
