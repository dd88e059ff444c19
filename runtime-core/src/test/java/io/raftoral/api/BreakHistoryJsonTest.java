package io.raftoral.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftoral.common.HistoryEntry;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * Review of issue 21's JSON history entry (the CLI's --output json, the C ABI, and through it
 * Python's and Go's history): "the value as value (the JSON itself when the bytes are JSON)".
 * The bytes are parsed into a tree and written again, and numbers go through a double: a
 * BigDecimal the default codec wrote exactly (an amount of money) comes back rounded, and a
 * number beyond a double's range as the string "Infinity".
 */
class BreakHistoryJsonTest {
  private static JsonNode valueOf(String stored) {
    HistoryEntry e = new HistoryEntry("amount", 0, stored.getBytes(StandardCharsets.UTF_8), Instant.ofEpochMilli(1), 1, 1);
    return WorkflowJson.historyEntry(e).get("value");
  }

  @Test
  void aDecimalValueKeepsItsDigits() {
    String stored = "12345678.123456789012345678"; // what the JSON codec writes for this BigDecimal
    JsonNode value = valueOf(stored);

    assertThat(value.isNumber()).isTrue();
    assertThat(value.decimalValue()).as("value written as %s", value).isEqualByComparingTo(new BigDecimal(stored));
  }

  @Test
  void aNumberBeyondADoubleStaysANumber() {
    JsonNode value = valueOf("1e400");

    assertThat(value.toString()).as("value as the JSON edge writes it").doesNotContainIgnoringCase("infinity");
    assertThat(value.decimalValue()).isEqualByComparingTo(new BigDecimal("1e400"));
  }
}
