package io.raftoral.runtime;

import com.google.protobuf.ByteString;
import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowIds;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.raft.AwaitWorkflow;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.proto.raft.WorkflowTerminate;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.Proposer;
import io.raftoral.runtime.NodeRuntime.Outcome;
import io.raftoral.runtime.NodeRuntime.Started;
import io.raftoral.runtime.Routing.Located;
import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The client calls on one workflow: start (idempotent across groups for an explicit id), await
 * (on this node's replica, or long-polling the group's leader), describe and terminate. Each
 * reaches any execution group, hosted here or not.
 */
final class WorkflowCalls {
  private static final Duration REMOTE_AWAIT_POLL = Duration.ofSeconds(2);
  // How often an await on a replica of a group being merged looks whether the workflow moved.
  private static final Duration MERGE_RECHECK = Duration.ofMillis(500);

  private final long nodeId;
  private final Duration requestTimeout;
  private final Payloads payloads;
  private final GroupHosting hosting;
  private final Routing routing;
  private final ServingGate gate;
  private final WorkflowRegistry registry;
  private final NodeMetrics metrics;

  WorkflowCalls(long nodeId, Duration requestTimeout, Payloads payloads, GroupHosting hosting, Routing routing, ServingGate gate,
      WorkflowRegistry registry, NodeMetrics metrics) {
    this.nodeId = nodeId;
    this.metrics = metrics;
    this.registry = registry;
    this.requestTimeout = requestTimeout;
    this.payloads = payloads;
    this.hosting = hosting;
    this.routing = routing;
    this.gate = gate;
  }

  /**
   * Starts a workflow and returns once its {@code WorkflowStart} is committed (and applied by this
   * node's replica of its group, when it has one). Without a {@code workflowId} the start goes to
   * the least-loaded open group under a minted id that names the group ({@link WorkflowIds}); an
   * id of that form from the caller goes to the group it names (through merges). Any other id is
   * claimed first (the management group keeps the first claim of an id). Either way the start is
   * idempotent across groups and merges: the same id with the same type, version and input
   * returns the existing run, another one fails with AlreadyExists.
   */
  /** An id naming the least-loaded open group, as a start without an id picks it (counted as placed there). */
  String newWorkflowId() {
    gate.checkServing();
    Routing.Target target = routing.place();
    routing.placed(target.index());
    return WorkflowIds.mint(target.index());
  }

  Started start(WorkflowType type, byte[] input, String workflowId, String traceParent) {
    gate.checkServing();
    if (workflowId != null) {
      checkWorkflowId(workflowId);
    }
    payloads.check("input of workflow " + (workflowId == null ? "(new)" : workflowId), input);
    // Whether the type is registered is the owner's to say (SPEC §2): the group's leader refuses
    // a start of a type it cannot run, at admission, for that start alone.
    long deadline = ServingGate.deadlineAfter(requestTimeout);
    long startedAt = System.currentTimeMillis();
    if (workflowId == null) {
      while (true) {
        Routing.Target target = routing.place();
        String id = WorkflowIds.mint(target.index());
        Started s = startIn(target.group(), id, type, input, startedAt, traceParent);
        if (s != null) {
          routing.placed(target.index());
          return s;
        }
        // Refused MOVED: the group closed for a merge. The id was not started anywhere (nobody
        // saw it): pick again, under a new id, once this node's topology shows the group closed.
        routing.awaitTopologyShows(() -> routing.isMergingOrRetired(target.group()), deadline,
            "group " + target.group() + " refused the start as moved");
      }
    }
    String id = workflowId;
    // An id of the form g<index>-<uuid> (minted here or by a client library) names its group:
    // no claim. Any other id is claimed once, cluster-wide.
    var named = WorkflowIds.groupOf(id);
    if (named.isPresent() && !routing.knowsGroup(named.getAsInt())) {
      throw new Errors.InvalidArgumentException("workflow id " + id + " names execution group " + named.getAsInt()
          + ", which node " + nodeId + " does not know; ids of the form g<index>-<uuid> belong to the group they name");
    }
    int index = named.isPresent() ? named.getAsInt() : routing.claim(id, deadline);
    routing.awaitTopologyShows(() -> !routing.holders(index).isEmpty(), deadline,
        "workflow id " + id + " is claimed in group " + index + ", which node " + nodeId + " does not know yet");
    List<GroupId> holders = routing.holders(index);
    GroupId group = holders.getLast(); // the live group the index resolves to (a merging one before its target)
    while (true) {
      Started s = startIn(group, id, type, input, startedAt, traceParent);
      if (s != null) {
        int placedIn = routing.indexOf(group);
        if (placedIn >= 0) {
          routing.placed(placedIn);
        }
        return s;
      }
      // MOVED: the group is sealed for a merge, so its state no longer changes. The id is either
      // in it (started before the seal; the merge carries it over) or nowhere yet: only then is
      // it started in the merge target, so it never exists twice.
      GroupId sealed = group;
      routing.awaitTopologyShows(() -> routing.isMergingOrRetired(sealed), deadline,
          "group " + sealed + " refused the start of " + id + " as moved");
      if (!routing.isRetired(sealed)) {
        WorkflowRecord there = routing.recordIn(sealed, id);
        if (there != null) {
          return sameOrConflict(new Located(sealed, there), type, input);
        }
      }
      routing.awaitTopologyShows(() -> routing.successor(sealed) != null, deadline,
          "group " + sealed + " refused the start of " + id + " as moved");
      group = routing.successor(sealed).group();
    }
  }

  /** The existing run of {@code id} for a start of (type, input): it when they are equal, else AlreadyExists. */
  private static Started sameOrConflict(Located existing, WorkflowType type, byte[] input) {
    WorkflowRecord r = existing.record();
    if (r.getType().equals(type.name()) && r.getVersion() == type.version() && r.getInput().equals(ByteString.copyFrom(input))) {
      return new Started(r.getWorkflowId(), existing.group().uuid().toString());
    }
    throw new Errors.AlreadyExistsException(r.getWorkflowId());
  }

  /** Proposes the start in {@code group}; the started workflow, or null when the group refused it as MOVED. */
  private Started startIn(GroupId group, String id, WorkflowType type, byte[] input, long startedAt, String traceParent) {
    // placement 0: placed by the caller's choice or claim, not by the old hash over the groups,
    // so the group never refuses it for its count of groups (only once sealed).
    Command command = Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder()
        .setWorkflowId(id).setType(type.name()).setVersion(type.version()).setPlacement(0)
        .setInput(ByteString.copyFrom(input)).setStartedAtMillis(startedAt).setTraceParent(traceParent)).build();
    Proposer.Outcome outcome = gate.await(hosting.propose(group, command), "start of workflow " + id);
    switch (outcome.result().getCode()) {
      case APPLIED -> metrics.workflowStarted(type); // this call created it: counted once, here
      case ALREADY_STARTED -> {}
      case CONFLICT -> throw new Errors.AlreadyExistsException(id);
      case NOT_REGISTERED -> throw new Errors.NotRegisteredException(type);
      case INVALID_INPUT -> throw new Errors.InvalidArgumentException(outcome.result().getMessage());
      case MOVED -> {
        return null;
      }
      default -> throw new IllegalStateException("unexpected start outcome " + outcome.result());
    }
    readYourWrite(group, outcome.logIndex());
    return new Started(id, group.uuid().toString());
  }

  /** Once a command is committed, this node's replica (when it has one) shows it before the call returns. */
  private void readYourWrite(GroupId gid, long logIndex) {
    GroupRuntime local = hosting.get(gid);
    if (local == null) {
      return;
    }
    long deadline = ServingGate.deadlineAfter(requestTimeout);
    try {
      // In slices, so that a node closing (or removed, or in a fault) meanwhile answers at once.
      while (!gate.closed() && gate.removedMessage() == null && gate.fault() == null
          && !local.stateMachine().awaitApplied(logIndex, Math.min(deadline, System.nanoTime() + 200_000_000L))
          && System.nanoTime() - deadline < 0) {
        // the local replica is behind: wait on
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  WorkflowInfo describe(String workflowId) {
    gate.checkServing();
    Located l = routing.locate(checkWorkflowId(workflowId));
    return WorkflowInfos.toInfo(l.record(), l.group());
  }

  /** As {@link #describe}, with the workflow's encoded input and, once it completed, its encoded result. */
  NodeRuntime.Detail detail(String workflowId) {
    gate.checkServing();
    Located l = routing.locate(checkWorkflowId(workflowId));
    WorkflowRecord r = l.record();
    return new NodeRuntime.Detail(WorkflowInfos.toInfo(r, l.group()), r.getInput().toByteArray(),
        r.getStatus() == io.raftoral.proto.raft.WorkflowStatusCode.COMPLETED ? r.getResult().toByteArray() : null);
  }

  /** The execution group the workflow lives in (found from its claim or its id, following merges). */
  String executionGroupOf(String workflowId) {
    return routing.locate(checkWorkflowId(workflowId)).group().uuid().toString();
  }

  /**
   * Waits until the workflow is final, on any node (members wait on their replica, others ask
   * the group). FAILED and TERMINATED are outcomes too, not exceptions.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   * @throws Errors.TimeoutException when the timeout passes first
   */
  Outcome await(String workflowId, Duration timeout) {
    Located l = awaitLocated(workflowId, timeout);
    return new Outcome(WorkflowInfos.toInfo(l.record(), l.group()), l.record().getResult().toByteArray());
  }

  /** As {@link #await} for the embedding API: the final record. */
  WorkflowRecord awaitFinal(String workflowId, Duration timeout) {
    return awaitLocated(workflowId, timeout).record();
  }

  private Located awaitLocated(String workflowId, Duration timeout) {
    gate.checkServing();
    checkWorkflowId(workflowId);
    long deadline = ServingGate.deadlineAfter(timeout);
    Errors.UnavailableException lastError = null;
    try {
      while (true) {
        Located l = routing.runningHere(workflowId);
        if (l == null) {
          l = routing.locate(workflowId);
        }
        if (l.record().getStatus() != WorkflowStatusCode.RUNNING) {
          return l;
        }
        // Wait in the group that holds it until it is final, or until that group is merged
        // away (its replica here closes, or it stops answering): then locate it again, in the
        // target, and wait on there.
        GroupId group = l.group();
        GroupRuntime local = hosting.get(group);
        if (local != null && local.state().get(workflowId) != null) {
          Located done = awaitHere(local, group, workflowId, deadline, timeout);
          if (done != null) {
            return done;
          }
          continue;
        }
        // Not a member: long-poll the group's leader until the workflow is final. A group that is
        // electing a new leader does not answer for a while; that is no reason to give up early.
        while (true) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            throw new Errors.TimeoutException("workflow " + workflowId + " did not finish within " + timeout
                + (lastError == null ? "" : " (last error: " + lastError.getMessage() + ")"));
          }
          long wait = Math.min(TimeUnit.NANOSECONDS.toMillis(left), REMOTE_AWAIT_POLL.toMillis());
          try {
            QueryReply r = routing.query(group, Query.newBuilder().setAwait(AwaitWorkflow.newBuilder()
                .setWorkflowId(workflowId).setWaitMillis(Math.max(1, wait))).build(),
                Duration.ofMillis(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 500, wait + 5000)));
            if (r.getFound() && r.getWorkflow().getStatus() != WorkflowStatusCode.RUNNING) {
              return new Located(group, r.getWorkflow());
            }
          } catch (Errors.UnavailableException e) {
            lastError = e;
            Thread.sleep(100);
          }
          gate.checkOpen();
          if (routing.isMergingOrRetired(group)) {
            break; // sealed: it ends in the merge target; locate it again
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.TimeoutException("interrupted while waiting for workflow " + workflowId);
    }
  }

  /**
   * Waits on this node's replica of {@code group} for the workflow's end: its final record, or
   * null when the group was merged away meanwhile (the caller locates it again).
   */
  private Located awaitHere(GroupRuntime local, GroupId group, String workflowId, long deadline, Duration timeout)
      throws InterruptedException {
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new Errors.TimeoutException("workflow " + workflowId + " did not finish within " + timeout);
      }
      try {
        // In slices: a group merged away meanwhile never ends its runs here (they end in the
        // merge target), so look whether it is being merged between them.
        local.finalFuture(workflowId).get(Math.min(left, MERGE_RECHECK.toNanos()), TimeUnit.NANOSECONDS);
        var entry = local.state().get(workflowId);
        if (entry == null) {
          throw new Errors.WorkflowNotFoundException(workflowId); // finished and already pruned (retention)
        }
        return new Located(group, entry.toRecord());
      } catch (TimeoutException e) {
        if (routing.isMergingOrRetired(group)) {
          return null;
        }
      } catch (ExecutionException e) {
        // The replica closed: the node is closing, or the group retired and its replica here was dropped.
        if (gate.closed() || !routing.isMergingOrRetired(group)) {
          throw new Errors.NodeClosedException("node " + nodeId + " closed while waiting for workflow " + workflowId);
        }
        return null;
      }
    }
  }

  /**
   * Commits a {@code WorkflowTerminate}. A finished workflow is left as it is; either way the
   * reply is the workflow's info after the call.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   * @throws Errors.InvalidArgumentException for a blank reason
   */
  WorkflowInfo terminate(String workflowId, String reason) {
    gate.checkServing();
    checkWorkflowId(workflowId);
    if (reason == null || reason.isBlank()) {
      throw new Errors.InvalidArgumentException("a termination needs a reason");
    }
    if (reason.length() > 4096) {
      throw new Errors.InvalidArgumentException("the termination reason is longer than 4096 characters");
    }
    long deadline = ServingGate.deadlineAfter(requestTimeout);
    long at = System.currentTimeMillis();
    while (true) {
      Located l = routing.locate(workflowId);
      if (l.record().getStatus() != WorkflowStatusCode.RUNNING) {
        return WorkflowInfos.toInfo(l.record(), l.group());
      }
      Command command = terminateCommand(workflowId, l.record(), reason, at, registry);
      Proposer.Outcome outcome = gate.await(hosting.propose(l.group(), command), "termination of workflow " + workflowId);
      switch (outcome.result().getCode()) {
        case APPLIED -> {
          metrics.workflowTerminated(new WorkflowType(l.record().getType(), l.record().getVersion())); // this call ended it
          readYourWrite(l.group(), outcome.logIndex());
        }
        case FINISHED -> readYourWrite(l.group(), outcome.logIndex());
        case NOT_FOUND -> throw new Errors.WorkflowNotFoundException(workflowId);
        case MOVED -> {
          // Sealed for a merge: the workflow goes on in the merge target once adopted there.
          // Locate it again (the target first) and terminate it there.
          GroupId sealed = l.group();
          routing.awaitTopologyShows(() -> routing.isMergingOrRetired(sealed), deadline,
              "group " + sealed + " refused the termination of " + workflowId + " as moved");
          if (System.nanoTime() - deadline > 0) {
            throw new Errors.UnavailableException("workflow " + workflowId + " is being moved by a merge of its group and "
                + "was not adopted by the target within " + requestTimeout + "; retry", null);
          }
          sleepQuietly(50);
          continue;
        }
        default -> throw new IllegalStateException("unexpected termination outcome " + outcome.result());
      }
      return WorkflowInfos.toInfo(routing.recordIn(l.group(), workflowId), l.group());
    }
  }

  /**
   * The termination of workflow {@code workflowId} ({@code record}). It carries the history retention this node
   * registers for the workflow's type and version, as the owner stamps its own into an end: 0
   * (keep everything) when this node does not register that type, since it cannot know another
   * node's policy.
   */
  static Command terminateCommand(String workflowId, WorkflowRecord record, String reason, long atMillis, WorkflowRegistry registry) {
    WorkflowDefinition<?, ?> definition = registry.find(new WorkflowType(record.getType(), record.getVersion()));
    return Command.newBuilder().setWorkflowTerminate(WorkflowTerminate.newBuilder()
        .setWorkflowId(workflowId).setReason(reason).setAtMillis(atMillis)
        .setKeepLastPerKey(definition == null ? 0 : definition.keepLastPerKey())).build();
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.UnavailableException("interrupted", e);
    }
  }

  static String checkWorkflowId(String workflowId) {
    if (workflowId == null || workflowId.isBlank()) {
      throw new Errors.InvalidArgumentException("workflow id must not be null or blank");
    }
    if (workflowId.length() > 512) {
      throw new Errors.InvalidArgumentException("workflow id is longer than 512 characters");
    }
    return io.raftoral.common.Text.requireWellFormed("workflow id", workflowId);
  }
}
