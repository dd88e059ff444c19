package io.raftoral.runtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Whether this node can still write where it keeps its Raft logs and state stores. Ratis stops
 * writing a group's log for good after one failed write (every later append fails, and the
 * replica silently applies nothing), and RocksDB refuses writes on a full disk: so the node
 * looks before that happens, and afterwards finds out when the disk is usable again.
 *
 * <p>{@link #check()} is one look: the free space must be at least {@code minFreeBytes}, and a
 * small file must be written, synced and deleted without an error (ENOSPC, EIO, a read-only
 * remount). It does no I/O beyond that file.
 */
final class DiskWatch {
  static final String PROBE_FILE = ".raftoral-disk-probe";
  private static final int PROBE_BYTES = 4096;

  private final Path directory;
  private final long minFreeBytes;

  /**
   * @param directory the directory holding the node's Raft storage and state stores
   * @param minFreeBytes below this much usable space the disk counts as full (0: only the write probe)
   */
  DiskWatch(Path directory, long minFreeBytes) {
    this.directory = directory;
    this.minFreeBytes = minFreeBytes;
  }

  /** Null when the disk is usable; otherwise what is wrong, for the log and for callers. */
  String check() {
    try {
      long free = Files.getFileStore(directory).getUsableSpace();
      if (free < minFreeBytes) {
        return "the disk of " + directory + " is nearly full: " + mib(free) + " free, below the minimum of " + mib(minFreeBytes);
      }
      Path probe = directory.resolve(PROBE_FILE);
      try (FileChannel ch = FileChannel.open(probe, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer block = ByteBuffer.allocate(PROBE_BYTES);
        while (block.hasRemaining()) {
          ch.write(block);
        }
        ch.force(true);
      } finally {
        Files.deleteIfExists(probe);
      }
      return null;
    } catch (IOException | RuntimeException e) {
      return "cannot write to " + directory + ": " + e;
    }
  }

  private static String mib(long bytes) {
    return String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
  }
}
