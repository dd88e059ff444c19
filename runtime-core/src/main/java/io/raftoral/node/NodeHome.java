package io.raftoral.node;

import io.raftoral.common.RaftoralException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a node keeps its files: {@code raft/} (Ratis's storage, one directory per group) and
 * {@code state/} (one state store per group), under its data directory, or under a temporary
 * directory deleted when the node stops (Ratis's in-memory log never commits in a one-member
 * group, so a node without a data directory still writes its log, to one code path).
 *
 * @param dataDir null for a node without a data directory
 * @param path the data directory, or the temporary one
 */
record NodeHome(Path dataDir, Path path) {
  private static final Logger LOG = LoggerFactory.getLogger(NodeHome.class);

  /** The home of a node with {@code dataDir}, or a new temporary directory when it is null. */
  static NodeHome of(Path dataDir) {
    if (dataDir != null) {
      return new NodeHome(dataDir, dataDir);
    }
    try {
      return new NodeHome(null, Files.createTempDirectory("raftoral-node-"));
    } catch (IOException e) {
      throw new RaftoralException("cannot create a temporary directory: " + e.getMessage(), e);
    }
  }

  boolean temporary() {
    return dataDir == null;
  }

  Path raft() {
    return path.resolve("raft");
  }

  Path state() {
    return path.resolve("state");
  }

  /** Creates {@code raft/} and {@code state/}. */
  void prepare() {
    try {
      Files.createDirectories(raft());
      Files.createDirectories(state());
    } catch (IOException e) {
      throw new RaftoralException("cannot prepare the data directory " + path + ": " + e.getMessage(), e);
    }
  }

  /** Whether a node ran here: Ratis keeps one directory per group under its storage directory. */
  boolean hasRaftStorage() {
    try (Stream<Path> entries = Files.list(raft())) {
      return entries.anyMatch(Files::isDirectory);
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Moves {@code raft/} and {@code state/} out of the way so a new node starts empty; returns
   * where they went (null without a data directory: they are deleted). The identity goes with
   * them. BEFORE the new identity is written: a crash in between leaves an identity without Raft
   * storage, which the next start treats as a node that never ran.
   */
  Path moveReplicasAside(long oldId) throws IOException {
    if (dataDir == null) {
      deleteRecursively(raft());
      deleteRecursively(state());
      prepareOrThrow();
      return null;
    }
    Path aside = dataDir.resolve("removed-" + oldId + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    Files.createDirectories(aside);
    for (Path p : List.of(raft(), state())) {
      if (Files.exists(p)) {
        Files.move(p, aside.resolve(p.getFileName()), StandardCopyOption.ATOMIC_MOVE);
      }
    }
    Path identity = dataDir.resolve(NodeIdentity.FILE);
    if (Files.exists(identity)) {
      Files.copy(identity, aside.resolve(NodeIdentity.FILE), StandardCopyOption.REPLACE_EXISTING);
    }
    prepareOrThrow();
    return aside;
  }

  private void prepareOrThrow() throws IOException {
    Files.createDirectories(raft());
    Files.createDirectories(state());
  }

  /** Deletes the temporary directory (a data directory stays). */
  void deleteIfTemporary() {
    if (temporary()) {
      deleteRecursively(path);
    }
  }

  static void deleteRecursively(Path dir) {
    try {
      io.raftoral.storage.Directories.deleteRecursively(dir);
    } catch (IOException e) {
      LOG.debug("cannot delete {}", dir, e);
    }
  }
}
