package io.raftoral.raft;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.ratis.io.CorruptedFileException;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.raftlog.segmented.LogSegment;
import org.apache.ratis.server.raftlog.segmented.LogSegmentPath;
import org.apache.ratis.thirdparty.com.google.protobuf.CodedOutputStream;
import org.apache.ratis.util.SizeInBytes;

/**
 * Checks, before Ratis loads them, that the closed segments of every group's Raft log still hold
 * the entries their names promise. Ratis verifies each entry's checksum, but it takes a closed
 * segment cut short for one that holds fewer entries (a warning), and it drops a partly written
 * last entry as a torn write: right for the open segment, where a crash can leave one, but a
 * closed segment was complete, synced and renamed, so a cut in it is damage and the entries lost
 * may have been acknowledged. Ratis refuses a gap before a later segment, as an untyped error;
 * the last segment cut inside an entry it would use silently (found by the fault matrix,
 * {@code faults/}: TRUNCATE_LOG).
 *
 * <p>One cut is not damage: Ratis truncates a log (entries a new leader overrides) by deleting the
 * later segments, cutting the segment at an entry's end and then renaming it, so a crash before
 * the rename leaves a segment short of its name at an entry boundary, the last one, or followed
 * by the segment the node appended after its restart (Ratis keeps the short range in memory and
 * never renames the file). This check finishes that truncation: it renames the file to the
 * entries it holds (Ratis, reading an evicted entry by its in-memory range, would look for that
 * name). A closed segment with no entry at all is never Ratis's doing (it deletes such a
 * segment instead): refused.
 */
final class LogSegmentCheck {
  private static final Pattern CLOSED = Pattern.compile("log_(\\d+)-(\\d+)");
  private static final Pattern OPEN = Pattern.compile("log_inprogress_(\\d+)");
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LogSegmentCheck.class);

  private LogSegmentCheck() {}

  /** Checks every group's log under {@code storageDir}; a damaged one is a {@link CorruptedFileException}. */
  static void check(Path storageDir, SizeInBytes maxEntryBytes) throws IOException {
    if (!Files.isDirectory(storageDir)) {
      return;
    }
    try (DirectoryStream<Path> groups = Files.newDirectoryStream(storageDir, Files::isDirectory)) {
      for (Path group : groups) {
        Path current = group.resolve("current");
        if (Files.isDirectory(current)) {
          checkGroup(current, maxEntryBytes);
        }
      }
    }
  }

  private record Segment(Path file, long start, long end, boolean open) {}

  private static void checkGroup(Path current, SizeInBytes maxEntryBytes) throws IOException {
    List<Segment> segments = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(current, "log_*")) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        Matcher closed = CLOSED.matcher(name);
        Matcher open = OPEN.matcher(name);
        if (closed.matches()) {
          segments.add(new Segment(f, Long.parseLong(closed.group(1)), Long.parseLong(closed.group(2)), false));
        } else if (open.matches()) {
          segments.add(new Segment(f, Long.parseLong(open.group(1)), -1, true));
        }
      }
    }
    segments.sort(Comparator.comparingLong(Segment::start));
    for (int i = 0; i < segments.size(); i++) {
      Segment s = segments.get(i);
      if (s.open()) {
        continue; // its entries end where the writes ended; a torn last one is Ratis's to drop
      }
      long named = s.end() - s.start() + 1;
      AtomicLong bytes = new AtomicLong(LOG_HEADER_BYTES);
      int read = entries(s, maxEntryBytes, bytes);
      if (read == named) {
        continue;
      }
      if (read == 0) {
        throw new CorruptedFileException(s.file().toFile(), "holds none of its " + named + " entries");
      }
      if (hasBytesAfter(s.file(), bytes.get())) {
        throw new CorruptedFileException(s.file().toFile(), "holds " + read + " of its " + named + " entries and ends inside "
            + "the next one: a closed segment cut short");
      }
      long end = s.start() + read - 1;
      boolean last = i == segments.size() - 1;
      if (!last && segments.get(i + 1).start() != end + 1) {
        throw new CorruptedFileException(s.file().toFile(), "holds " + read + " of its " + named + " entries, and the next "
            + "segment starts at " + segments.get(i + 1).start() + ": entries " + (end + 1) + ".." + s.end() + " are lost");
      }
      Path renamed = s.file().resolveSibling("log_" + s.start() + "-" + end);
      LOG.warn("{} holds entries {}..{} only, ending at an entry's end: a truncation of the log that a crash interrupted; "
          + "finishing it as {}", s.file(), s.start(), end, renamed.getFileName());
      Files.move(s.file(), renamed, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
  }

  /** How many entries the closed segment {@code s} holds, adding their bytes to {@code bytes}. */
  private static int entries(Segment s, SizeInBytes maxEntryBytes, AtomicLong bytes) throws IOException {
    try {
      return LogSegment.readSegmentFile(s.file().toFile(), LogSegmentPath.matchLogSegment(s.file()).getStartEnd(),
          maxEntryBytes, RaftServerConfigKeys.Log.CorruptionPolicy.EXCEPTION, null, entry -> {
            int size = entry.getSerializedSize();
            bytes.addAndGet(CodedOutputStream.computeUInt32SizeNoTag(size) + size + CHECKSUM_BYTES);
          });
    } catch (CorruptedFileException | org.apache.ratis.protocol.exceptions.ChecksumException typed) {
      throw typed;
    } catch (IOException | IllegalStateException unreadable) { // an entry that does not parse, entries out of order
      CorruptedFileException e = new CorruptedFileException(s.file().toFile(), "cannot be read to its end: "
          + unreadable.getMessage());
      e.initCause(unreadable);
      throw e;
    }
  }

  /** The "RaftLog1" magic every segment starts with. */
  private static final int LOG_HEADER_BYTES = 8;
  private static final int CHECKSUM_BYTES = 4;

  /** Whether the file has any byte but zero padding after {@code end}. */
  private static boolean hasBytesAfter(Path file, long end) throws IOException {
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
      java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(64 * 1024);
      long position = end;
      while (ch.read(buffer.clear(), position) > 0) {
        buffer.flip();
        while (buffer.hasRemaining()) {
          if (buffer.get() != 0) {
            return true;
          }
        }
        position += buffer.limit();
      }
      return false;
    }
  }
}
