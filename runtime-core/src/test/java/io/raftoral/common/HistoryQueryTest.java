package io.raftoral.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The history page token: what it carries back, and the tokens it refuses at the edge. */
class HistoryQueryTest {
  // A key may hold the token's separator and any Unicode: the key is length-prefixed.
  @Test
  void aTokenCarriesTheLastEntrysPositionForAnyKey() {
    for (String key : new String[] {"a", "a|b|", "|", "ключ ✓ 𝄞", "x".repeat(5_000)}) {
      for (long ordinal : new long[] {-1, 0, 1_000_000_000_000L}) {
        HistoryQuery.Cursor last = new HistoryQuery.Cursor(ordinal, key, 42);
        for (String scope : new String[] {null, key}) {
          assertThat(new HistoryQuery(scope, 10, HistoryQuery.Cursor.token("wf", scope, last)).cursor("wf")).isEqualTo(last);
        }
      }
    }
  }

  @Test
  void aTokenOfAnotherKeyOrOfEveryKeyIsRefused() {
    HistoryQuery.Cursor last = new HistoryQuery.Cursor(3, "a", 0);
    String ofKeyA = HistoryQuery.Cursor.token("wf", "a", last);
    String ofEveryKey = HistoryQuery.Cursor.token("wf", null, last);

    assertThatThrownBy(() -> new HistoryQuery("b", 10, ofKeyA)).isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("another key");
    assertThatThrownBy(() -> new HistoryQuery(null, 10, ofKeyA)).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> new HistoryQuery("a", 10, ofEveryKey)).isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("every key");
  }

  // Without the workflow in it, a token of workflow A read B's history from A's position.
  @Test
  void aTokenOfAnotherWorkflowIsRefused() {
    HistoryQuery.Cursor last = new HistoryQuery.Cursor(3, "a", 0);
    for (String scope : new String[] {null, "a"}) {
      HistoryQuery q = new HistoryQuery(scope, 10, HistoryQuery.Cursor.token("wf-a", scope, last));

      assertThat(q.cursor("wf-a")).isEqualTo(last);
      assertThatThrownBy(() -> q.cursor("wf-b")).isInstanceOf(Errors.InvalidArgumentException.class)
          .hasMessageContaining("another workflow");
    }
  }

  @Test
  void malformedTokensAndLimitsAreInvalidArguments() {
    String[] tokens = {"!!", "aDE", java.util.Base64.getUrlEncoder().encodeToString("h1|0|-1|1|a|*".getBytes()),
        java.util.Base64.getUrlEncoder().encodeToString("h1|-2|0|1|a|*".getBytes()),
        java.util.Base64.getUrlEncoder().encodeToString("h1|0|0|9|a|*".getBytes()),
        java.util.Base64.getUrlEncoder().encodeToString("v1|0|0|1|a|*".getBytes()),
        java.util.Base64.getUrlEncoder().encodeToString("h2|0|0|short|1|a|*".getBytes())};
    for (String token : tokens) {
      assertThatThrownBy(() -> new HistoryQuery(null, 10, token)).as(token).isInstanceOf(Errors.InvalidArgumentException.class)
          .hasMessageContaining("malformed page token");
    }
    assertThatThrownBy(() -> new HistoryQuery(null, 0, null)).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> new HistoryQuery(null, 1001, null)).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThatThrownBy(() -> new HistoryQuery("\uD800", 10, null)).isInstanceOf(Errors.InvalidArgumentException.class);
    assertThat(new HistoryQuery("", 10, "")).isEqualTo(new HistoryQuery(null, 10, null));
  }
}
