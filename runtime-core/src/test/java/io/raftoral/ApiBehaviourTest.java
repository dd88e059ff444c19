package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.common.WorkflowType;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** SPEC §2, §5 and §12 on one shared 3-node cluster: start, await, describe and bad input. */
class ApiBehaviourTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final AtomicInteger idempotentRuns = new AtomicInteger();
  private static final CountDownLatch release = new CountDownLatch(1);
  private static TestCluster cluster;

  @BeforeAll
  static void startCluster() {
    cluster = TestCluster.start(3, null, (node, b) -> b
        .register(WorkflowDefinition.of("greet", 1, String.class, String.class, (ctx, name) ->
            ctx.checkpointCompute("greeting", String.class, () -> "hello " + name)))
        .register(WorkflowDefinition.of("greet", 2, String.class, String.class, (ctx, name) ->
            ctx.checkpointCompute("greeting", String.class, () -> "bonjour " + name)))
        .register(WorkflowDefinition.of("once", 1, String.class, String.class, (ctx, in) ->
            ctx.checkpointCompute("effect", String.class, () -> in + "#" + idempotentRuns.incrementAndGet())))
        .register(WorkflowDefinition.of("fails", 1, String.class, String.class, (ctx, in) -> {
          ctx.checkpoint("before", in);
          throw new IllegalStateException("boom: " + in);
        }))
        .register(WorkflowDefinition.of("bad_key", 1, String.class, String.class, (ctx, key) -> ctx.checkpoint(key, "v")))
        .register(WorkflowDefinition.of("huge_value", 1, Integer.class, String.class, (ctx, size) ->
            ctx.checkpoint("big", "x".repeat(size))))
        .register(WorkflowDefinition.of("gated", 1, String.class, String.class, (ctx, in) ->
            ctx.checkpointCompute("gate", String.class, () -> {
              release.await(60, TimeUnit.SECONDS);
              return "released " + in;
            }))));
  }

  @AfterAll
  static void stopCluster() {
    cluster.close();
  }

  @Test
  void versionsOfOneTypeRunTheirOwnCode() {
    assertThat(cluster.node(1).start("greet", 1, "ada", String.class).result(TIMEOUT)).isEqualTo("hello ada");
    assertThat(cluster.node(2).start("greet", 2, "ada", String.class).result(TIMEOUT)).isEqualTo("bonjour ada");
  }

  @Test
  void startOfAnUnregisteredTypeFailsAtOnce() {
    assertThatThrownBy(() -> cluster.node(2).start("nope", 1, "x", String.class))
        .isInstanceOf(Errors.NotRegisteredException.class)
        .hasMessageContaining("nope@v1");
    assertThatThrownBy(() -> cluster.node(3).start("greet", 3, "x", String.class))
        .isInstanceOf(Errors.NotRegisteredException.class)
        .satisfies(e -> assertThat(((Errors.NotRegisteredException) e).workflowType()).isEqualTo(new WorkflowType("greet", 3)));
  }

  @Test
  void startIsIdempotentForTheSameIdAndInput() {
    WorkflowHandle<String> first = cluster.node(1).start("once", 1, "in", String.class, "idem-1");
    WorkflowHandle<String> again = cluster.node(3).start("once", 1, "in", String.class, "idem-1");
    assertThat(again.workflowId()).isEqualTo(first.workflowId());
    assertThat(again.executionGroup()).isEqualTo(first.executionGroup());
    assertThat(first.result(TIMEOUT)).isEqualTo("in#1");
    assertThat(cluster.node(2).start("once", 1, "in", String.class, "idem-1").result(TIMEOUT)).isEqualTo("in#1");
    assertThat(idempotentRuns).hasValue(1);

    assertThatThrownBy(() -> cluster.node(2).start("once", 1, "other input", String.class, "idem-1"))
        .isInstanceOf(Errors.AlreadyExistsException.class);
    assertThatThrownBy(() -> cluster.node(2).start("greet", 1, "in", String.class, "idem-1"))
        .isInstanceOf(Errors.AlreadyExistsException.class);
  }

  @Test
  void aThrowingWorkflowFailsWithTheErrorsTypeAndMessage() {
    WorkflowHandle<String> h = cluster.node(3).start("fails", 1, "x", String.class);
    assertThatThrownBy(() -> h.result(TIMEOUT))
        .isInstanceOfSatisfying(Errors.WorkflowFailedException.class, e -> {
          assertThat(e.errorType()).isEqualTo(IllegalStateException.class.getName());
          assertThat(e.errorMessage()).isEqualTo("boom: x");
        });
    WorkflowInfo info = cluster.node(1).describe(h.workflowId());
    assertThat(info.status()).isEqualTo(WorkflowStatus.FAILED);
    assertThat(info.errorType()).contains(IllegalStateException.class.getName());
    assertThat(info.errorMessage()).contains("boom: x");
    assertThat(info.checkpointCount()).isEqualTo(1);
    assertThat(info.endedAt()).isPresent();
  }

  @Test
  void resultWorksBeforeDuringAndAfterCompletionAndHonoursItsDeadline() throws Exception {
    WorkflowHandle<String> h = cluster.node(2).start("gated", 1, "g", String.class);
    WorkflowInfo running = cluster.node(3).describe(h.workflowId());
    assertThat(running.status()).isEqualTo(WorkflowStatus.RUNNING);
    assertThat(running.type()).isEqualTo(new WorkflowType("gated", 1));
    assertThat(running.endedAt()).isEmpty();
    assertThat(running.startedAt()).isBefore(Instant.now().plusSeconds(1));
    assertThat(running.executionGroup()).isEqualTo(h.executionGroup());

    var waiter = java.util.concurrent.CompletableFuture.supplyAsync(() -> cluster.node(1).handle(h.workflowId(), String.class).result(TIMEOUT));
    assertThatThrownBy(() -> h.result(Duration.ofMillis(200))).isInstanceOf(Errors.TimeoutException.class);
    release.countDown();
    assertThat(waiter.get(60, TimeUnit.SECONDS)).isEqualTo("released g");
    for (RaftoralNode n : cluster.nodes) {
      assertThat(n.handle(h.workflowId(), String.class).result(TIMEOUT)).isEqualTo("released g");
      assertThat(n.describe(h.workflowId()).status()).isEqualTo(WorkflowStatus.COMPLETED);
    }
  }

  @Test
  void emptyOrNullCheckpointKeysFailTheWorkflowWithATypedError() {
    for (String key : new String[] {"", null}) {
      WorkflowHandle<String> h = cluster.node(1).start("bad_key", 1, key, String.class);
      assertThatThrownBy(() -> h.result(TIMEOUT))
          .isInstanceOfSatisfying(Errors.WorkflowFailedException.class, e -> {
            assertThat(e.errorType()).isEqualTo(Errors.InvalidArgumentException.class.getName());
            assertThat(e.errorMessage()).contains("key must not be null or empty");
          });
    }
  }

  // SPEC §12, bad UTF-8: a Java string with an unpaired surrogate has no UTF-8 form; sent as is
  // it would become another name ('?'), so ids, types and keys with one are refused.
  @Test
  void namesThatAreNotValidUnicodeAreRefused() {
    assertThatThrownBy(() -> cluster.node(1).start("greet", 1, "x", String.class, "wf-\uD800"))
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining("not valid Unicode");
    assertThatThrownBy(() -> cluster.node(1).start("greet\uDC00", 1, "x", String.class))
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining("not valid Unicode");
    WorkflowHandle<String> h = cluster.node(1).start("bad_key", 1, "k\uD800", String.class);
    assertThatThrownBy(() -> h.result(TIMEOUT))
        .isInstanceOfSatisfying(Errors.WorkflowFailedException.class, e -> assertThat(e.errorMessage()).contains("not valid Unicode"));
    assertThat(cluster.node(1).start("greet", 1, "ok \uD83D\uDE00", String.class, "wf-\uD83D\uDE00").result(TIMEOUT))
        .isEqualTo("hello ok \uD83D\uDE00");
  }

  @Test
  void payloadsAboveTheLimitAreRefused() {
    int limit = 4 * 1024 * 1024;
    assertThatThrownBy(() -> cluster.node(1).start("greet", 1, "y".repeat(limit), String.class))
        .isInstanceOf(Errors.PayloadTooLargeException.class)
        .hasMessageContaining("above the limit of " + limit);
    WorkflowHandle<String> h = cluster.node(2).start("huge_value", 1, limit + 1, String.class);
    assertThatThrownBy(() -> h.result(TIMEOUT))
        .isInstanceOfSatisfying(Errors.WorkflowFailedException.class,
            e -> assertThat(e.errorType()).isEqualTo(Errors.PayloadTooLargeException.class.getName()));
    // Just below the limit is fine.
    assertThat(cluster.node(3).start("huge_value", 1, limit - 1024, String.class).result(TIMEOUT)).hasSize(limit - 1024);
  }

  @Test
  void unknownIdsAreNotFoundAndBadIdsAreInvalid() {
    assertThatThrownBy(() -> cluster.node(2).describe("no-such-workflow")).isInstanceOf(Errors.WorkflowNotFoundException.class);
    assertThatThrownBy(() -> cluster.node(3).handle("no-such-workflow", String.class).result(Duration.ofSeconds(5)))
        .isInstanceOf(Errors.WorkflowNotFoundException.class);
    assertThatThrownBy(() -> cluster.node(1).start("greet", 1, "x", String.class, " "))
        .isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> cluster.node(1).describe(null)).isInstanceOf(Errors.InvalidArgumentException.class);
  }

  @Test
  void registeringATypeTwiceIsRefusedAndTheFirstStays() {
    var registry = cluster.node(1).registry();
    assertThatThrownBy(() -> registry.register(WorkflowDefinition.of("greet", 1, String.class, String.class, (ctx, in) -> "other")))
        .isInstanceOf(Errors.AlreadyRegisteredException.class);
    assertThat(cluster.node(1).start("greet", 1, "bob", String.class).result(TIMEOUT)).isEqualTo("hello bob");
  }

  @Test
  void callsOnAClosedNodeFailWithNodeClosed() {
    RaftoralNode lone = RaftoralNode.builder().nodeId(1).raftAddress(TestCluster.freeAddresses(1).get(1L))
        .register(WorkflowDefinition.of("greet", 1, String.class, String.class, (ctx, in) -> "hi " + in)).start();
    assertThat(lone.start("greet", 1, "solo", String.class).result(TIMEOUT)).isEqualTo("hi solo");
    lone.close();
    assertThatThrownBy(() -> lone.start("greet", 1, "x", String.class)).isInstanceOf(Errors.NodeClosedException.class);
    assertThatThrownBy(() -> lone.describe("x")).isInstanceOf(Errors.NodeClosedException.class);
    lone.close(); // closing twice is harmless
  }
}
