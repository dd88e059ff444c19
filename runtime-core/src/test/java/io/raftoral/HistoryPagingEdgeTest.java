package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.RaftoralNode;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.storage.StateStore;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * History paging at its edges, on a real node over gRPC. A page's byte bound (about 1 MiB)
 * counts keys as well as values, so small values under long keys keep a page of the default
 * size well inside the API's 16 MiB message limit (past its first entry, a page stays within
 * the bound); and a page token belongs to one workflow and key: another workflow's token is
 * refused (InvalidArgument), not read at the wrong place.
 */
class HistoryPagingEdgeTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  // A long key (accepted by the checkpoint call: no length limit on keys) and one-byte-ish values.
  static final String LONG_KEY = "k".repeat(256 * 1024);
  private static RaftoralNode node;

  @BeforeAll
  static void start() {
    var addresses = TestCluster.freeAddresses(2);
    node = RaftoralNode.builder().nodeId(1).raftAddress(addresses.get(1L)).apiAddress(addresses.get(2L))
        .electionTimeout(Duration.ofMillis(500))
        .register(WorkflowDefinition.of("longKey", 1, Integer.class, Integer.class, (ctx, n) -> {
          int last = 0;
          for (int i = 0; i < n; i++) {
            last = ctx.checkpoint(LONG_KEY, i);
          }
          return last;
        }))
        .register(WorkflowDefinition.of("count", 1, Integer.class, Integer.class, (ctx, n) -> {
          int last = 0;
          for (int i = 0; i < n; i++) {
            last = ctx.checkpoint("k", i);
          }
          return last;
        }))
        .start();
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  @Test
  void aPageOfLongKeysStaysWithinTheApiMessageLimit() {
    // 80 values of 1-2 bytes under a 256 KiB key: a page of up to 100 entries carries 20 MiB of keys.
    String id = node.start("longKey", 1, 80, Integer.class).workflowId();
    assertThat(node.handle(id, Integer.class).result(TIMEOUT)).isEqualTo(79);

    try (RaftoralClient client = RaftoralClient.connect(node.apiAddress())) {
      assertThatCode(() -> {
        HistoryPage page = client.history(id, HistoryQuery.allKeys());
        assertThat(page.entries()).isNotEmpty();
        assertThat(page.nextPageToken()).as("80 entries of 256 KiB keys do not fit one page").isNotNull();
        List<HistoryEntry> entries = page.entries();
        long beforeLast = entries.subList(0, entries.size() - 1).stream()
            .mapToLong(e -> StateStore.pageBytes(e.key(), e.value())).sum();
        assertThat(beforeLast).as("bytes of the page's entries before its last").isLessThanOrEqualTo(1 << 20);
      }).as("first all-keys page of the default size over gRPC").doesNotThrowAnyException();
      assertThatCode(() -> client.history(id, new HistoryQuery(LONG_KEY, HistoryQuery.DEFAULT_LIMIT, null)))
          .as("first page of the key over gRPC").doesNotThrowAnyException();
    }
  }

  @Test
  void aPageTokenOfOneWorkflowIsRefusedForAnother() {
    String a = node.start("count", 1, 10, Integer.class).workflowId();
    String b = node.start("count", 1, 10, Integer.class).workflowId();
    assertThat(node.handle(a, Integer.class).result(TIMEOUT)).isEqualTo(9);
    assertThat(node.handle(b, Integer.class).result(TIMEOUT)).isEqualTo(9);
    HistoryQuery first = new HistoryQuery("k", 5, null);
    HistoryPage ofA = node.history(a, first);
    assertThat(ofA.nextPageToken()).isNotNull();

    // Proto: "From a previous reply's next_page_token (of the same workflow and key)". Read with
    // b it silently starts at b's k#5: b's first five entries are skipped with no error.
    assertThatThrownBy(() -> {
      HistoryPage wrong = node.history(b, first.after(ofA.nextPageToken()));
      System.out.println("b's page with a's token: " + wrong.entries().stream().map(HistoryEntry::seq).toList());
    }).isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining("page token");
  }
}
