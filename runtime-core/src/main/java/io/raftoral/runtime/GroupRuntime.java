package io.raftoral.runtime;

import io.raftoral.common.WorkflowType;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.OwnerChange;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.Proposer;
import io.raftoral.raft.RaftHost;
import io.raftoral.raft.WorkflowStateMachine;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.state.WorkflowState;
import io.raftoral.workflow.ExecutionMode;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's part in one execution group: the local runs of the group's workflows, the
 * group's proposer, and ownership. The owner is the group's Raft leader once its {@code
 * OwnerChange} is applied; a run asks {@link #ownership()} before every decision and stamps the
 * proposal with the owner term it got then.
 */
final class GroupRuntime implements WorkflowStateMachine.Listener, WorkflowRun.Host {
  private static final Logger LOG = LoggerFactory.getLogger(GroupRuntime.class);
  private static final long CLAIM_RETRY_MILLIS = 50;

  private final GroupId groupId;
  private final long self;
  private final RaftHost host;
  private final WorkflowStateMachine stateMachine;
  private final Proposer proposer;
  // Ownership claims go through this node's own division only: a claim that another leader
  // appended would be refused anyway (its claimant term is not the entry's).
  private final Proposer claims;
  private final WorkflowRegistry registry;
  private final Payloads payloads;
  private final ExecutorService executor;
  private final ExecutorService platformRuns;
  private final ConcurrentHashMap<String, WorkflowRun> runs = new ConcurrentHashMap<>();
  // Workflows whose local run ended at a durable sleep, by id: they get no run until their wake-up.
  private final ConcurrentHashMap<String, Sleeper> sleeping = new ConcurrentHashMap<>();
  private final WakeUps wakeUps;
  private final FinalWaiters finals = new FinalWaiters();
  // Whether a claim of ownership is being proposed now (one at a time).
  private final java.util.concurrent.atomic.AtomicBoolean claiming = new java.util.concurrent.atomic.AtomicBoolean();
  private final java.util.concurrent.atomic.AtomicBoolean claimWanted = new java.util.concurrent.atomic.AtomicBoolean();
  // Side-effect functions running in local runs as owner, until their results' proposals are answered.
  private final AtomicInteger sideEffectsInFlight = new AtomicInteger();
  // Hand-offs under way: while there is one, this node takes no new owner decisions (see handOff).
  private final AtomicInteger handOffs = new AtomicInteger();
  private final NodeMetrics metrics;
  private final NodeTracing tracing;
  private final NodeMetrics.GroupMeters meters;
  private volatile boolean closed;

  GroupRuntime(GroupId groupId, long self, RaftHost host, WorkflowStateMachine stateMachine,
      WorkflowRegistry registry, Payloads payloads, ExecutorService executor, ExecutorService platformRuns, WakeUps wakeUps,
      Proposer proposer, Proposer claims, NodeMetrics metrics, NodeTracing tracing) {
    this.groupId = groupId;
    this.self = self;
    this.host = host;
    this.stateMachine = stateMachine;
    this.registry = registry;
    this.payloads = payloads;
    this.executor = executor;
    this.platformRuns = platformRuns;
    this.wakeUps = wakeUps;
    this.proposer = proposer;
    this.claims = claims;
    this.metrics = metrics;
    this.tracing = tracing;
    this.meters = metrics.group(groupId, "execution", () -> host.stats(groupId));
    stateMachine.onSnapshotTaken(meters::snapshotTaken);
    stateMachine.setListener(this);
  }

  @Override
  public RunTrace trace(WorkflowEntry entry) {
    return tracing.run(entry, self);
  }

  /** The group's running workflows when this node owns it, else 0: the running-workflows gauge. */
  int ownedRunningWorkflows() {
    if (!isOwnerNode()) {
      return 0;
    }
    int running = 0;
    for (WorkflowEntry w : state().workflows()) {
      running += w.isRunning() ? 1 : 0;
    }
    return running;
  }

  GroupId groupId() {
    return groupId;
  }

  WorkflowStateMachine stateMachine() {
    return stateMachine;
  }

  WorkflowState state() {
    return stateMachine.state();
  }

  @Override
  public boolean isClosed() {
    return closed;
  }

  /** The group is sealed for a merge: its runs stop, the merge target's owner resumes them. */
  @Override
  public boolean isSealed() {
    return state().sealed();
  }

  /** The replicated state names this node as owner (it may have just lost Raft leadership). */
  @Override
  public boolean isOwnerNode() {
    return state().ownerNode() == self;
  }

  /**
   * This node's ownership now, or null: the state names it owner, it leads the group, and it is
   * not handing its leadership off. The owner term returned is the one to stamp on a proposal
   * decided now, even if it is sent later: a stale one is then refused when applied.
   */
  @Override
  public WorkflowState.Owner ownership() {
    WorkflowState.Owner owner = state().owner();
    long term = host.leaderTerm(groupId);
    if (term != 0 && owner.term() != term && !closed) {
      claimOwnership(); // leading in a term without its claim applied yet (normally claimed already)
    }
    // The claim must be of the term this node leads in now: an own claim of an earlier term
    // means this replica has not applied everything committed since (other owners' claims and
    // results), so it would decide on a stale view.
    // A sealed group takes no owner decision any more (it would be refused SEALED).
    return owner.node() == self && handOffs.get() == 0 && owner.term() == term && term != 0
        && !state().sealed() ? owner : null;
  }

  @Override
  public WorkflowState.Owner owner() {
    return state().owner();
  }

  /** This node owns the group's workflows now. */
  boolean isOwner() {
    return ownership() != null;
  }

  @Override
  public CompletableFuture<Proposer.Outcome> propose(Command command) {
    CompletableFuture<Proposer.Outcome> outcome = proposer.propose(command);
    if (command.getKindCase() == Command.KindCase.WORKFLOW_END) {
      // The end a run of this node proposed was applied: counted once, here (only one end applies).
      outcome.thenAccept(o -> {
        WorkflowEntry w = state().get(command.getWorkflowEnd().getWorkflowId());
        if (o.result().getCode() == ResultCode.APPLIED && w != null) {
          WorkflowType type = new WorkflowType(w.type(), w.version());
          if (command.getWorkflowEnd().hasError()) {
            metrics.workflowFailed(type);
          } else {
            metrics.workflowCompleted(type);
          }
        }
      });
    }
    return outcome;
  }

  /**
   * Asks the group's leader a read-only query (status, an export page, ...); fails with the
   * Raft error when no leader answers.
   */
  CompletableFuture<io.raftoral.proto.raft.QueryReply> query(io.raftoral.proto.raft.Query query) {
    return host.query(groupId, query.toByteArray()).thenApply(reply -> {
      if (!reply.isSuccess()) {
        throw new java.util.concurrent.CompletionException(reply.error());
      }
      try {
        return io.raftoral.proto.raft.QueryReply.parseFrom(reply.message());
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        throw new java.util.concurrent.CompletionException(e);
      }
    });
  }

  @Override
  public boolean leaseHeld(WorkflowState.Owner owner) {
    // Waits at most an election timeout: by then a leader cut off from its majority has stepped down.
    return host.confirmLeadership(groupId, owner.term(), host.electionTimeoutMax());
  }

  @Override
  public long leaseMarginNanos() {
    // Ratis's lease leaves a tenth of the minimum election timeout; half of it for the start,
    // half for the clocks' drift.
    return host.electionTimeoutMin().toNanos() / 20;
  }

  @Override
  public void sideEffectStarted() {
    sideEffectsInFlight.incrementAndGet();
  }

  @Override
  public void sideEffectEnded() {
    sideEffectsInFlight.decrementAndGet();
  }

  /**
   * Waits until this replica has applied what the group had committed (at most 2 s): on the
   * leader, a read of this replica after it sees whatever any member had applied (a leader's
   * apply can lag a follower's). Fails with UNAVAILABLE when it has not caught up in time.
   */
  void awaitCaughtUp() {
    try {
      stateMachine.caughtUpWithCommits().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new io.raftoral.common.Errors.UnavailableException("interrupted while group " + groupId + " caught up", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new io.raftoral.common.Errors.UnavailableException(String.valueOf(e.getCause().getMessage()), e.getCause());
    }
  }

  /** Completes once the workflow has a final status in this replica, or is no longer in it. */
  CompletableFuture<Void> finalFuture(String workflowId) {
    return finals.future(workflowId, state());
  }

  /**
   * Hands this node's leadership of the group to another member, without running a side effect
   * twice: first it stops taking owner decisions, then waits (at most {@code drain}) until every
   * side effect running here has its result proposed and every proposal is answered, and only
   * then moves the leadership ({@code transfer}). The new owner then finds those results
   * committed. Returns what {@code transfer} returned; on failure this node goes on as owner, once
   * the failed transfer has settled ({@link #settleAfterFailedTransfer}).
   */
  boolean handOff(Duration drain, BooleanSupplier transfer) {
    return drainThen(drain, transfer, true);
  }

  /**
   * As {@link #handOff}, for a last step that sends no transfer or whose failure does not matter
   * (a seal; a node that stops): owner decisions resume as soon as it returns.
   */
  boolean drainThen(Duration drain, BooleanSupplier step) {
    return drainThen(drain, step, false);
  }

  private boolean drainThen(Duration drain, BooleanSupplier step, boolean settleOnFailure) {
    if (!host.isLeader(groupId)) {
      return step.getAsBoolean();
    }
    handOffs.incrementAndGet();
    runs.values().forEach(WorkflowRun::signal);
    boolean done = false;
    long term = 0;
    try {
      long deadline = System.nanoTime() + drain.toNanos();
      while (sideEffectsInFlight.get() > 0 && System.nanoTime() < deadline && !closed) {
        Thread.sleep(5);
      }
      if (sideEffectsInFlight.get() > 0) {
        LOG.warn("group {}: handing off leadership with {} side effects still running here (waited {}); the new owner "
            + "may run them again", groupId, sideEffectsInFlight.get(), drain);
      }
      term = host.leaderTerm(groupId); // the term the step is sent in (the leadership may have moved during the drain)
      done = step.getAsBoolean();
      return done;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } finally {
      if (!done && settleOnFailure) {
        settleAfterFailedTransfer(term);
      }
      handOffs.decrementAndGet();
      runs.values().forEach(WorkflowRun::signal);
    }
  }

  /**
   * A transfer that reported failure may still complete: Ratis answers its timeout while the
   * target, already told to campaign, can still win, and a transfer refused because an earlier
   * one is under way ends with that one. A side effect this node began right after the failure
   * would be cut off by the new leader and run again by the new owner. So owner decisions stay
   * paused until this node has gone on leading in {@code term} for two election timeouts, or no
   * longer leads.
   */
  private void settleAfterFailedTransfer(long term) {
    long deadline = System.nanoTime() + host.electionTimeoutMax().toNanos() * 2;
    while (!closed && term != 0 && host.leaderTerm(groupId) == term && System.nanoTime() < deadline) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  // --- events from the state machine (Ratis threads: never block) ---

  @Override
  public void applied(long index, Command command, CommandResult result) {
    if (result.getCode() != ResultCode.APPLIED) {
      return;
    }
    switch (command.getKindCase()) {
      case WORKFLOW_START -> metrics.applied(true);
      case WORKFLOW_END, WORKFLOW_TERMINATE -> metrics.applied(false);
      default -> {}
    }
    switch (command.getKindCase()) {
      case WORKFLOW_START -> maybeStartRun(command.getWorkflowStart().getWorkflowId());
      case SET_CHECKPOINT -> signal(command.getSetCheckpoint().getWorkflowId());
      case WORKFLOW_END -> ended(command.getWorkflowEnd().getWorkflowId());
      case WORKFLOW_TERMINATE -> ended(command.getWorkflowTerminate().getWorkflowId());
      case OWNER_CHANGE -> ownerChanged(command.getOwnerChange());
      case SEAL_GROUP -> sealed(command.getSealGroup().getMergeTarget());
      case ADOPT_WORKFLOWS -> adopted(command.getAdoptWorkflows());
      case PRUNE_WORKFLOWS, REFUSED, PLACEMENT, ADOPTION_DONE, KIND_NOT_SET -> {}
    }
  }

  @Override
  public void leaderChanged(long newLeaderNode) {
    if (newLeaderNode != 0) {
      meters.leaderChanged();
    }
    runs.values().forEach(WorkflowRun::signal);
    if (newLeaderNode == self && !closed) {
      claimOwnership();
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
    finals.restored(state());
  }

  private void signal(String workflowId) {
    WorkflowRun run = runs.get(workflowId);
    if (run != null) {
      run.signal();
    }
  }

  private void ended(String workflowId) {
    dropSleeper(workflowId);
    WorkflowRun run = runs.get(workflowId);
    if (run != null) {
      run.signal(); // it may still be behind: it releases the values when it returns (runEnded)
    } else {
      releaseValues(workflowId);
    }
    finals.ended(workflowId);
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

  /** Every local run stops at its next step (see {@link WorkflowRun}): the merge target resumes it. */
  private void sealed(String mergeTarget) {
    LOG.info("group {}: sealed for a merge into group {}; {} local runs stop here", groupId, mergeTarget, runs.size());
    runs.values().forEach(WorkflowRun::signal);
  }

  /**
   * Adopted workflows are taken as if started here: running ones get their local runs (the owner's
   * replays the copied checkpoints and goes on, as after a failover), and waiters of ended ones
   * complete. An id that was held already was left as it is, and this changes nothing for it.
   */
  private void adopted(io.raftoral.proto.raft.AdoptWorkflows adopt) {
    for (io.raftoral.proto.raft.ExportedWorkflow x : adopt.getWorkflowsList()) {
      String id = x.getRecord().getWorkflowId();
      WorkflowEntry w = state().get(id);
      if (w == null) {
        continue;
      }
      if (w.isRunning()) {
        maybeStartRun(id);
      } else {
        ended(id);
      }
    }
  }

  /**
   * Claims ownership for the term this node leads in, in the background, unless a claim is under
   * way: each claim carries that term and is appended by this node's own division, so it is
   * applied only if this node still leads in that term. Retried until the claim of the term it
   * leads in is applied, or it no longer leads.
   */
  /**
   * Claims the group's workflows for this node's leadership term, on a platform thread of its
   * own: the workflows' virtual threads share a few carriers with whatever workflow code runs
   * (code that computes without blocking keeps its carrier), and the whole group waits for this
   * claim. At most one claim loop runs per group; a leadership gained while one ends is claimed
   * by another.
   */
  private void claimOwnership() {
    claimWanted.set(true);
    if (claiming.compareAndSet(false, true)) {
      Thread.ofPlatform().daemon().name("raftoral-claim-" + groupId).start(() -> {
        try {
          while (claimWanted.getAndSet(false)) {
            claimWhileLeading();
          }
        } finally {
          claiming.set(false);
        }
        if (claimWanted.get()) {
          claimOwnership(); // wanted after the loop's last look and before it let go
        }
      });
    }
  }

  private void claimWhileLeading() {
    while (!closed) {
      long term = host.leaderTerm(groupId);
      WorkflowState.Owner owner = state().owner();
      if (term == 0 || (owner.node() == self && owner.term() == term)) {
        return; // not the leader (the next one claims), or claimed
      }
      try {
        Proposer.Outcome outcome = claims.propose(Command.newBuilder().setOwnerChange(OwnerChange.newBuilder()
            .setOwnerNode(self).setClaimantTerm(term).setReason("node " + self + " became leader of the group in term " + term))
            .build()).get(30, TimeUnit.SECONDS);
        if (outcome.result().getCode() == ResultCode.APPLIED) {
          continue; // confirms above that it is this term's claim
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        LOG.debug("group {}: ownership claim failed, retrying", groupId, e);
      }
      try {
        Thread.sleep(CLAIM_RETRY_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * Starts the local runs this node should have and lacks: after types were registered late (a
   * worker connected), workflows of those types that were already RUNNING here get their runs.
   */
  void startMissingRuns() {
    for (WorkflowEntry w : state().workflows()) {
      if (w.isRunning()) {
        maybeStartRun(w.workflowId());
      }
    }
  }

  /** Starts a local run of a RUNNING workflow unless one exists or this node should not run it. */
  void maybeStartRun(String workflowId) {
    Sleeper sleeper = sleeping.get(workflowId);
    if (sleeper != null) {
      if (sleeper.wakeAtMillis() > System.currentTimeMillis() && !closed && !state().sealed()) {
        return; // its wake-up starts the run
      }
      sleeping.remove(workflowId, sleeper);
      sleeper.wakeUp().cancel();
    }
    if (closed || state().sealed()) {
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
      (definition.function().needsPlatformThread() ? platformRuns : executor).execute(run);
    }
  }

  /** A local run returned; start another if the workflow still needs one here. */
  @Override
  public void runEnded(WorkflowRun run) {
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
      if (run.sleepingUntil() != 0) {
        sleepUntil(run.workflowId(), run.sleepingUntil());
        if (!w.isRunning()) {
          dropSleeper(run.workflowId()); // it ended meanwhile: ended() may have found no sleeper to cancel
        }
      }
      maybeStartRun(run.workflowId()); // none while it sleeps
    }
  }

  /** A workflow sleeping here until {@code wakeAtMillis} (this node's clock), and the wake-up that then starts its run. */
  private record Sleeper(long wakeAtMillis, WakeUps.WakeUp wakeUp) {}

  private void dropSleeper(String workflowId) {
    Sleeper sleeper = sleeping.remove(workflowId);
    if (sleeper != null) {
      sleeper.wakeUp().cancel();
    }
  }

  private void sleepUntil(String workflowId, long wakeAtMillis) {
    // A wake-up that fires before the put finds no sleeper and starts the run; the sleeper left
    // behind has passed, and the next start attempt drops it.
    Sleeper previous = sleeping.put(workflowId, new Sleeper(wakeAtMillis, wakeUps.at(wakeAtMillis, () -> maybeStartRun(workflowId))));
    if (previous != null) {
      previous.wakeUp().cancel();
    }
  }

  int localRuns() {
    return runs.size();
  }

  /** Workflows sleeping here without a run. */
  int sleepingWorkflows() {
    return sleeping.size();
  }

  /** The workflows sleeping here when this node owns the group, else 0: the sleeping-workflows gauge. */
  int ownedSleepingWorkflows() {
    return isOwnerNode() ? sleeping.size() : 0;
  }

  void close() {
    closed = true;
    sleeping.values().forEach(s -> s.wakeUp().cancel());
    sleeping.clear();
    meters.close();
    runs.values().forEach(WorkflowRun::signal);
    finals.closeAll();
  }
}
