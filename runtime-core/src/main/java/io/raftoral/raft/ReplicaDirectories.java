package io.raftoral.raft;

import io.raftoral.storage.Directories;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica on disk is two directories named by its group's UUID: Ratis's storage (log, metadata,
 * snapshots) under the storage directory, and the state store under the state directory. Dropping
 * one moves each into {@code dropped/} beside them with one rename, Raft storage first, and
 * deletes it there: a crash leaves each directory whole or moved, never half deleted. The next
 * start finishes what a crash cut short ({@link #sweep}).
 */
final class ReplicaDirectories {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicaDirectories.class);

  private final Path storageDir;
  private final Path stateDir;
  private final Path droppedDir;

  ReplicaDirectories(RaftSettings settings) {
    this.storageDir = settings.storageDir();
    this.stateDir = settings.stateDir();
    this.droppedDir = settings.storageDir().resolveSibling("dropped");
  }

  /**
   * Before Ratis looks at its storage: deletes what was moved aside, and every state store whose
   * Raft storage is gone. Only a drop removes Raft storage (a new replica's is created before its
   * store), so such a store belongs to a dropped replica, perhaps half deleted by an older
   * version; opening it for a new replica of the same group would be refused as corrupt.
   */
  void sweep() throws IOException {
    Directories.deleteRecursively(droppedDir);
    if (!Files.isDirectory(stateDir)) {
      return;
    }
    List<Path> stores;
    try (Stream<Path> entries = Files.list(stateDir)) {
      stores = entries.filter(Files::isDirectory).toList();
    }
    for (Path store : stores) {
      String name = store.getFileName().toString();
      if (isGroupUuid(name) && !Files.exists(storageDir.resolve(name))) {
        LOG.info("deleting the state store {}: its replica was dropped (its Raft storage is gone)", store);
        discard(store);
      }
    }
  }

  /** Deletes a replica Ratis no longer runs (its state machine and store are closed). */
  void drop(GroupId group) throws IOException {
    String name = group.uuid().toString();
    discard(storageDir.resolve(name));
    discard(stateDir.resolve(name));
  }

  private void discard(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    Files.createDirectories(droppedDir);
    Path aside = droppedDir.resolve(dir.getParent().getFileName() + "-" + dir.getFileName() + "-" + System.nanoTime());
    Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
    Directories.deleteRecursively(aside);
  }

  private static boolean isGroupUuid(String name) {
    try {
      return UUID.fromString(name).toString().equals(name);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
