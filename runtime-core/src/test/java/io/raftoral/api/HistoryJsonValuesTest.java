package io.raftoral.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftoral.common.HistoryEntry;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * The JSON history entry (the CLI's --output json, the C ABI, and through it Python's and Go's
 * history) shows a JSON value as JSON with its numbers' exact values: never through a double,
 * which would round a BigDecimal the default codec wrote exactly (an amount of money) and turn
 * a number beyond a double's range into "Infinity".
 */
class HistoryJsonValuesTest {
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
  void aDecimalKeepsItsScale() {
    assertThat(valueOf("[1.50, 100.0]").toString()).isEqualTo("[1.50,100.0]");
  }

  @Test
  void aNumberBeyondADoubleStaysANumber() {
    JsonNode value = valueOf("1e400");

    assertThat(value.toString()).as("value as the JSON edge writes it").doesNotContainIgnoringCase("infinity");
    assertThat(value.decimalValue()).isEqualByComparingTo(new BigDecimal("1e400"));
  }
}
