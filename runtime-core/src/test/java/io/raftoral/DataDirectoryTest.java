package io.raftoral;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.common.RaftoralException;
import io.raftoral.workflow.WorkflowDefinition;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SPEC §7: a data directory is used only by the node and cluster it belongs to, by one process
 * at a time, and never when its log or its state store is corrupted; each refusal says why. A
 * good one restarts the same node with its workflows.
 */
class DataDirectoryTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir
  Path tmp;

  private static RaftoralNode.Builder node(Path dir, String raftAddress, String cluster) {
    return RaftoralNode.builder().nodeId(1).raftAddress(raftAddress).dataDirectory(dir).clusterId(cluster)
        .electionTimeout(Duration.ofMillis(500))
        .register(WorkflowDefinition.of("echo", 1, String.class, String.class, (ctx, in) -> ctx.checkpoint("v", in)));
  }

  @Test
  void aGoodDirectoryRestartsTheSameNodeAndOthersAreRefused() throws Exception {
    Path dir = tmp.resolve("node-1");
    String address = LocalCluster.freeAddresses(1).get(1L);
    try (RaftoralNode n = node(dir, address, "alpha").start()) {
      assertThat(n.start("echo", 1, "kept", String.class, "wf-1").result(WAIT)).isEqualTo("kept");
      // A second node on the same directory, while the first runs.
      assertThatThrownBy(() -> node(dir, LocalCluster.freeAddresses(1).get(1L), "alpha").start())
          .isInstanceOf(RaftoralException.class).hasMessageContaining("in use").hasMessageContaining(dir.toString());
    }
    try (RaftoralNode again = node(dir, address, "alpha").start()) {
      assertThat(again.nodeId()).isEqualTo(1);
      assertThat(again.handle("wf-1", String.class).result(WAIT)).isEqualTo("kept");
    }
    assertThatThrownBy(() -> node(dir, address, "beta").start())
        .isInstanceOf(RaftoralException.class).hasMessageContaining("belongs to cluster 'alpha'");
    assertThatThrownBy(() -> node(dir, address, "alpha").nodeId(2).start())
        .isInstanceOf(RaftoralException.class).hasMessageContaining("belongs to node 1");
  }

  @Test
  void aCorruptedLogIsRefusedNotUsed() throws Exception {
    Path dir = tmp.resolve("node-1");
    String address = LocalCluster.freeAddresses(1).get(1L);
    try (RaftoralNode n = node(dir, address, "alpha").start()) {
      for (int i = 0; i < 5; i++) {
        n.start("echo", 1, "v" + i, String.class, "wf-" + i).result(WAIT);
      }
    }
    Path segment;
    try (Stream<Path> files = Files.walk(dir.resolve("raft"))) {
      // The execution group's log: the one with the workflows' entries, the largest written part.
      segment = files.filter(p -> p.getFileName().toString().startsWith("log_"))
          .max((a, b) -> Long.compare(written(a), written(b))).orElseThrow();
    }
    try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {0x13, 0x37, 0x13, 0x37}), written(segment) / 2);
    }
    assertThatThrownBy(() -> node(dir, address, "alpha").start())
        .isInstanceOf(RaftoralException.class)
        .hasMessageContaining("corrupted or truncated Raft log")
        .hasMessageContaining(dir.toString());
  }

  /**
   * A closed log segment cut short, inside an entry: Ratis refused it with an untyped "gap" error
   * while a later segment followed, and used it silently when it was the last (found by the
   * fault matrix's TRUNCATE_LOG). Both are refused as a damaged log.
   */
  @Test
  void aClosedSegmentCutShortIsRefusedWhetherOrNotLaterSegmentsFollow() throws Exception {
    for (boolean laterSegmentsKept : new boolean[] {true, false}) {
      Path dir = tmp.resolve("node-cut-" + laterSegmentsKept);
      String address = LocalCluster.freeAddresses(1).get(1L);
      // 1000 entries a snapshot: 512 KiB segments, none purged; 60 KB values roll several.
      try (RaftoralNode n = node(dir, address, "alpha").snapshotThreshold(1000).start()) {
        String big = "x".repeat(60_000);
        for (int i = 0; i < 12; i++) {
          n.start("echo", 1, big + i, String.class, "wf-" + i).result(WAIT);
        }
      }
      List<Path> closed;
      try (Stream<Path> files = Files.walk(dir.resolve("raft"))) {
        closed = files.filter(p -> p.getFileName().toString().matches("log_\\d+-\\d+"))
            .sorted(java.util.Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().split("[_-]")[1]))).toList();
      }
      assertThat(closed).as("closed segments").isNotEmpty();
      Path newest = closed.getLast();
      if (!laterSegmentsKept) {
        try (Stream<Path> files = Files.list(newest.getParent())) {
          for (Path later : files.filter(p -> p.getFileName().toString().startsWith("log_inprogress_")).toList()) {
            Files.delete(later);
          }
        }
      }
      try (FileChannel ch = FileChannel.open(newest, StandardOpenOption.WRITE)) {
        ch.truncate(ch.size() / 2 + 7);
      }
      assertThatThrownBy(() -> node(dir, address, "alpha").snapshotThreshold(1000).start()).as("later segments kept: " + laterSegmentsKept)
          .isInstanceOf(RaftoralException.class)
          .hasMessageContaining("corrupted or truncated Raft log")
          .hasMessageContaining(newest.getFileName().toString())
          .hasMessageContaining(dir.toString());
    }
  }

  @Test
  void aCorruptedStateStoreIsRefusedNotUsed() throws Exception {
    Path dir = tmp.resolve("node-1");
    String address = LocalCluster.freeAddresses(1).get(1L);
    try (RaftoralNode n = node(dir, address, "alpha").start()) {
      for (int i = 0; i < 20; i++) {
        n.start("echo", 1, "value-" + i, String.class, "wf-" + i).result(WAIT);
      }
    }
    Path table;
    try (Stream<Path> files = Files.walk(dir.resolve("state"))) {
      // The execution group's store: its largest table file.
      table = files.filter(p -> p.getFileName().toString().endsWith(".sst"))
          .max((a, b) -> Long.compare(a.toFile().length(), b.toFile().length())).orElseThrow();
    }
    // The snapshot taken at close shares the table files (hard links); corrupt only the
    // store's copy (a bad sector in a shared file is caught by the snapshot's checksums first).
    Path copy = table.resolveSibling("copy");
    Files.copy(table, copy);
    Files.move(copy, table, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel ch = FileChannel.open(table, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {0x13, 0x37, 0x13, 0x37, 0x13, 0x37, 0x13, 0x37}), table.toFile().length() / 3);
    }
    assertThatThrownBy(() -> node(dir, address, "alpha").start())
        .isInstanceOf(RaftoralException.class)
        .hasMessageContaining("data directory " + dir)
        .hasMessageContaining("state store " + table.getParent() + " is corrupted or truncated")
        .hasMessageContaining("Delete that directory to rebuild this replica");

    // What the message says works: the replica is rebuilt from its snapshot and log.
    try (Stream<Path> paths = Files.walk(table.getParent())) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
    try (RaftoralNode again = node(dir, address, "alpha").start()) {
      for (int i = 0; i < 20; i++) {
        assertThat(again.handle("wf-" + i, String.class).result(WAIT)).isEqualTo("value-" + i);
      }
    }
  }

  /** Bytes before the zero padding Ratis preallocates an open segment with. */
  private static long written(Path segment) {
    try {
      byte[] bytes = Files.readAllBytes(segment);
      int end = bytes.length;
      while (end > 0 && bytes[end - 1] == 0) {
        end--;
      }
      return end;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
