package io.raftoral.runtime;

import com.google.protobuf.InvalidProtocolBufferException;
import io.raftoral.common.Errors;
import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.Topology;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.ManagementStateMachine;
import io.raftoral.raft.RaftHost;
import io.raftoral.raft.RaftReply;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which execution group a workflow goes to or lives in, and how to ask a group: its leader (this
 * replica when it leads), or this replica when only a final status is needed.
 */
final class Routing {
  private static final Logger LOG = LoggerFactory.getLogger(Routing.class);

  /** A workflow record and the execution group it lives in. */
  record Located(GroupId group, WorkflowRecord record) {}

  private final long nodeId;
  private final Duration requestTimeout;
  private final RaftHost host;
  private final ManagementStateMachine management;
  private final GroupHosting hosting;
  // The execution groups of the bootstrap configuration, until the topology is applied.
  private final List<GroupId> bootstrapGroups;

  Routing(long nodeId, Duration requestTimeout, RaftHost host, ManagementStateMachine management, GroupHosting hosting,
      List<GroupId> bootstrapGroups) {
    this.nodeId = nodeId;
    this.requestTimeout = requestTimeout;
    this.host = host;
    this.management = management;
    this.hosting = hosting;
    this.bootstrapGroups = bootstrapGroups;
  }

  List<GroupId> bootstrapGroups() {
    return bootstrapGroups;
  }

  /** The execution groups in index order: from the topology once known, else the bootstrap ones. */
  List<GroupId> executionGroupIds() {
    Topology t = management.topology();
    if (t.getExecutionGroupsCount() == 0) {
      return bootstrapGroups;
    }
    return t.getExecutionGroupsList().stream()
        .sorted(Comparator.comparingInt(ExecutionGroupRecord::getIndex))
        .map(g -> GroupId.of(UUID.fromString(g.getGroupId())))
        .toList();
  }

  /**
   * The groups starts are routed over, in index order: the open ones (a group created later is
   * opened only once the others refuse starts routed without it), or the bootstrap ones before
   * the topology is known.
   */
  List<GroupId> openGroupIds() {
    Topology t = management.topology();
    if (t.getExecutionGroupsCount() == 0) {
      return bootstrapGroups;
    }
    return t.getExecutionGroupsList().stream()
        .filter(ExecutionGroupRecord::getOpen)
        .sorted(Comparator.comparingInt(ExecutionGroupRecord::getIndex))
        .map(g -> GroupId.of(UUID.fromString(g.getGroupId())))
        .toList();
  }

  /**
   * The group a new workflow id goes to: a stable hash over the open groups. Groups are only ever
   * added, so an id may have been started in another group before; lookups search them all.
   */
  GroupId primaryGroup(String workflowId) {
    return primaryGroup(workflowId, openGroupIds());
  }

  GroupId primaryGroup(String workflowId, List<GroupId> open) {
    if (open.isEmpty()) {
      throw new Errors.UnavailableException("node " + nodeId + " does not know the cluster's execution groups yet", null);
    }
    return open.get(Math.floorMod(workflowId.hashCode(), open.size()));
  }

  /** Finds a workflow in its primary group first, then in the others. */
  Located locate(String workflowId) {
    RuntimeException unreachable = null;
    for (GroupId gid : searchOrder(workflowId, executionGroupIds())) {
      try {
        WorkflowRecord r = recordIn(gid, workflowId);
        if (r != null) {
          return new Located(gid, r);
        }
      } catch (Errors.UnavailableException e) {
        unreachable = e;
      }
    }
    if (unreachable != null) {
      throw unreachable;
    }
    throw new Errors.WorkflowNotFoundException(workflowId);
  }

  /** The id's primary group first, then the other groups of {@code groups}. */
  private List<GroupId> searchOrder(String workflowId, java.util.Collection<GroupId> groups) {
    GroupId primary = primaryGroup(workflowId);
    List<GroupId> order = new ArrayList<>();
    order.add(primary);
    groups.stream().filter(g -> !g.equals(primary)).forEach(order::add);
    return order;
  }

  /**
   * The workflow from a replica here that holds it still running, or null. Waiting for its end
   * then needs no leader: the replica applies the end as the leader does. (A final status here
   * is not trusted without the leader: this replica may be behind a prune and a new start.)
   */
  Located runningHere(String workflowId) {
    for (GroupId gid : searchOrder(workflowId, hosting.all().keySet())) {
      GroupRuntime local = hosting.get(gid);
      var w = local == null ? null : local.state().get(workflowId);
      if (w != null && w.isRunning()) {
        return new Located(gid, w.toRecord());
      }
    }
    return null;
  }

  /**
   * The workflow as the group's leader knows it (this replica when it leads); null when absent.
   * When no leader answers, this replica answers only a final status, which never changes: a
   * replica cut off from its group may be behind, and "running" or "unknown" from it may be stale
   * (a partitioned node answered RUNNING for workflows the others had completed before the call:
   * PartitionHealProcessesTest).
   */
  WorkflowRecord recordIn(GroupId gid, String workflowId) {
    GroupRuntime local = hosting.get(gid);
    if (local != null && host.isLeader(gid)) {
      var w = local.state().get(workflowId);
      return w == null ? null : w.toRecord();
    }
    try {
      QueryReply answer = query(gid, Query.newBuilder().setDescribeWorkflowId(workflowId).build(), requestTimeout);
      return answer.getFound() ? answer.getWorkflow() : null;
    } catch (Errors.UnavailableException e) {
      var w = local == null ? null : local.state().get(workflowId);
      if (w == null || w.isRunning()) {
        throw e;
      }
      LOG.debug("describe {} on the leader failed; answering the final status from this replica", workflowId, e);
      return w.toRecord();
    }
  }

  QueryReply query(GroupId gid, Query query, Duration timeout) {
    RaftReply reply = queryReply(gid, query, timeout);
    try {
      return QueryReply.parseFrom(reply.message());
    } catch (InvalidProtocolBufferException e) {
      throw new Errors.UnavailableException("unreadable query reply from group " + gid, e);
    }
  }

  RaftReply queryReply(GroupId gid, Query query, Duration timeout) {
    try {
      RaftReply reply = host.query(gid, query.toByteArray())
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!reply.isSuccess()) {
        throw new Errors.UnavailableException("group " + gid + " did not answer: " + reply.error(), reply.error());
      }
      return reply;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Errors.UnavailableException("interrupted while asking group " + gid, e);
    } catch (ExecutionException | TimeoutException e) {
      throw new Errors.UnavailableException("group " + gid + " did not answer within " + timeout, e);
    }
  }
}
