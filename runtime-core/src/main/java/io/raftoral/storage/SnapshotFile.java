package io.raftoral.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * One file of a snapshot as a peer fetching it sees it: a plain name relative to the snapshot,
 * its size, and the CRC32C of its bytes.
 */
public record SnapshotFile(String name, long size, int crc32c) {
  public SnapshotFile {
    if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals(".") || name.equals("..")
        || name.chars().anyMatch(c -> c < 0x20)) {
      throw new IllegalArgumentException("not a plain file name: '" + name + "'");
    }
    if (size < 0) {
      throw new IllegalArgumentException("negative size " + size + " of " + name);
    }
  }

  /** Reads {@code file} whole: its name, size and CRC32C. */
  public static SnapshotFile of(Path file) throws IOException {
    CRC32C crc = new CRC32C();
    long size = 0;
    byte[] buffer = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        crc.update(buffer, 0, n);
        size += n;
      }
    }
    return new SnapshotFile(file.getFileName().toString(), size, (int) crc.getValue());
  }

  /**
   * The id of the snapshot at (term, index) made of these files: two replicas take their
   * snapshots independently, so equal positions do not mean equal bytes; equal ids do.
   */
  public static String snapshotId(long term, long index, List<SnapshotFile> files) {
    CRC32C crc = new CRC32C();
    for (SnapshotFile f : files) {
      crc.update((f.name() + ':' + f.size() + ':' + Integer.toHexString(f.crc32c()) + '\n').getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    return term + "_" + index + "-" + String.format("%08x", (int) crc.getValue());
  }
}
