package io.raftoral.conformance.driver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class JsonCompareTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static boolean eq(String a, String b) throws Exception {
    return JsonCompare.equal(JSON.readTree(a), JSON.readTree(b));
  }

  @Test
  void numbersCompareByValueAndEverythingElseExactly() throws Exception {
    assertThat(eq("{\"a\":[15,{\"b\":1.0}]}", "{\"a\":[15.0,{\"b\":1}]}")).isTrue();
    assertThat(eq("{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}")).isTrue();
    assertThat(eq("{\"a\":1}", "{\"a\":1,\"b\":null}")).isFalse();
    assertThat(eq("[1,2]", "[2,1]")).isFalse();
    assertThat(eq("\"1\"", "1")).isFalse();
    assertThat(eq("null", "{}")).isFalse();
  }
}
