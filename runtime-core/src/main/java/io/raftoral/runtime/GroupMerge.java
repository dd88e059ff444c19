package io.raftoral.runtime;

import io.raftoral.proto.management.ExecutionGroupRecord;
import io.raftoral.proto.management.FinishMerge;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.Topology;
import io.raftoral.proto.raft.AdoptWorkflows;
import io.raftoral.proto.raft.AdoptionDone;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.ExportWorkflows;
import io.raftoral.proto.raft.GroupStatus;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.SealGroup;
import io.raftoral.common.Errors;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.RaftHost;
import io.raftoral.raft.RaftReply;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives the merge of a group whose BeginMerge is committed (its record has a merge_target), one
 * step per call of the management leader's round, so removals still come first between steps:
 *
 * <ol>
 *   <li>SealGroup into {@code from}: from then on its state never changes (its owner's runs stop
 *       on SEALED, starts and terminations are MOVED);
 *   <li>one page (about {@link #PAGE_BYTES}) of {@code from}'s workflows, read from its leader
 *       (Query.export after the last id copied), proposed as AdoptWorkflows into the target;
 *   <li>once a page says nothing follows: AdoptionDone into the target (a deposed leader's page
 *       arriving after it adds nothing, though the target may have pruned what it adopted), then
 *       the FinishMerge command for the caller to commit.
 * </ol>
 *
 * Every step is idempotent (sealing twice, adopting an id the target holds), and the state kept
 * here (sealed, cursor) is only a shortcut for the current term: a new management leader, or
 * this one in a new term, starts again at step 1 and ends with the same records in the target.
 * A page read from a sealed group is final, so a deposed leader's late page copies nothing
 * wrong; FinishMerge itself carries the proposer's term.
 */
final class GroupMerge {
  private static final Logger LOG = LoggerFactory.getLogger(GroupMerge.class);
  static final long PAGE_BYTES = 1 << 20;
  /** How long the source's own leader has to drain its side effects and seal it (its drain is {@link NodeRuntime#HANDOFF_DRAIN}). */
  static final Duration SEAL_GRACE = NodeRuntime.HANDOFF_DRAIN.plusSeconds(5);

  /** Asks a group (its leader) a query. */
  interface GroupQuery {
    QueryReply query(GroupId group, Query query, Duration timeout);
  }

  /**
   * Reads through {@link RaftHost#probe} (a client of their own), bounded by the given timeout:
   * a group that does not answer holds back no other call to it.
   */
  static GroupQuery probes(RaftHost host) {
    return (group, query, timeout) -> {
      CompletableFuture<QueryReply> read = CompletableFuture.supplyAsync(() -> {
        try {
          RaftReply reply = host.probe(group, query.toByteArray());
          if (!reply.isSuccess()) {
            throw new Errors.UnavailableException("group " + group + " did not answer: " + reply.error(), reply.error());
          }
          return QueryReply.parseFrom(reply.message());
        } catch (IOException e) {
          throw new Errors.UnavailableException("group " + group + " did not answer: " + e, e);
        }
      }, Thread::startVirtualThread);
      try {
        return read.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Errors.UnavailableException("interrupted while asking group " + group, e);
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        throw new Errors.UnavailableException("group " + group + " did not answer within " + timeout, e);
      }
    };
  }

  private final long self;
  private final MembershipController.GroupProposer groups;
  private final GroupQuery queries;
  private final Duration timeout;
  // Progress in the current term, for the group being merged.
  private long term;
  private int from = -1;
  private boolean sealed;
  // When this leader began to wait for the source's own leader to seal it (nanos).
  private long sealWaitSince = System.nanoTime();
  private String cursor = "";
  // Inside a workflow too big for one page: its id and the last checkpoint copied (AdoptCheckpoints).
  private String chunkOf = "";
  private String chunkKey = "";
  private long chunkSeq;
  private long adopted;

  GroupMerge(long self, MembershipController.GroupProposer groups, GroupQuery queries, Duration timeout) {
    this.self = self;
    this.groups = groups;
    this.queries = queries;
    this.timeout = timeout;
  }

  /** The first group (lowest index) being merged, or null. */
  static ExecutionGroupRecord merging(Topology t) {
    // A source without members has no replica left to seal or export: nothing to drive.
    return PlacementPolicy.liveGroups(t).stream().filter(g -> !g.getMergeTarget().isEmpty() && g.getMembersCount() > 0)
        .findFirst().orElse(null);
  }

  /**
   * One step of the merge of {@code g}, while {@code leading} holds (this node leads the
   * management group in {@code term}). Returns the FinishMerge to commit once every workflow has
   * been copied, else null (call again next round).
   */
  ManagementCommand step(Topology t, ExecutionGroupRecord g, long term, BooleanSupplier leading) {
    if (term != this.term || g.getIndex() != from) {
      this.term = term;
      from = g.getIndex();
      sealed = false;
      sealWaitSince = System.nanoTime();
      cursor = "";
      chunkOf = "";
      adopted = 0;
    }
    ExecutionGroupRecord into = t.getExecutionGroupsList().stream()
        .filter(x -> x.getGroupId().equals(g.getMergeTarget())).findFirst().orElse(null);
    if (into == null || !into.getMergedInto().isEmpty()) {
      LOG.warn("node {}: group {} is being merged into {}, which is not a live group; waiting", self, g.getIndex(),
          g.getMergeTarget());
      return null;
    }
    GroupId fromId = GroupId.of(UUID.fromString(g.getGroupId()));
    GroupId intoId = GroupId.of(UUID.fromString(into.getGroupId()));
    try {
      if (!sealed) {
        // The source's own leader seals it once the side effects running there have proposed
        // their results (LeaderPlacement), so none runs again in the target. Only a source whose
        // leader does not do so in time is sealed from here (those side effects may run again).
        GroupStatus status = queries.query(fromId, Query.newBuilder().setStatus(true).build(), timeout).getStatus();
        if (status.getSealed()) {
          sealed = true;
          LOG.info("node {}: group {} sealed; copying its workflows into group {}", self, g.getIndex(), into.getIndex());
          return null;
        }
        if (System.nanoTime() - sealWaitSince < SEAL_GRACE.toNanos() || !leading.getAsBoolean()) {
          return null;
        }
        LOG.warn("node {}: group {}'s leader did not seal it within {}: sealing it from here", self, g.getIndex(), SEAL_GRACE);
        var outcome = groups.propose(fromId, Command.newBuilder()
            .setSealGroup(SealGroup.newBuilder().setMergeTarget(into.getGroupId())).build())
            .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        ResultCode code = outcome.result().getCode();
        if (code != ResultCode.APPLIED && code != ResultCode.SEALED) {
          LOG.info("node {}: sealing group {} for its merge into group {} not done: {}", self, g.getIndex(), into.getIndex(),
              outcome.result());
          return null;
        }
        sealed = true;
        LOG.info("node {}: group {} sealed; copying its workflows into group {}", self, g.getIndex(), into.getIndex());
        return null;
      }
      QueryReply page = queries.query(fromId, Query.newBuilder().setExport(ExportWorkflows.newBuilder()
          .setAfterWorkflowId(cursor).setMaxBytes(PAGE_BYTES).setInWorkflowId(chunkOf).setAfterKey(chunkKey).setAfterSeq(chunkSeq))
          .build(), timeout);
      if (page.getChunk()) {
        // A workflow too big for one page: its checkpoints go ahead of it, a page at a time.
        if (!leading.getAsBoolean()) {
          return null;
        }
        io.raftoral.proto.raft.ExportedWorkflow part = page.getExported(0);
        var outcome = groups.propose(intoId, Command.newBuilder().setAdoptCheckpoints(io.raftoral.proto.raft.AdoptCheckpoints
            .newBuilder().setFromGroup(g.getGroupId()).setWorkflowId(part.getRecord().getWorkflowId())
            .addAllCheckpoints(part.getCheckpointsList())).build()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (outcome.result().getCode() != ResultCode.APPLIED) {
          LOG.info("node {}: group {} did not take checkpoints of group {}: {}", self, into.getIndex(), g.getIndex(), outcome.result());
          return null;
        }
        var last = part.getCheckpoints(part.getCheckpointsCount() - 1);
        chunkOf = part.getRecord().getWorkflowId();
        chunkKey = last.getKey();
        chunkSeq = last.getSeq();
        return null;
      }
      if (page.getExportedCount() > 0) {
        if (!leading.getAsBoolean()) {
          return null;
        }
        var outcome = groups.propose(intoId, Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder()
            .setFromGroup(g.getGroupId()).addAllWorkflows(page.getExportedList())).build())
            .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (outcome.result().getCode() != ResultCode.APPLIED) {
          LOG.info("node {}: group {} did not adopt a page of group {}: {}", self, into.getIndex(), g.getIndex(), outcome.result());
          return null;
        }
        adopted += page.getExportedCount();
        cursor = page.getExported(page.getExportedCount() - 1).getRecord().getWorkflowId();
        chunkOf = "";
      }
      if (page.getMore()) {
        return null;
      }
      if (!leading.getAsBoolean()) {
        return null;
      }
      var done = groups.propose(intoId, Command.newBuilder().setAdoptionDone(AdoptionDone.newBuilder()
          .setFromGroup(g.getGroupId())).build()).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (done.result().getCode() != ResultCode.APPLIED) {
        LOG.info("node {}: group {} did not close adoption from group {}: {}", self, into.getIndex(), g.getIndex(), done.result());
        return null;
      }
      LOG.info("node {}: every workflow of group {} is in group {} ({} copied in term {}): proposing FinishMerge", self,
          g.getIndex(), into.getIndex(), adopted, term);
      return ManagementCommand.newBuilder().setFinishMerge(FinishMerge.newBuilder().setFromIndex(g.getIndex())).build();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (Exception e) {
      LOG.info("node {}: merging group {} into group {}: {} (retrying)", self, g.getIndex(), into.getIndex(), e.toString());
      return null;
    }
  }
}
