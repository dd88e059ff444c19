package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.Errors;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowDefinition;
import io.raftoral.api.WorkflowHandle;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node whose disk fills up says so, stops serving and leading, and comes back once space
 * returns (SPEC §7: never apply silently nothing). Node 3 keeps its data directory on a small
 * tmpfs of its own (mounting needs root: the test is skipped, saying why, where it cannot mount).
 */
class DiskFaultTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final long TMPFS_MIB = 160;

  @TempDir
  Path tmp;

  private Path mounted;
  private TestCluster cluster;

  @AfterEach
  void cleanUp() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    if (mounted != null) {
      new ProcessBuilder("umount", "-l", mounted.toString()).inheritIO().start().waitFor();
    }
  }

  private static WorkflowDefinition<Integer, Integer> steps() {
    return WorkflowDefinition.of("steps", 1, Integer.class, Integer.class, (ctx, n) -> {
      int sum = 0;
      for (int i = 0; i < n; i++) {
        int step = i;
        sum += ctx.checkpointCompute("step", Integer.class, () -> step);
      }
      return sum;
    });
  }

  @Test
  void aNodeWhoseDiskFillsUpStopsServingAndLeadingAndResumesWhenSpaceReturns() throws Exception {
    Path node3 = Files.createDirectories(tmp.resolve("node-3"));
    Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + TMPFS_MIB + "m", "tmpfs", node3.toString())
        .redirectErrorStream(true).start();
    String why = new String(mount.getInputStream().readAllBytes()).strip();
    Assumptions.assumeTrue(mount.waitFor() == 0, "cannot mount a tmpfs here (needs root): " + why);
    mounted = node3;

    cluster = TestCluster.start(3, tmp, (id, b) -> b.register(steps()));
    RaftoralNode full = cluster.node(3);
    RaftoralNode healthy = cluster.node(1);
    while (!full.runtime().ownsGroupOf("any")) {
      full.runtime().transferLeadership("any", 3, Duration.ofSeconds(5));
    }
    assertThat(healthy.start("steps", 1, 5, Integer.class).result(WAIT)).isEqualTo(10);

    // Leave less free space than the node keeps in reserve.
    Path filler = node3.resolve("filler");
    fill(filler, Files.getFileStore(node3).getUsableSpace() - (16L << 20));

    await("node 3 reports the full disk", () -> full.runtime().notServing() != null);
    assertThat(full.runtime().notServing()).contains("nearly full");
    await("node 3 no longer leads its group", () -> !full.runtime().ownsGroupOf("any"));
    assertThatThrownBy(() -> full.start("steps", 1, 3, Integer.class))
        .isInstanceOf(Errors.UnavailableException.class)
        .hasMessageContaining("does not serve now");
    List<WorkflowHandle<Integer>> meanwhile = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      meanwhile.add(healthy.start("steps", 1, 4, Integer.class));
    }
    for (WorkflowHandle<Integer> h : meanwhile) {
      assertThat(h.result(WAIT)).isEqualTo(6);
    }

    Files.delete(filler);

    await("node 3 serves again", () -> full.runtime().notServing() == null);
    assertThat(full.start("steps", 1, 6, Integer.class).result(WAIT)).isEqualTo(15);
    String group = full.runtime().executionGroupOf(meanwhile.getFirst().workflowId());
    await("node 3's replica caught up", () ->
        full.runtime().replicaState(group).equals(healthy.runtime().replicaState(group)));
  }

  private static void fill(Path file, long bytes) throws IOException {
    byte[] block = new byte[1 << 20];
    try (OutputStream out = Files.newOutputStream(file)) {
      for (long written = 0; written < bytes; written += block.length) {
        out.write(block, 0, (int) Math.min(block.length, bytes - written));
      }
    }
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as(what).isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
