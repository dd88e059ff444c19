package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.TestCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.OwnerChange;
import io.raftoral.proto.raft.ResultCode;
import io.raftoral.raft.GroupId;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every owner decision carries the term it was taken in, and the rules refuse it once another
 * owner's term is current (SPEC §3, §4). A 3-node cluster in one JVM; each test moves the group's
 * leadership while node 1, the owner, is inside a 3 s side effect.
 */
class OwnershipTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final long EFFECT_MILLIS = 3000;

  private final ConcurrentLinkedQueue<Long> effectRanOn = new ConcurrentLinkedQueue<>();
  private volatile CountDownLatch effectStarted = new CountDownLatch(1);
  private TestCluster cluster;

  @BeforeEach
  void start() throws Exception {
    cluster = TestCluster.start(3, null, (node, b) -> b.register(WorkflowDefinition.of("effect", 1, String.class, String.class,
        (ctx, in) -> {
          ctx.checkpoint("before", in);
          return ctx.checkpointCompute("effect", String.class, () -> {
            effectRanOn.add(node);
            effectStarted.countDown();
            Thread.sleep(EFFECT_MILLIS);
            return "ran-on-" + node;
          });
        })));
    cluster.makeOwner(1);
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  // A voluntary hand-off (a clean stop, a transfer) lets the side effect running on the old owner
  // propose its result before the leadership moves: without a crash it runs exactly once.
  @Test
  void aHandOffWaitsForTheRunningSideEffectSoItRunsExactlyOnce() throws Exception {
    WorkflowHandle<String> h = cluster.node(1).start("effect", 1, "in", String.class, "handoff");
    assertThat(effectStarted.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();

    assertThat(cluster.node(1).inspector().transferLeadership("handoff", 2, Duration.ofSeconds(10))).isTrue();

    assertThat(cluster.node(2).handle(h.workflowId(), String.class).result(TIMEOUT)).isEqualTo("ran-on-1");
    assertThat(effectRanOn).containsExactly(1L);
  }

  // When the leadership moves away without a hand-off (the way a pause or a partition moves it),
  // the old owner's side effect result still carries the term it was decided in: it is refused
  // under the new owner's term, never committed as if the new owner had decided it.
  @Test
  void aSideEffectResultCarriesTheOwnerTermItWasDecidedIn() throws Exception {
    WorkflowHandle<String> h = cluster.node(1).start("effect", 1, "in", String.class, "moved");
    assertThat(effectStarted.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).isTrue();

    // Asked through node 3, which does not lead: the leader steps down at once, mid side effect.
    assertThat(cluster.node(3).inspector().transferLeadership("moved", 2, Duration.ofSeconds(10))).isTrue();

    String result = cluster.node(3).handle(h.workflowId(), String.class).result(TIMEOUT);
    List<NodeInspector.LoggedCommand> log = awaitLog(cluster.node(2), h.executionGroup(),
        c -> c.hasSetCheckpoint() && c.getSetCheckpoint().getValue().toStringUtf8().contains("ran-on-1"));
    long node1Term = log.stream().filter(c -> c.command().hasOwnerChange() && c.command().getOwnerChange().getOwnerNode() == 1)
        .mapToLong(c -> c.command().getOwnerChange().getClaimantTerm()).max().orElseThrow();
    List<Long> termsOfNode1Result = log.stream()
        .filter(c -> c.command().hasSetCheckpoint() && c.command().getSetCheckpoint().getKey().equals("effect")
            && c.command().getSetCheckpoint().getValue().toStringUtf8().contains("ran-on-1"))
        .map(c -> c.command().getSetCheckpoint().getOwnerTerm()).toList();
    assertThat(termsOfNode1Result).as("owner terms of node 1's proposals").containsOnly(node1Term);
    assertThat(result).isIn("ran-on-1", "ran-on-2");
  }

  // Only a leader claims ownership, for its own term: a claim of another node that reaches the
  // leader (forwarded, or replayed by a client) is refused when appended, and the owner stays.
  @Test
  void aClaimOfAnotherNodeForwardedToTheLeaderIsRefused() throws Exception {
    NodeInspector follower = cluster.node(3).inspector();
    GroupId group = follower.executionGroupIds().getFirst();
    long term = cluster.node(1).inspector().replicaOwner(group.uuid().toString()).term();
    Command forged = Command.newBuilder().setOwnerChange(OwnerChange.newBuilder()
        .setOwnerNode(3).setClaimantTerm(term).setReason("forged by a test")).build();

    var outcome = follower.propose(group, forged).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);

    assertThat(outcome.result().getCode()).isEqualTo(ResultCode.STALE_OWNER);
    for (RaftoralNode n : cluster.nodes) {
      assertThat(n.inspector().replicaOwner(group.uuid().toString()).node()).as("owner on node %d", n.nodeId()).isEqualTo(1);
    }
    effectStarted = new CountDownLatch(0);
    assertThat(cluster.node(3).start("effect", 1, "after", String.class).result(TIMEOUT)).isEqualTo("ran-on-1");
  }

  /** The group's log on {@code node} once it holds a command matching {@code until}. */
  private static List<NodeInspector.LoggedCommand> awaitLog(RaftoralNode node, String group,
      java.util.function.Predicate<Command> until) throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      List<NodeInspector.LoggedCommand> log = node.inspector().loggedCommands(group);
      if (log.stream().anyMatch(c -> until.test(c.command()))) {
        return log;
      }
      assertThat(System.nanoTime()).as("the awaited command reached the log in time").isLessThan(deadline);
      Thread.sleep(50);
    }
  }
}
