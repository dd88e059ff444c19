package io.raftoral.faults;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;

/**
 * What a bad disk or a careless operator does to a stopped node's data directory: bytes of a
 * Raft log segment or a state store table overwritten, or a closed log segment cut short. Each
 * is a change that a node must refuse at start (or repair from its peers), never use: every byte
 * of a log segment is under an entry checksum, a closed segment's name says which entries it
 * holds, and a table file is under block checksums and the snapshot's CRC32C.
 */
final class DataDamage {
  /** What was done, to which file; {@code refusable} when a node must notice it. */
  record Done(String what, boolean refusable) {}

  private DataDamage() {}

  /** Overwrites 8 bytes inside the written part of the Raft log segment with the most entries. */
  static Done corruptLogSegment(Path dataDir, Random random) throws IOException {
    Optional<Path> segment = files(dataDir.resolve("raft"), n -> n.startsWith("log_")).stream()
        .filter(p -> written(p) >= 1024).max(Comparator.comparingLong(DataDamage::written));
    if (segment.isEmpty()) {
      return new Done("no log segment of 1 KiB or more yet", false);
    }
    return overwrite(segment.get(), written(segment.get()), random);
  }

  /**
   * Cuts a closed log segment (its name gives its first and last index) to a random length
   * inside its entries. With no closed segment yet, the open one's bytes are overwritten instead:
   * a cut at the end of an open segment is what a crash mid-write leaves, and Ratis drops it.
   */
  static Done truncateClosedSegment(Path dataDir, Random random) throws IOException {
    // The newest: its entries are the latest a node acknowledged.
    Optional<Path> closed = files(dataDir.resolve("raft"), n -> n.matches("log_\\d+-\\d+")).stream()
        .filter(p -> p.toFile().length() >= 1024)
        .max(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().split("[_-]")[1])));
    if (closed.isEmpty()) {
      Done instead = corruptLogSegment(dataDir, random);
      return new Done("no closed segment; " + instead.what(), instead.refusable());
    }
    Path segment = closed.get();
    long length = segment.toFile().length();
    long cut = length / 4 + (long) (random.nextDouble() * (length / 2));
    try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
      ch.truncate(cut);
    }
    return new Done("cut " + relative(dataDir, segment) + " from " + length + " to " + cut + " bytes", true);
  }

  /**
   * Overwrites 8 bytes of the largest table file of a state store; before a store has flushed
   * one (it writes no WAL: its memtables are rebuilt from the log), of its MANIFEST.
   */
  static Done corruptStateTable(Path dataDir, Random random) throws IOException {
    Optional<Path> table = files(dataDir.resolve("state"), n -> n.endsWith(".sst")).stream()
        .max(Comparator.comparingLong(p -> p.toFile().length()))
        .or(() -> uncheckedFiles(dataDir.resolve("state"), n -> n.startsWith("MANIFEST-")).stream()
            .max(Comparator.comparingLong(p -> p.toFile().length())));
    if (table.isEmpty() || table.get().toFile().length() < 64) {
      return new Done("no table file or MANIFEST yet", false);
    }
    return overwrite(table.get(), table.get().toFile().length(), random);
  }

  private static List<Path> uncheckedFiles(Path root, java.util.function.Predicate<String> name) {
    try {
      return files(root, name);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Done overwrite(Path file, long end, Random random) throws IOException {
    // Away from both ends: the middle of what was written, where entries or blocks follow.
    long at = end / 4 + (long) (random.nextDouble() * (end / 2));
    byte[] junk = new byte[8];
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer was = ByteBuffer.allocate(junk.length);
      ch.read(was, at);
      for (int i = 0; i < junk.length; i++) {
        junk[i] = (byte) ~was.get(i); // every bit differs: never the same bytes again
      }
      ch.write(ByteBuffer.wrap(junk), at);
      ch.force(true);
    }
    return new Done("overwrote 8 bytes at " + at + " of " + file.getFileName() + " (" + end + " bytes written) in "
        + file.getParent(), true);
  }

  private static List<Path> files(Path root, java.util.function.Predicate<String> name) throws IOException {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> all = Files.walk(root)) {
      return all.filter(Files::isRegularFile).filter(p -> name.test(p.getFileName().toString())).toList();
    }
  }

  /** Bytes before the zero padding Ratis preallocates an open segment with. */
  static long written(Path segment) {
    try {
      byte[] bytes = Files.readAllBytes(segment);
      int end = bytes.length;
      while (end > 0 && bytes[end - 1] == 0) {
        end--;
      }
      return end;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String relative(Path dataDir, Path file) {
    return dataDir.relativize(file).toString();
  }
}
