package io.raftoral.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.common.Errors;
import io.raftoral.graal.GraalWorkflows;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** examples/js/order.mjs, loaded as `raftoral node --workflows` does, runs an order on a one-node cluster. */
class JsOrderTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  // Maven runs the tests in the module's directory.
  private static final Path ORDER_MJS = Path.of("js/order.mjs");

  @Test
  void anOrderShipsWithTheResultOfTheOtherLanguagesAndAnEmptyOneFails() throws Exception {
    try (GraalWorkflows js = GraalWorkflows.load(ORDER_MJS);
        LocalCluster cluster = LocalCluster.start(1, null, (id, b) -> js.registerOn(b))) {
      RaftoralNode node = cluster.node(1);
      var handle = node.start("order-js", 1, utf8("{\"orderId\":\"A-1001\",\"customer\":\"alice\",\"items\":["
          + "{\"sku\":\"book\",\"quantity\":2,\"unitPriceCents\":1500},{\"sku\":\"pen\",\"quantity\":3,\"unitPriceCents\":250}]}"),
          byte[].class);
      JsonNode r = new ObjectMapper().readTree(handle.result(TIMEOUT));
      // The fields, in this order, of the Java order's Receipt and the workers' results.
      assertThat(r.fieldNames()).toIterable()
          .containsExactly("orderId", "totalCents", "paymentId", "trackingNumber", "stage");
      assertThat(r.get("orderId").asText()).isEqualTo("A-1001");
      assertThat(r.get("totalCents").isIntegralNumber()).isTrue();
      assertThat(r.get("totalCents").asLong()).isEqualTo(3750);
      assertThat(r.get("paymentId").asText()).isEqualTo("pay-alice-3750");
      // CRC-32 of "A-1001", as Python's zlib.crc32 and the Go and TypeScript workers compute it.
      assertThat(r.get("trackingNumber").asText()).isEqualTo("TRK2935217986");
      assertThat(r.get("stage").asText()).isEqualTo("shipped");
      // The stage var (4 writes) and the 4 compute steps, as the Java order.
      assertThat(node.describe(handle.workflowId()).checkpointCount()).isEqualTo(8);

      // A non-ASCII id: the CRC is of its UTF-8 bytes (zlib.crc32("é€😀x".encode()) = 3018705043).
      var unicode = node.start("order-js", 1, utf8("{\"orderId\":\"é€😀x\",\"customer\":\"bob\",\"items\":["
          + "{\"sku\":\"mug\",\"quantity\":1,\"unitPriceCents\":900}]}"), byte[].class);
      assertThat(new ObjectMapper().readTree(unicode.result(TIMEOUT)).get("trackingNumber").asText())
          .isEqualTo("TRK3018705043");

      var empty = node.start("order-js", 1, utf8("{\"orderId\":\"A-1002\",\"customer\":\"bob\",\"items\":[]}"), byte[].class);
      assertThatThrownBy(() -> empty.result(TIMEOUT)).isInstanceOfSatisfying(Errors.WorkflowFailedException.class, e -> {
        assertThat(e.errorType()).isEqualTo("InvalidOrderError");
        assertThat(e.errorMessage()).isEqualTo("order A-1002 has no items");
      });
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
