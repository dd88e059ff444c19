package io.raftoral.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.raftoral.api.RaftoralNode;
import io.raftoral.storage.Directories;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rule: a replica is dropped, and a start sweeps what a stopped drop left, also when the state
 * stores live on another disk than the Raft storage (an operator may link {@code <data>/state}
 * elsewhere; NodeRuntime watches that disk on its own). A rename across file systems cannot be
 * atomic (EXDEV), so each directory is renamed aside within its own parent. Here
 * {@code <data>/state} is a symlink to a directory on another file system (/dev/shm, tmpfs);
 * skipped where /dev/shm is on the same one.
 */
class ReplicaDirectoriesAcrossDisksTest {
  @TempDir
  Path tmp;
  private Path otherDisk;

  @BeforeEach
  void otherDisk() throws IOException {
    Path shm = Path.of("/dev/shm");
    assumeThat(Files.isDirectory(shm) && Files.isWritable(shm)).isTrue();
    otherDisk = Files.createTempDirectory(shm, "break-state-");
    FileStore here = Files.getFileStore(tmp);
    assumeThat(Files.getFileStore(otherDisk).equals(here)).as("/dev/shm is another file system").isFalse();
  }

  @AfterEach
  void cleanUp() throws IOException {
    if (otherDisk != null) {
      Directories.deleteRecursively(otherDisk);
    }
  }

  private Path dataDirWithStateOnOtherDisk(String name) throws IOException {
    Path data = Files.createDirectories(tmp.resolve(name));
    Files.createDirectories(data.resolve("raft"));
    Files.createSymbolicLink(data.resolve("state"), otherDisk);
    return data;
  }

  @Test
  void droppingAReplicaWhoseStateStoreIsOnAnotherDiskDeletesBoth() throws IOException {
    Path data = dataDirWithStateOnOtherDisk("node-1");
    GroupId group = GroupId.of(UUID.randomUUID());
    Path raftDir = Files.createDirectories(data.resolve("raft").resolve(group.uuid().toString()).resolve("current"));
    Files.writeString(raftDir.resolve("raft-meta"), "term=1");
    Path store = Files.createDirectories(data.resolve("state").resolve(group.uuid().toString()));
    Files.writeString(store.resolve("CURRENT"), "MANIFEST-000001\n");
    RaftSettings settings = new RaftSettings(1, Map.of(1L, "127.0.0.1:1"), data.resolve("raft"), data.resolve("state"),
        1000, Duration.ofMillis(500), Duration.ofMillis(1000));

    new ReplicaDirectories(settings).drop(group);

    assertThat(data.resolve("raft").resolve(group.uuid().toString())).doesNotExist();
    assertThat(store).doesNotExist();
  }

  @Test
  void aNodeWhoseStateIsOnAnotherDiskStartsAfterAStopMidDrop() throws Exception {
    Path data = dataDirWithStateOnOtherDisk("node-1");
    Map<Long, String> members = io.raftoral.api.LocalCluster.freeAddresses(1);
    try (RaftoralNode node = RaftoralNode.builder().nodeId(1).members(members).dataDirectory(data)
        .electionTimeout(Duration.ofMillis(500)).start()) {
      assertThat(node.inspector().nodeId()).isEqualTo(1);
    }
    // A stop between the two renames of a drop: the Raft storage is gone, the state store is
    // still in state/. Exactly what sweep() is there to clean.
    Path leftover = Files.createDirectories(data.resolve("state").resolve(UUID.randomUUID().toString()));
    Files.writeString(leftover.resolve("CURRENT"), "MANIFEST-000001\n");

    try (RaftoralNode node = RaftoralNode.builder().nodeId(1).members(members).dataDirectory(data)
        .electionTimeout(Duration.ofMillis(500)).start()) {
      assertThat(node.inspector().nodeId()).isEqualTo(1);
    }
    assertThat(leftover).doesNotExist();
  }
}
