package io.raftoral.runtime;

import io.raftoral.api.ExecutionMode;
import io.raftoral.api.WorkflowDefinition;
import io.raftoral.api.WorkflowRegistry;
import io.raftoral.api.WorkflowType;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.OwnerChange;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.raft.PeerIds;
import io.raftoral.raft.Proposer;
import io.raftoral.raft.RaftHost;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.state.WorkflowState;
import io.raftoral.state.WorkflowStateMachine;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's part in one execution group: the local runs of the group's workflows, the
 * group's proposer, and ownership. The owner is the group's Raft leader once its {@code
 * OwnerChange} is applied; runs ask {@link #isOwner()} before every proposal.
 */
final class GroupRuntime implements WorkflowStateMachine.Listener {
  private static final Logger LOG = LoggerFactory.getLogger(GroupRuntime.class);

  private final RaftGroupId groupId;
  private final long self;
  private final RaftHost host;
  private final WorkflowStateMachine stateMachine;
  private final Proposer proposer;
  private final WorkflowRegistry registry;
  private final Payloads payloads;
  private final ExecutorService executor;
  private final ConcurrentHashMap<String, WorkflowRun> runs = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, CompletableFuture<Void>> finals = new ConcurrentHashMap<>();
  // Bumped on every leadership change, so a stale ownership claim stops retrying.
  private final AtomicLong leaderEpoch = new AtomicLong();
  private volatile boolean closed;

  GroupRuntime(RaftGroupId groupId, long self, RaftHost host, WorkflowStateMachine stateMachine,
      WorkflowRegistry registry, Payloads payloads, ExecutorService executor, Proposer proposer) {
    this.groupId = groupId;
    this.self = self;
    this.host = host;
    this.stateMachine = stateMachine;
    this.registry = registry;
    this.payloads = payloads;
    this.executor = executor;
    this.proposer = proposer;
    stateMachine.setListener(this);
  }

  RaftGroupId groupId() {
    return groupId;
  }

  WorkflowStateMachine stateMachine() {
    return stateMachine;
  }

  WorkflowState state() {
    return stateMachine.state();
  }

  boolean isClosed() {
    return closed;
  }

  /** The replicated state names this node as owner (it may have just lost Raft leadership). */
  boolean isOwnerNode() {
    return state().ownerNode() == self;
  }

  /** This node owns the group's workflows now: it leads the group and its OwnerChange is applied. */
  boolean isOwner() {
    return isOwnerNode() && host.isLeader(groupId);
  }

  long ownerTerm() {
    return state().ownerTerm();
  }

  CompletableFuture<Proposer.Outcome> propose(Command command) {
    return proposer.propose(command);
  }

  /** Completes once the workflow has a final status in this replica. */
  CompletableFuture<Void> finalFuture(String workflowId) {
    CompletableFuture<Void> f = finals.computeIfAbsent(workflowId, id -> new CompletableFuture<>());
    WorkflowEntry w = state().get(workflowId);
    if (w != null && !w.isRunning()) {
      f.complete(null);
      finals.remove(workflowId, f);
    }
    return f;
  }

  // --- events from the state machine (Ratis threads: never block) ---

  @Override
  public void applied(long index, Command command, CommandResult result) {
    if (result.getCode() != ResultCode.APPLIED) {
      return;
    }
    switch (command.getKindCase()) {
      case WORKFLOW_START -> maybeStartRun(command.getWorkflowStart().getWorkflowId());
      case SET_CHECKPOINT -> signal(command.getSetCheckpoint().getWorkflowId());
      case WORKFLOW_END -> ended(command.getWorkflowEnd().getWorkflowId());
      case WORKFLOW_TERMINATE -> ended(command.getWorkflowTerminate().getWorkflowId());
      case OWNER_CHANGE -> ownerChanged(command.getOwnerChange());
      case PRUNE_WORKFLOWS, KIND_NOT_SET -> {}
    }
  }

  @Override
  public void leaderChanged(RaftPeerId newLeader) {
    long epoch = leaderEpoch.incrementAndGet();
    runs.values().forEach(WorkflowRun::signal);
    if (PeerIds.nodeId(newLeader) == self && !closed) {
      executor.execute(() -> claimOwnership(epoch));
    }
  }

  @Override
  public void restored() {
    // Loaded from the store or an installed snapshot: no applied() events announced these
    // workflows, so start the runs this node should have and wake the ones it has.
    runs.values().forEach(WorkflowRun::signal);
    for (WorkflowEntry w : state().workflows()) {
      if (w.isRunning()) {
        maybeStartRun(w.workflowId());
      } else {
        ended(w.workflowId());
      }
    }
  }

  private void signal(String workflowId) {
    WorkflowRun run = runs.get(workflowId);
    if (run != null) {
      run.signal();
    }
  }

  private void ended(String workflowId) {
    WorkflowRun run = runs.get(workflowId);
    if (run != null) {
      run.signal(); // it may still be behind: it releases the values when it returns (runEnded)
    } else {
      releaseValues(workflowId);
    }
    CompletableFuture<Void> f = finals.remove(workflowId);
    if (f != null) {
      f.complete(null);
    }
  }

  /** An ended workflow's checkpoint values leave memory once no local run reads them. */
  private void releaseValues(String workflowId) {
    WorkflowEntry w = state().get(workflowId);
    if (w != null) {
      w.releaseValues();
    }
  }

  private void ownerChanged(OwnerChange change) {
    LOG.info("group {}: node {} owns its workflows from term {} ({})",
        groupId, change.getOwnerNode(), state().ownerTerm(), change.getReason());
    runs.values().forEach(WorkflowRun::signal);
    if (change.getOwnerNode() == self) {
      for (WorkflowEntry w : state().workflows()) {
        if (w.isRunning()) {
          maybeStartRun(w.workflowId());
        }
      }
    }
  }

  /** Proposes this node as owner until it is applied or this node is no longer the leader. */
  private void claimOwnership(long epoch) {
    while (!closed && leaderEpoch.get() == epoch && host.isLeader(groupId)) {
      try {
        Proposer.Outcome outcome = proposer.propose(Command.newBuilder()
            .setOwnerChange(OwnerChange.newBuilder().setOwnerNode(self).setReason("node " + self + " became leader of the group"))
            .build()).get(30, TimeUnit.SECONDS);
        if (outcome.result().getCode() == ResultCode.APPLIED) {
          return;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        LOG.debug("group {}: ownership claim failed, retrying", groupId, e);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Starts a local run of a RUNNING workflow unless one exists or this node should not run it. */
  void maybeStartRun(String workflowId) {
    if (closed) {
      return;
    }
    WorkflowEntry w = state().get(workflowId);
    if (w == null || !w.isRunning() || runs.containsKey(workflowId)) {
      return;
    }
    WorkflowDefinition<?, ?> definition = registry.find(new WorkflowType(w.type(), w.version()));
    if (definition == null) {
      LOG.warn("group {}: cannot run workflow {}: {}@v{} is not registered on node {}",
          groupId, workflowId, w.type(), w.version(), self);
      return;
    }
    if (definition.mode() == ExecutionMode.OWNER_ONLY && !isOwnerNode()) {
      return;
    }
    WorkflowRun run = new WorkflowRun(this, w, definition, payloads);
    if (runs.putIfAbsent(workflowId, run) == null) {
      executor.execute(run);
    }
  }

  /** A local run returned; start another if the workflow still needs one here. */
  void runEnded(WorkflowRun run) {
    runs.remove(run.workflowId(), run);
    WorkflowEntry w = state().get(run.workflowId());
    if (w == null) {
      return;
    }
    if (!w.isRunning()) {
      // ended() saw this run and left the values to it; a run started since would hold them again.
      if (!runs.containsKey(run.workflowId())) {
        w.releaseValues();
      }
    } else if (!closed) {
      maybeStartRun(run.workflowId());
    }
  }

  int localRuns() {
    return runs.size();
  }

  void close() {
    closed = true;
    runs.values().forEach(WorkflowRun::signal);
    finals.values().forEach(f -> f.completeExceptionally(new IllegalStateException("node closed")));
  }
}
