package io.raftoral.runtime;

import com.google.protobuf.ByteString;
import io.raftoral.common.Errors;
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
import java.time.Duration;
import java.util.List;
import java.util.UUID;
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

  private final long nodeId;
  private final Duration requestTimeout;
  private final Payloads payloads;
  private final GroupHosting hosting;
  private final Routing routing;
  private final ServingGate gate;

  WorkflowCalls(long nodeId, Duration requestTimeout, Payloads payloads, GroupHosting hosting, Routing routing, ServingGate gate) {
    this.nodeId = nodeId;
    this.requestTimeout = requestTimeout;
    this.payloads = payloads;
    this.hosting = hosting;
    this.routing = routing;
    this.gate = gate;
  }

  /**
   * Starts a workflow and returns once its {@code WorkflowStart} is committed (and applied by this
   * node's replica of its group, when it has one). With a {@code workflowId} the start is
   * idempotent, also across groups: the same id with the same type, version and input returns
   * the existing run.
   */
  Started start(WorkflowType type, byte[] input, String workflowId) {
    gate.checkServing();
    String id = workflowId == null ? UUID.randomUUID().toString() : checkWorkflowId(workflowId);
    payloads.check("input of workflow " + id, input);
    // Whether the type is registered is the owner's to say (SPEC §2): the group's leader refuses
    // a start of a type it cannot run, at admission, for that start alone.
    long deadline = ServingGate.deadlineAfter(requestTimeout);
    while (true) {
      List<GroupId> open = routing.openGroupIds();
      GroupId group = routing.primaryGroup(id, open);
      if (workflowId != null && routing.executionGroupIds().size() > 1) {
        // An explicit id may have been started while there were fewer groups.
        Started earlier = startedElsewhere(id, group, type, input);
        if (earlier != null) {
          return earlier;
        }
      }
      Command command = Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder()
          .setWorkflowId(id).setType(type.name()).setVersion(type.version()).setPlacement(open.size())
          .setInput(ByteString.copyFrom(input)).setStartedAtMillis(System.currentTimeMillis())).build();
      Proposer.Outcome outcome = gate.await(hosting.propose(group, command), "start of workflow " + id);
      switch (outcome.result().getCode()) {
        case APPLIED, ALREADY_STARTED -> {}
        case CONFLICT -> throw new Errors.AlreadyExistsException(id);
        case NOT_REGISTERED -> throw new Errors.NotRegisteredException(type);
        case INVALID_INPUT -> throw new Errors.InvalidArgumentException(outcome.result().getMessage());
        case MOVED -> {
          // This node routed over fewer groups than the cluster has opened: route again once its
          // topology has caught up (the group refused, so the id was not started there).
          awaitOpenGroups(open.size() + 1, deadline, id);
          continue;
        }
        default -> throw new IllegalStateException("unexpected start outcome " + outcome.result());
      }
      readYourWrite(group, outcome.logIndex());
      return new Started(id, group.uuid().toString());
    }
  }

  /** Waits until this node's topology routes over at least {@code count} groups. */
  private void awaitOpenGroups(int count, long deadlineNanos, String workflowId) {
    while (routing.openGroupIds().size() < count) {
      gate.checkServing();
      if (System.nanoTime() - deadlineNanos > 0) {
        throw new Errors.UnavailableException("the start of workflow " + workflowId + " was routed over the execution groups "
            + "node " + nodeId + " knows, but the cluster has opened more and this node has not caught up within "
            + requestTimeout + "; retry, or start it through another node", null);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Errors.UnavailableException("interrupted while catching up with the cluster's execution groups", e);
      }
    }
  }

  private Started startedElsewhere(String id, GroupId primary, WorkflowType type, byte[] input) {
    for (GroupId gid : routing.executionGroupIds()) {
      if (gid.equals(primary)) {
        continue;
      }
      WorkflowRecord r = routing.recordIn(gid, id);
      if (r != null) {
        if (r.getType().equals(type.name()) && r.getVersion() == type.version() && r.getInput().equals(ByteString.copyFrom(input))) {
          return new Started(id, gid.uuid().toString());
        }
        throw new Errors.AlreadyExistsException(id);
      }
    }
    return null;
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

  /** The execution group the workflow lives in (searching every group). */
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
    long deadline = ServingGate.deadlineAfter(timeout);
    Located l = routing.runningHere(checkWorkflowId(workflowId));
    if (l == null) {
      l = routing.locate(workflowId);
    }
    if (l.record().getStatus() != WorkflowStatusCode.RUNNING) {
      return l;
    }
    GroupRuntime local = hosting.get(l.group());
    try {
      if (local != null && local.state().get(workflowId) != null) {
        local.finalFuture(workflowId).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        var entry = local.state().get(workflowId);
        if (entry == null) {
          throw new Errors.WorkflowNotFoundException(workflowId); // finished and already pruned (retention)
        }
        return new Located(l.group(), entry.toRecord());
      }
      // Not a member: long-poll the group's leader until the workflow is final. A group that is
      // electing a new leader does not answer for a while; that is no reason to give up early.
      Errors.UnavailableException lastError = null;
      while (true) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new Errors.TimeoutException("workflow " + workflowId + " did not finish within " + timeout
              + (lastError == null ? "" : " (last error: " + lastError.getMessage() + ")"));
        }
        long wait = Math.min(TimeUnit.NANOSECONDS.toMillis(left), REMOTE_AWAIT_POLL.toMillis());
        try {
          QueryReply r = routing.query(l.group(), Query.newBuilder().setAwait(AwaitWorkflow.newBuilder()
              .setWorkflowId(workflowId).setWaitMillis(Math.max(1, wait))).build(),
              Duration.ofMillis(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 500, wait + 5000)));
          if (r.getFound() && r.getWorkflow().getStatus() != WorkflowStatusCode.RUNNING) {
            return new Located(l.group(), r.getWorkflow());
          }
        } catch (Errors.UnavailableException e) {
          lastError = e;
          Thread.sleep(100);
        }
        gate.checkOpen();
      }
    } catch (TimeoutException e) {
      throw new Errors.TimeoutException("workflow " + workflowId + " did not finish within " + timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.TimeoutException("interrupted while waiting for workflow " + workflowId);
    } catch (ExecutionException e) {
      throw new Errors.NodeClosedException("node " + nodeId + " closed while waiting for workflow " + workflowId);
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
    Located l = routing.locate(workflowId);
    if (l.record().getStatus() != WorkflowStatusCode.RUNNING) {
      return WorkflowInfos.toInfo(l.record(), l.group());
    }
    Command command = Command.newBuilder().setWorkflowTerminate(WorkflowTerminate.newBuilder()
        .setWorkflowId(workflowId).setReason(reason).setAtMillis(System.currentTimeMillis())).build();
    Proposer.Outcome outcome = gate.await(hosting.propose(l.group(), command), "termination of workflow " + workflowId);
    switch (outcome.result().getCode()) {
      case APPLIED, FINISHED -> readYourWrite(l.group(), outcome.logIndex());
      case NOT_FOUND -> throw new Errors.WorkflowNotFoundException(workflowId);
      default -> throw new IllegalStateException("unexpected termination outcome " + outcome.result());
    }
    return WorkflowInfos.toInfo(routing.recordIn(l.group(), workflowId), l.group());
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
