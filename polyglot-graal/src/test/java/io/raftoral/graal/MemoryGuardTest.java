package io.raftoral.graal;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.LocalCluster;
import io.raftoral.common.Errors;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A script that fills the heap fails its workflow with MemoryLimitError, and the node goes on. The
 * limit is low here (a third of the test JVM's heap) and the turn limit high, so that only the
 * memory guard can stop the script.
 */
class MemoryGuardTest {
  static GraalWorkflows workflows;
  static LocalCluster cluster;

  @BeforeAll
  static void start() {
    Path dir = Path.of("src/test/resources/memory");
    workflows = GraalWorkflows.load(List.of(dir.resolve("hog.mjs"), dir.resolve("hog.py")),
        GraalOptions.builder().heapLimit(0.35).turnLimit(Duration.ofMinutes(5)).build());
    cluster = LocalCluster.start(1, null, (id, b) -> workflows.registerOn(b));
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
    if (workflows != null) {
      workflows.close();
    }
  }

  static Errors.WorkflowFailedException failure(String type) {
    var handle = cluster.node(1).start(type, 1, "null".getBytes(StandardCharsets.UTF_8), byte[].class);
    try {
      handle.result(Duration.ofMinutes(3));
    } catch (Errors.WorkflowFailedException e) {
      return e;
    }
    throw new AssertionError(type + " did not fail");
  }

  static String small() {
    return new String(cluster.node(1).start("small-js", 1, "41".getBytes(StandardCharsets.UTF_8), byte[].class)
        .result(Duration.ofSeconds(60)), StandardCharsets.UTF_8);
  }

  @Test
  void aJavaScriptRunFillingTheHeapFailsAndTheNodeGoesOn() {
    Errors.WorkflowFailedException e = failure("hog-js");
    assertThat(e.errorType()).isEqualTo("MemoryLimitError");
    assertThat(e.getMessage()).contains("memory guard's limit");
    assertThat(small()).isEqualTo("42");
  }

  @Test
  void aPythonRunFillingTheHeapFailsAndTheNodeGoesOn() {
    Errors.WorkflowFailedException e = failure("hog-py");
    assertThat(e.errorType()).isEqualTo("MemoryLimitError");
    assertThat(small()).isEqualTo("42");
  }
}
