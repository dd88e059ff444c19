package io.raftoral.raft;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.storage.StateStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rule: a replica on disk is more than {@code raft/<uuid>} and
 * {@code state/<uuid>}. StateStore.restore (a snapshot installed from the leader) stages the
 * new store in {@code state/<uuid>.restoring} beside the live one and renames it over it; a
 * node stopped during that copy leaves the staging directory. Dropping the replica, or the
 * start's sweep after its Raft storage went, must leave nothing of the group on disk (the rule
 * DroppedReplicaTest asserts: no file named after the group anywhere under the node's directory).
 */
class ReplicaDirectoriesLeftoversTest {
  @TempDir
  Path data;

  private RaftSettings settings() throws IOException {
    Files.createDirectories(data.resolve("raft"));
    Files.createDirectories(data.resolve("state"));
    return new RaftSettings(1, Map.of(1L, "127.0.0.1:1"), data.resolve("raft"), data.resolve("state"), 1000,
        Duration.ofMillis(500), Duration.ofMillis(1000));
  }

  /** A real store, checkpointed, and a restore of it stopped before its rename: what a kill mid-install leaves. */
  private static void interruptedRestore(Path stateDir, GroupId group) throws IOException {
    Path live = stateDir.resolve(group.uuid().toString());
    Path checkpoint = stateDir.resolveSibling("checkpoint-" + group.uuid());
    try (StateStore store = StateStore.open(live)) {
      store.checkpointTo(checkpoint);
    }
    Path staging = Files.createDirectories(live.resolveSibling(live.getFileName() + ".restoring"));
    try (Stream<Path> files = Files.list(checkpoint)) {
      for (Path f : files.toList()) {
        Files.copy(f, staging.resolve(f.getFileName()));
      }
    }
    io.raftoral.storage.Directories.deleteRecursively(checkpoint);
  }

  @Test
  void droppingAReplicaLeavesNoStagedRestoreBehind() throws IOException {
    RaftSettings settings = settings();
    GroupId group = GroupId.of(UUID.randomUUID());
    Files.createDirectories(data.resolve("raft").resolve(group.uuid().toString()).resolve("current"));
    interruptedRestore(data.resolve("state"), group);

    new ReplicaDirectories(settings).drop(group);

    assertThat(filesOf(group)).as("files of the dropped group left under %s", data).isEmpty();
  }

  @Test
  void theStartSweepLeavesNoStagedRestoreOfAReplicaWhoseRaftStorageIsGone() throws IOException {
    RaftSettings settings = settings();
    GroupId group = GroupId.of(UUID.randomUUID());
    interruptedRestore(data.resolve("state"), group); // and no raft/<uuid>: a drop stopped after its first rename

    new ReplicaDirectories(settings).sweep();

    assertThat(filesOf(group)).as("files of the dropped group left under %s", data).isEmpty();
  }

  private List<Path> filesOf(GroupId group) throws IOException {
    try (Stream<Path> paths = Files.walk(data)) {
      return paths.filter(p -> p.getFileName().toString().contains(group.uuid().toString())).toList();
    }
  }
}
