package io.raftoral.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.TestCluster;
import io.raftoral.common.Errors;
import io.raftoral.common.WorkflowType;
import io.raftoral.raft.GroupId;
import io.raftoral.workflow.WorkflowDefinition;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Rule: admission refuses single commands, never a batch (docs/ARCHITECTURE.md, "Admission"),
 * across several execution groups at once: a start the leader cannot run fails alone, with
 * NotRegistered or InvalidArgument, never takes its id, and a retry gets the same answer; the
 * admitted starts of the same batches run exactly once, and a retry of one is idempotent.
 *
 * <p>{@code executionGroups(3)}, node 2 leads all three groups; node 1 registers {@code good},
 * {@code bad} and the bytes type {@code raw}, nodes 2 and 3 only {@code good} and {@code raw}.
 * Every start goes through node 1 (which passes its own check and forwards) with an explicit id.
 */
class AdmissionAcrossGroupsTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final int STARTS = 120;
  private static final WorkflowType GOOD = new WorkflowType("good", 1);
  private static final WorkflowType BAD = new WorkflowType("bad", 1);
  private static final WorkflowType RAW = new WorkflowType("raw", 1);
  private static final Map<String, AtomicInteger> computed = new ConcurrentHashMap<>();
  private static TestCluster cluster;

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = TestCluster.start(3, null, (node, b) -> {
      b.executionGroups(3).requestTimeout(Duration.ofSeconds(20))
          .register(WorkflowDefinition.of("good", 1, String.class, String.class,
              (ctx, in) -> ctx.checkpointCompute("echo", String.class, () -> {
                computed.computeIfAbsent(ctx.workflowId(), id -> new AtomicInteger()).incrementAndGet();
                return "good:" + in;
              })))
          .register(WorkflowDefinition.ofBytes("raw", 1, (ctx, in) -> ctx.checkpointBytes("echo", in)));
      if (node == 1) {
        b.register(WorkflowDefinition.of("bad", 1, String.class, String.class, (ctx, in) -> "bad:" + in));
      }
    });
    NodeInspector node2 = cluster.node(2).inspector();
    for (GroupId group : node2.executionGroupIds()) {
      String gid = group.uuid().toString();
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (!node2.ownsGroup(gid)) {
        node2.transferGroupLeadership(gid, 2, Duration.ofSeconds(5));
        assertThat(System.nanoTime()).as("node 2 owns group %s in time", gid).isLessThan(deadline);
        Thread.sleep(50);
      }
    }
  }

  @AfterAll
  static void stopCluster() {
    cluster.close();
  }

  private enum Kind { GOOD, NOT_REGISTERED, MALFORMED_JSON, RAW_BYTES }

  private static Kind kind(int i) {
    return switch (i % 10) {
      case 3 -> Kind.NOT_REGISTERED;
      case 5 -> Kind.MALFORMED_JSON;
      case 7 -> Kind.RAW_BYTES;
      default -> Kind.GOOD;
    };
  }

  /** Starts the i-th workflow through node 1 and waits for it: its result, or the refusal's type. */
  private static String startAndAwait(int i) {
    NodeRuntime node1 = cluster.node(1).inspector().runtime();
    String id = "adm-" + i;
    try {
      NodeRuntime.Started s = switch (kind(i)) {
        case GOOD -> node1.start(GOOD, ("\"in-" + i + "\"").getBytes(StandardCharsets.UTF_8), id);
        case NOT_REGISTERED -> node1.start(BAD, "\"x\"".getBytes(StandardCharsets.UTF_8), id);
        case MALFORMED_JSON -> node1.start(GOOD, "{{".getBytes(StandardCharsets.UTF_8), id);
        case RAW_BYTES -> node1.start(RAW, "{{".getBytes(StandardCharsets.UTF_8), id);
      };
      return new String(node1.await(s.workflowId(), TIMEOUT).result(), StandardCharsets.UTF_8);
    } catch (Errors.NotRegisteredException e) {
      return "NotRegistered " + e.workflowType();
    } catch (Errors.InvalidArgumentException e) {
      return "InvalidArgument";
    }
  }

  private static String expected(int i) {
    return switch (kind(i)) {
      case GOOD -> "\"good:in-" + i + "\"";
      case NOT_REGISTERED -> "NotRegistered bad@v1";
      case MALFORMED_JSON -> "InvalidArgument";
      case RAW_BYTES -> "{{";
    };
  }

  private static List<String> allAtOnce() throws Exception {
    List<CompletableFuture<String>> outcomes = new ArrayList<>();
    try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < STARTS; i++) {
        int n = i;
        outcomes.add(CompletableFuture.supplyAsync(() -> startAndAwait(n), threads));
      }
      List<String> out = new ArrayList<>();
      for (CompletableFuture<String> f : outcomes) {
        out.add(f.get());
      }
      return out;
    }
  }

  @Test
  void refusedStartsFailAloneInEveryGroupAndRetriesGetTheSameAnswers() throws Exception {
    List<String> first = allAtOnce();
    for (int i = 0; i < STARTS; i++) {
      assertThat(first.get(i)).as("start %d", i).isEqualTo(expected(i));
    }
    // A refused start never takes its id, on any node.
    for (int i = 0; i < STARTS; i++) {
      if (kind(i) == Kind.NOT_REGISTERED || kind(i) == Kind.MALFORMED_JSON) {
        String id = "adm-" + i;
        assertThatThrownBy(() -> cluster.node(3).describe(id)).isInstanceOf(Errors.WorkflowNotFoundException.class);
      }
    }

    // Every start again, with the same ids and inputs: the admitted ones are idempotent (the
    // same result, the side effect not run again), the refused ones refused again.
    List<String> again = allAtOnce();
    assertThat(again).isEqualTo(first);
    for (int i = 0; i < STARTS; i++) {
      if (kind(i) == Kind.GOOD) {
        assertThat(computed.get("adm-" + i)).as("side effect runs of adm-%d", i).hasValue(1);
      }
    }

    // The ids of refused starts are free for a start that is admitted.
    for (int i = 0; i < STARTS; i++) {
      if (kind(i) == Kind.NOT_REGISTERED || kind(i) == Kind.MALFORMED_JSON) {
        NodeRuntime.Started s = cluster.node(1).inspector().runtime().start(GOOD, "\"late\"".getBytes(StandardCharsets.UTF_8), "adm-" + i);
        assertThat(new String(cluster.node(3).inspector().runtime().await(s.workflowId(), TIMEOUT).result(), StandardCharsets.UTF_8))
            .isEqualTo("\"good:late\"");
      }
    }
  }

}
