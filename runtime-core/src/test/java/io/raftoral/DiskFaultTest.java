package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowHandle;
import io.raftoral.common.Errors;
import io.raftoral.workflow.WorkflowDefinition;
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
    started.reversed().forEach(n -> {
      try {
        n.close();
      } catch (RuntimeException ignored) {
        // closed by the test already
      }
    });
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

  /** Node 3's data directory on a tmpfs of its own (skips the test where it cannot mount one). */
  private Path mountNode3() throws Exception {
    Path node3 = Files.createDirectories(tmp.resolve("node-3"));
    Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + TMPFS_MIB + "m", "tmpfs", node3.toString())
        .redirectErrorStream(true).start();
    String why = new String(mount.getInputStream().readAllBytes()).strip();
    Assumptions.assumeTrue(mount.waitFor() == 0, "cannot mount a tmpfs here (needs root): " + why);
    mounted = node3;
    return node3;
  }

  @Test
  void aNodeWhoseDiskFillsUpStopsServingAndLeadingAndResumesWhenSpaceReturns() throws Exception {
    Path node3 = mountNode3();
    cluster = TestCluster.start(3, tmp, (id, b) -> b.register(steps()));
    RaftoralNode full = cluster.node(3);
    RaftoralNode healthy = cluster.node(1);
    // Retries a transfer refused while an earlier one is still under way (failed in CI once).
    cluster.makeOwner(3);
    assertThat(healthy.start("steps", 1, 5, Integer.class).result(WAIT)).isEqualTo(10);

    // Leave less free space than the node keeps in reserve.
    Path filler = node3.resolve("filler");
    fill(filler, Files.getFileStore(node3).getUsableSpace() - (16L << 20));

    await("node 3 reports the full disk", () -> full.inspector().notServing() != null);
    assertThat(full.inspector().notServing()).contains("nearly full");
    await("node 3 no longer leads its group", () -> !full.inspector().ownsGroupOf("any"));
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

    await("node 3 serves again", () -> full.inspector().notServing() == null);
    assertThat(full.start("steps", 1, 6, Integer.class).result(WAIT)).isEqualTo(15);
    String group = full.inspector().executionGroupOf(meanwhile.getFirst().workflowId());
    await("node 3's replica caught up", () ->
        full.inspector().replicaState(group).equals(healthy.inspector().replicaState(group)));
  }

  // A follower whose disk is full while its group commits fails its writes: Ratis never writes
  // that log again, and may leave its term-and-vote file empty. Once space returns the node
  // restarts on its data directory; when that cannot be opened again (the vote is lost, so it
  // must not be that voter any more) it rejoins as a new node and ends up a caught-up member.
  // Nodes joined through api addresses, as `raftoral node` runs them, so that a rejoin has seeds.
  @Test
  void aFollowerWhoseWritesFailedOnAFullDiskComesBackAsACaughtUpMember() throws Exception {
    Path node3 = mountNode3();
    RaftoralNode healthy = joined(tmp.resolve("node-1"), null);
    RaftoralNode second = joined(tmp.resolve("node-2"), healthy.apiAddress());
    RaftoralNode full = joined(node3, healthy.apiAddress());
    await("three members in one group", () -> healthy.inspector().clusterInfo().getExecutionGroupsList().stream()
        .anyMatch(g -> g.getMembersCount() == 3 && g.getRaftMembersCount() == 3));
    while (!healthy.inspector().ownsGroupOf("any")) {
      try {
        healthy.inspector().transferLeadership("any", healthy.nodeId(), Duration.ofSeconds(5));
      } catch (java.io.IOException e) {
        Thread.sleep(50); // an earlier transfer is still under way: ask again
      }
    }
    var before = full.inspector();

    Path filler = node3.resolve("filler");
    fillUntilFull(filler);
    List<WorkflowHandle<Integer>> meanwhile = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      meanwhile.add(healthy.start("steps", 1, 4, Integer.class));
    }
    for (WorkflowHandle<Integer> h : meanwhile) {
      assertThat(h.result(WAIT)).isEqualTo(6);
    }
    await("node 3 reports the full disk", () -> before.notServing() != null);
    // What a failed write of Ratis's term-and-vote file leaves (it renames an empty temporary
    // file over it): the node can no longer be that voter.
    for (Path meta : raftMetaFiles(node3.resolve("raft"))) {
      Files.write(meta, new byte[0]);
    }

    Files.delete(filler);

    await("node 3 serves again, as a new node", () -> full.inspector() != before && full.inspector().notServing() == null
        && full.inspector().removedMessage() == null && full.nodeId() != before.nodeId());
    await("node 3 is a caught-up member of the group", () -> {
      try {
        String group = healthy.inspector().executionGroupOf(meanwhile.getFirst().workflowId());
        return healthy.inspector().clusterInfo().getExecutionGroupsList().stream()
            .anyMatch(g -> g.getGroupId().equals(group) && g.getRaftMembersList().contains(full.nodeId()))
            && full.inspector().replicaState(group).equals(healthy.inspector().replicaState(group));
      } catch (RuntimeException e) {
        return false; // its replica is being opened or added
      }
    });
    assertThat(full.start("steps", 1, 6, Integer.class).result(WAIT)).isEqualTo(15);
    second.close();
  }

  private final List<RaftoralNode> started = new ArrayList<>();

  /** A node with its own addresses and data directory: bootstraps a cluster (seed null) or joins through {@code seed}. */
  private RaftoralNode joined(Path dataDirectory, String seed) {
    var a = io.raftoral.api.LocalCluster.freeAddresses(2);
    RaftoralNode.Builder b = RaftoralNode.builder().raftAddress(a.get(1L)).apiAddress(a.get(2L)).dataDirectory(dataDirectory)
        .electionTimeout(Duration.ofMillis(500)).register(steps());
    RaftoralNode n = seed == null ? b.nodeId(1).start() : b.join(List.of(seed)).start();
    n.inspector().holdLeadersInPlace(true); // the test moves leaders itself
    started.add(n);
    return n;
  }

  /** Writes {@code file} until the disk refuses more (ENOSPC). */
  private static void fillUntilFull(Path file) {
    byte[] block = new byte[1 << 20];
    try (OutputStream out = Files.newOutputStream(file)) {
      while (true) {
        out.write(block);
      }
    } catch (IOException full) {
      // no space left: as wanted
    }
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

  /** The term-and-vote files under a live node's Raft directory, walked again when a file vanishes mid-walk (the disk probe). */
  private static java.util.List<Path> raftMetaFiles(Path raftDir) throws java.io.IOException {
    for (int attempt = 0; ; attempt++) {
      try (var files = Files.walk(raftDir)) {
        return files.filter(p -> p.getFileName().toString().equals("raft-meta")).toList();
      } catch (java.io.UncheckedIOException vanished) {
        if (attempt == 10) {
          throw vanished;
        }
      }
    }
  }
}
