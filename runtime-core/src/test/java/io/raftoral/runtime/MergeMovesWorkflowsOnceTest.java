package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.raftoral.TestCluster;
import io.raftoral.proto.raft.AdoptWorkflows;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandResult;
import io.raftoral.proto.raft.ExportWorkflows;
import io.raftoral.proto.raft.ExportedWorkflow;
import io.raftoral.proto.raft.Query;
import io.raftoral.proto.raft.QueryReply;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.proto.raft.SealGroup;
import io.raftoral.proto.raft.SetCheckpoint;
import io.raftoral.proto.raft.WorkflowStart;
import io.raftoral.proto.raft.WorkflowStatusCode;
import io.raftoral.raft.GroupId;
import io.raftoral.raft.Proposer;
import io.raftoral.state.WorkflowEntry;
import io.raftoral.workflow.JsonCodec;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Rule (issue 20, merge): a sealed group's workflows, exported page by page from its leader and
 * adopted by the merge target, complete there exactly once; finished ones keep their result and
 * checkpoints; the sealed group commits nothing more.
 *
 * <p>Scenario: 3 real Ratis nodes, {@code executionGroups(2)}. Group 1 runs workflows that run a
 * side effect, then block on a latch before a second side effect, and workflows that finish.
 * Group 1 is sealed; every export page is adopted into group 0 (the first page twice, as a new
 * management leader redoing the merge would); the latch is released. Starts are proposed into
 * the groups directly, so the test does not depend on how clients route them.
 */
class MergeMovesWorkflowsOnceTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final int BLOCKED = 6;
  private static final int FINISHED = 4;

  private final CountDownLatch release = new CountDownLatch(1);
  // Side effects run, per workflow id and step: each must run exactly once in the cluster.
  private final Map<String, AtomicInteger> effects = new ConcurrentHashMap<>();
  private TestCluster cluster;

  @BeforeEach
  void start() {
    cluster = TestCluster.start(3, null, (node, b) -> b.executionGroups(2).requestTimeout(Duration.ofSeconds(20))
        .register(WorkflowDefinition.of("merge", 1, String.class, String.class, (ctx, in) -> {
          String first = ctx.checkpointCompute("first", String.class, () -> effect(ctx.workflowId(), "first"));
          if (in.startsWith("block")) {
            release.await();
          }
          String second = ctx.checkpointCompute("second", String.class, () -> effect(ctx.workflowId(), "second"));
          return first + "+" + second;
        })));
  }

  @AfterEach
  void stop() {
    release.countDown();
    cluster.close();
  }

  private String effect(String workflowId, String step) {
    effects.computeIfAbsent(workflowId + "/" + step, k -> new AtomicInteger()).incrementAndGet();
    return step + "-of-" + workflowId;
  }

  @Test
  void workflowsOfASealedGroupCompleteOnceInTheGroupThatAdoptsThem() throws Exception {
    NodeInspector node1 = cluster.node(1).inspector();
    List<GroupId> groups = node1.executionGroupIds();
    assertThat(groups).hasSize(2);
    GroupId into = groups.get(0);
    GroupId from = groups.get(1);

    List<String> blocked = new ArrayList<>();
    List<String> finished = new ArrayList<>();
    for (int i = 0; i < BLOCKED; i++) {
      blocked.add("blocked-" + i);
      assertThat(propose(node1, from, start("blocked-" + i, "block")).getCode()).isEqualTo(ResultCode.APPLIED);
    }
    for (int i = 0; i < FINISHED; i++) {
      finished.add("finished-" + i);
      assertThat(propose(node1, from, start("finished-" + i, "go")).getCode()).isEqualTo(ResultCode.APPLIED);
    }
    awaitOnEveryNode(from, g -> blocked.stream().allMatch(id -> committed(g, id) == 1)
        && finished.stream().allMatch(id -> g.state().get(id).status() == WorkflowStatusCode.COMPLETED), "group 1 ran to the latch");

    // Seal, and wait until every replica of group 1 has applied it (its runs stop at their next step).
    assertThat(propose(node1, from, Command.newBuilder().setSealGroup(SealGroup.newBuilder()
        .setMergeTarget(into.uuid().toString())).build()).getCode()).isEqualTo(ResultCode.APPLIED);
    awaitOnEveryNode(from, g -> g.state().sealed(), "every replica of group 1 sealed");
    QueryReply status = group(1, from).query(Query.newBuilder().setStatus(true).build()).get(20, TimeUnit.SECONDS);
    assertThat(status.getStatus().getSealed()).isTrue();
    assertThat(status.getStatus().getWorkflows()).isEqualTo(BLOCKED + FINISHED);
    assertThat(status.getStatus().getRunningWorkflows()).isEqualTo(BLOCKED);
    assertThat(status.getStatus().getLeaderNode()).isIn(1L, 2L, 3L);
    assertThat(status.getStatus().getMembersList()).extracting(m -> m.getNodeId()).containsExactlyInAnyOrder(1L, 2L, 3L);

    // Export every page from group 1's leader and adopt each into group 0.
    List<QueryReply> pages = new ArrayList<>();
    String cursor = "";
    do {
      QueryReply page = group(2, from).query(Query.newBuilder().setExport(ExportWorkflows.newBuilder()
          .setAfterWorkflowId(cursor).setMaxBytes(400)).build()).get(20, TimeUnit.SECONDS);
      pages.add(page);
      cursor = page.getExported(page.getExportedCount() - 1).getRecord().getWorkflowId();
    } while (pages.getLast().getMore());
    assertThat(pages.size()).as("pages").isGreaterThan(1);
    Map<String, ExportedWorkflow> exported = new HashMap<>();
    pages.forEach(p -> p.getExportedList().forEach(x -> exported.put(x.getRecord().getWorkflowId(), x)));
    assertThat(exported).hasSize(BLOCKED + FINISHED);

    long adopted = 0;
    for (QueryReply page : pages) {
      CommandResult r = propose(node1, into, adopt(from, page));
      assertThat(r.getCode()).isEqualTo(ResultCode.APPLIED);
      adopted += r.getPruned();
    }
    assertThat(propose(node1, into, adopt(from, pages.getFirst())).getPruned()).as("a page adopted again adds nothing").isZero();
    assertThat(adopted).isEqualTo(BLOCKED + FINISHED);

    // Waiters of adopted workflows, on every node: none is final while the latch holds them.
    List<CompletableFuture<Void>> finals = new ArrayList<>();
    for (long n = 1; n <= 3; n++) {
      GroupRuntime g = group(n, into);
      blocked.forEach(id -> finals.add(g.finalFuture(id)));
    }
    assertThat(finals).noneMatch(CompletableFuture::isDone);

    release.countDown();
    CompletableFuture.allOf(finals.toArray(CompletableFuture[]::new)).get(WAIT.toSeconds(), TimeUnit.SECONDS);

    for (long n = 1; n <= 3; n++) {
      GroupRuntime g = group(n, into);
      for (String id : blocked) {
        WorkflowEntry w = g.state().get(id);
        assertThat(w.status()).as("%s in group 0 on node %s", id, n).isEqualTo(WorkflowStatusCode.COMPLETED);
        assertThat(w.toRecord().getResult().toStringUtf8()).isEqualTo("\"first-of-" + id + "+second-of-" + id + "\"");
      }
      for (String id : finished) {
        assertThat(g.state().get(id).toRecord()).as("%s keeps its record", id)
            .isEqualTo(exported.get(id).getRecord());
      }
      // Group 1 keeps the blocked ones RUNNING: nothing after the seal committed there.
      for (String id : blocked) {
        assertThat(group(n, from).state().get(id).status()).isEqualTo(WorkflowStatusCode.RUNNING);
        assertThat(committed(group(n, from), id)).isEqualTo(1);
      }
    }
    for (String id : blocked) {
      assertThat(effects.get(id + "/first").get()).as("first side effect of %s", id).isEqualTo(1);
      assertThat(effects.get(id + "/second").get()).as("second side effect of %s", id).isEqualTo(1);
    }
    for (String id : finished) {
      assertThat(effects.get(id + "/first").get()).isEqualTo(1);
      assertThat(effects.get(id + "/second").get()).isEqualTo(1);
    }

    // Finished workflows' checkpoints came along: group 0 exports them as group 1 did.
    QueryReply after = group(3, into).query(Query.newBuilder().setExport(ExportWorkflows.newBuilder()
        .setAfterWorkflowId("finished-").setMaxBytes(1 << 20)).build()).get(20, TimeUnit.SECONDS);
    for (ExportedWorkflow x : after.getExportedList()) {
      assertThat(x.getCheckpointsList()).as("checkpoints of %s", x.getRecord().getWorkflowId())
          .isEqualTo(exported.get(x.getRecord().getWorkflowId()).getCheckpointsList()).hasSize(2);
    }
    assertThat(after.getExportedCount()).isEqualTo(FINISHED);

    // Group 1 refuses new checkpoints (SEALED) and starts (MOVED).
    long ownerTerm = group(1, from).state().ownerTerm();
    CommandResult write = propose(node1, from, Command.newBuilder().setSetCheckpoint(SetCheckpoint.newBuilder()
        .setWorkflowId("blocked-0").setKey("second").setSeq(0).setValue(ByteString.copyFromUtf8("\"late\"")).setOwnerTerm(ownerTerm)).build());
    assertThat(write.getCode()).isEqualTo(ResultCode.SEALED);
    assertThat(propose(node1, from, start("late", "go")).getCode()).isEqualTo(ResultCode.MOVED);
  }

  private static Command start(String id, String input) {
    return Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder().setWorkflowId(id).setType("merge").setVersion(1)
        .setInput(ByteString.copyFrom(new JsonCodec().encode(input))).setStartedAtMillis(System.currentTimeMillis())).build();
  }

  private static Command adopt(GroupId from, QueryReply page) {
    return Command.newBuilder().setAdoptWorkflows(AdoptWorkflows.newBuilder().setFromGroup(from.uuid().toString())
        .addAllWorkflows(page.getExportedList())).build();
  }

  private static CommandResult propose(NodeInspector node, GroupId group, Command command) throws Exception {
    Proposer.Outcome outcome = node.propose(group, command).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    return outcome.result();
  }

  private GroupRuntime group(long node, GroupId gid) {
    return cluster.node(node).inspector().group(gid.uuid().toString());
  }

  private static long committed(GroupRuntime g, String id) {
    WorkflowEntry w = g.state().get(id);
    return w == null ? -1 : w.toRecord().getCheckpointCount();
  }

  private void awaitOnEveryNode(GroupId gid, java.util.function.Predicate<GroupRuntime> condition, String what)
      throws InterruptedException {
    BooleanSupplier all = () -> {
      for (long n = 1; n <= 3; n++) {
        GroupRuntime g = group(n, gid);
        if (g == null || !condition.test(g)) {
          return false;
        }
      }
      return true;
    };
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!all.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.sleep(50);
    }
  }
}
