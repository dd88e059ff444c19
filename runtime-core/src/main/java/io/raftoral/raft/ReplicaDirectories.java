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
 * A replica on disk is named by its group's UUID: Ratis's storage (log, metadata, snapshots) in
 * {@code raft/<uuid>}, and the state store in {@code state/<uuid>} (with {@code <uuid>.restoring}
 * while a snapshot is installed). Dropping one renames each directory aside within its own
 * parent ({@code <name>.dropped-<nanos>}: one rename, atomic even when the state stores are on
 * another disk), Raft storage first, then deletes it: a crash leaves each whole or renamed,
 * never half deleted. The next start finishes what a crash cut short ({@link #sweep}).
 */
final class ReplicaDirectories {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicaDirectories.class);
  private static final String DROPPED = ".dropped-";

  private final Path storageDir;
  private final Path stateDir;

  ReplicaDirectories(RaftSettings settings) {
    this.storageDir = settings.storageDir();
    this.stateDir = settings.stateDir();
  }

  /**
   * Before Ratis looks at its storage: deletes what was renamed aside, and every state store
   * (and staged restore) whose Raft storage is gone. Only a drop removes Raft storage (a new
   * replica's is created before its store), so such a store belongs to a dropped replica,
   * perhaps half deleted by an older version; opening it for a new replica of the same group
   * would be refused as corrupt.
   */
  void sweep() throws IOException {
    for (Path root : List.of(storageDir, stateDir)) {
      for (Path entry : entries(root)) {
        if (entry.getFileName().toString().contains(DROPPED)) {
          Directories.deleteRecursively(entry);
        }
      }
    }
    for (Path store : entries(stateDir)) {
      String group = groupOf(store.getFileName().toString());
      if (group != null && !Files.exists(storageDir.resolve(group))) {
        LOG.info("deleting {}: its replica was dropped (its Raft storage is gone)", store);
        discard(store);
      }
    }
  }

  /** Deletes a replica Ratis no longer runs (its state machine and store are closed). */
  void drop(GroupId group) throws IOException {
    String name = group.uuid().toString();
    discard(storageDir.resolve(name));
    for (Path store : entries(stateDir)) {
      if (name.equals(groupOf(store.getFileName().toString()))) {
        discard(store);
      }
    }
  }

  private static void discard(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    Path aside = dir.resolveSibling(dir.getFileName() + DROPPED + System.nanoTime());
    Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
    Directories.deleteRecursively(aside);
  }

  private static List<Path> entries(Path root) throws IOException {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> entries = Files.list(root)) {
      return entries.filter(Files::isDirectory).toList();
    }
  }

  /** The group UUID a state directory belongs to ({@code <uuid>} or {@code <uuid>.<stage>}), else null. */
  private static String groupOf(String name) {
    int dot = name.indexOf('.');
    String head = dot < 0 ? name : name.substring(0, dot);
    if (name.contains(DROPPED)) {
      return null;
    }
    try {
      return UUID.fromString(head).toString().equals(head) ? head : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
