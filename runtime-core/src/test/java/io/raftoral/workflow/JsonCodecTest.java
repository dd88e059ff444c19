package io.raftoral.workflow;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The default codec: deterministic JSON, java.time values as ISO-8601 text. */
class JsonCodecTest {
  record Due(String to, Instant at, Duration every) {}

  private final JsonCodec codec = new JsonCodec();

  @Test
  void javaTimeValuesTravelAsIsoTextAndComeBackEqual() {
    Due due = new Due("ann", Instant.parse("2026-12-07T21:00:00.123Z"), Duration.ofSeconds(90));
    byte[] bytes = codec.encode(due);
    assertThat(new String(bytes, StandardCharsets.UTF_8)).isEqualTo("{\"to\":\"ann\",\"at\":\"2026-12-07T21:00:00.123Z\",\"every\":\"PT1M30S\"}");
    assertThat(codec.decode(bytes, Due.class)).isEqualTo(due);
  }

  @Test
  void mapKeysAreSortedSoThatEqualValuesEncodeEqually() {
    assertThat(new String(codec.encode(Map.of("b", 1, "a", 2)), StandardCharsets.UTF_8)).isEqualTo("{\"a\":2,\"b\":1}");
  }
}
