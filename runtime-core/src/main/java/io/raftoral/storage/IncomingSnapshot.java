package io.raftoral.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * A snapshot being fetched from peers into a staging directory beside the replica's snapshots
 * ({@code sm/incoming.<snapshot id>/}), with a journal of how far each file is written and
 * synced ({@code sm/incoming.<snapshot id>.journal}). A transfer that stops (a network error,
 * the source's death, this node's restart) opens the same snapshot again and goes on from the
 * journaled offsets; bytes past them are fetched again. A staged file counts only when its whole
 * content matches the manifest's size and CRC32C ({@link #check}).
 *
 * <p>Journal (UTF-8): one line per record, each ending with the CRC32C of the rest of the line, so a
 * torn last line (a crash mid-append) is recognised and ignored; the first record names the
 * snapshot, every later one says "file {@code name} is good up to {@code offset}" (the last
 * one for a file wins). Opening rewrites the journal compactly, so appends never follow a torn
 * line.
 *
 * <p>Not thread-safe: one transfer writes it.
 */
public final class IncomingSnapshot implements AutoCloseable {
  public static final String PREFIX = "incoming.";
  private static final String JOURNAL_SUFFIX = ".journal";

  private final Path directory;
  private final Path journal;
  private final String snapshotId;
  private final Map<String, SnapshotFile> files = new LinkedHashMap<>();
  private final Map<String, Long> good = new HashMap<>();
  private final Map<String, FileChannel> channels = new HashMap<>();
  private long resumedBytes;
  private FileChannel journalChannel;

  private IncomingSnapshot(Path smDir, String snapshotId, List<SnapshotFile> manifest) {
    this.snapshotId = snapshotId;
    this.directory = smDir.resolve(PREFIX + snapshotId);
    this.journal = smDir.resolve(PREFIX + snapshotId + JOURNAL_SUFFIX);
    for (SnapshotFile f : manifest) {
      if (files.put(f.name(), f) != null) {
        // One name, two sizes or checksums: no staged file could match both.
        throw new IllegalArgumentException("snapshot " + snapshotId + " lists the file " + f.name() + " twice");
      }
    }
  }

  /**
   * Stages the snapshot {@code snapshotId} made of {@code manifest} in {@code smDir}, going on
   * from what an earlier transfer of the same snapshot journaled; the staging of any other
   * snapshot is deleted.
   */
  public static IncomingSnapshot open(Path smDir, String snapshotId, List<SnapshotFile> manifest) throws IOException {
    if (!snapshotId.matches("[0-9A-Za-z_-]+")) {
      throw new IllegalArgumentException("not a snapshot id: '" + snapshotId + "'");
    }
    IncomingSnapshot in = new IncomingSnapshot(smDir, snapshotId, manifest);
    discardOthers(smDir, in.directory.getFileName().toString());
    Files.createDirectories(in.directory);
    Map<String, Long> journaled = in.readJournal();
    for (SnapshotFile f : manifest) {
      Path file = in.directory.resolve(f.name());
      long onDisk = Files.exists(file) ? Files.size(file) : 0;
      long offset = Math.max(0, Math.min(Math.min(journaled.getOrDefault(f.name(), 0L), f.size()), onDisk));
      in.good.put(f.name(), offset);
      in.resumedBytes += offset;
    }
    in.rewriteJournal();
    return in;
  }

  /** Deletes every staged snapshot in {@code smDir} (with its journal) but {@code keep} (a directory name; null: none). */
  public static void discardOthers(Path smDir, String keep) throws IOException {
    if (!Files.isDirectory(smDir)) {
      return;
    }
    List<Path> stale;
    try (Stream<Path> entries = Files.list(smDir)) {
      stale = entries.filter(p -> p.getFileName().toString().startsWith(PREFIX))
          .filter(p -> keep == null || !(p.getFileName().toString().equals(keep) || p.getFileName().toString().equals(keep + JOURNAL_SUFFIX)))
          .toList();
    }
    for (Path p : stale) {
      Directories.deleteRecursively(p);
    }
  }

  public String snapshotId() {
    return snapshotId;
  }

  /** The staging directory. */
  public Path directory() {
    return directory;
  }

  /** The files of the snapshot, in the manifest's order. */
  public List<SnapshotFile> files() {
    return List.copyOf(files.values());
  }

  /** How many leading bytes of {@code name} are written, synced and journaled. */
  public long good(String name) {
    return good.get(file(name).name());
  }

  /** The bytes an earlier transfer had journaled when this one opened: they are not fetched again. */
  public long resumedBytes() {
    return resumedBytes;
  }

  /** Writes {@code data} into the staged file {@code name} at {@code offset}. */
  public void write(String name, long offset, ByteBuffer data) throws IOException {
    SnapshotFile f = file(name);
    if (offset < 0 || offset > f.size() - data.remaining()) { // not offset + remaining: it can overflow
      throw new IOException("bytes [" + offset + ", " + (offset + data.remaining()) + ") are outside " + name + " (" + f.size() + " bytes)");
    }
    FileChannel ch = channel(name);
    long at = offset;
    while (data.hasRemaining()) {
      at += ch.write(data, at);
    }
  }

  /** The first {@code upTo} bytes of {@code name} were written: syncs them and journals it. */
  public void synced(String name, long upTo) throws IOException {
    SnapshotFile f = file(name);
    if (upTo < 0 || upTo > f.size()) {
      throw new IllegalArgumentException(upTo + " is outside " + name + " (" + f.size() + " bytes)");
    }
    channel(name).force(false);
    append(name + " " + upTo);
    good.put(name, upTo);
  }

  /**
   * Whether the whole staged file {@code name} matches the manifest (size and CRC32C). When it
   * does not, it is emptied and journaled as such, to be fetched again.
   */
  public boolean check(String name) throws IOException {
    SnapshotFile expected = file(name);
    FileChannel ch = channel(name);
    ch.force(false);
    SnapshotFile actual = SnapshotFile.of(directory.resolve(name));
    if (actual.size() == expected.size() && actual.crc32c() == expected.crc32c()) {
      return true;
    }
    ch.truncate(0);
    synced(name, 0);
    return false;
  }

  /** Syncs every staged file and the directory: before the directory takes its final name. */
  public void syncAll() throws IOException {
    for (FileChannel ch : channels.values()) {
      ch.force(true);
    }
    closeChannels();
    CheckpointSnapshots.fsync(directory);
  }

  /** Moves each staged file into {@code target} (the order given), then forgets the staging. */
  public void moveFilesTo(Path target, List<String> order) throws IOException {
    syncAll();
    for (String name : order) {
      Files.move(directory.resolve(file(name).name()), target.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }
    CheckpointSnapshots.fsync(target);
    discard();
  }

  /** Deletes the staging directory and its journal. */
  public void discard() throws IOException {
    close();
    Directories.deleteRecursively(directory);
    Files.deleteIfExists(journal);
  }

  /** Closes the files; what is journaled stays for the next transfer of this snapshot. */
  @Override
  public void close() throws IOException {
    closeChannels();
    if (journalChannel != null) {
      journalChannel.close();
      journalChannel = null;
    }
  }

  private void closeChannels() throws IOException {
    for (FileChannel ch : channels.values()) {
      ch.close();
    }
    channels.clear();
  }

  private SnapshotFile file(String name) {
    SnapshotFile f = files.get(name);
    if (f == null) {
      throw new IllegalArgumentException("snapshot " + snapshotId + " has no file " + name);
    }
    return f;
  }

  private FileChannel channel(String name) throws IOException {
    FileChannel ch = channels.get(name);
    if (ch == null) {
      ch = FileChannel.open(directory.resolve(file(name).name()), StandardOpenOption.CREATE, StandardOpenOption.READ,
          StandardOpenOption.WRITE);
      channels.put(name, ch);
    }
    return ch;
  }

  // --- the journal ---

  private Map<String, Long> readJournal() throws IOException {
    Map<String, Long> offsets = new HashMap<>();
    if (!Files.exists(journal)) {
      return offsets;
    }
    // Split by hand, not Files.readAllLines: a torn tail may be no valid UTF-8, and is then
    // decoded with replacement characters that fail its checksum.
    List<String> lines = new String(Files.readAllBytes(journal), StandardCharsets.UTF_8).lines().toList();
    for (int i = 0; i < lines.size(); i++) {
      String record = verified(lines.get(i));
      if (record == null) {
        break; // torn: written when the node died
      }
      if (i == 0) {
        if (!record.equals("snapshot " + snapshotId)) {
          return new HashMap<>(); // another snapshot's journal under this name: start over
        }
        continue;
      }
      int space = record.lastIndexOf(' ');
      if (space <= 0) {
        break;
      }
      try {
        offsets.put(record.substring(0, space), Long.parseLong(record.substring(space + 1)));
      } catch (NumberFormatException e) {
        break;
      }
    }
    return offsets;
  }

  private void rewriteJournal() throws IOException {
    Path tmp = journal.resolveSibling(journal.getFileName() + ".tmp");
    List<String> lines = new ArrayList<>();
    lines.add(line("snapshot " + snapshotId));
    good.forEach((name, offset) -> lines.add(line(name + " " + offset)));
    Files.write(tmp, lines, StandardCharsets.UTF_8);
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    Files.move(tmp, journal, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    CheckpointSnapshots.fsync(journal.getParent());
    journalChannel = FileChannel.open(journal, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
  }

  private void append(String record) throws IOException {
    ByteBuffer bytes = ByteBuffer.wrap((line(record) + "\n").getBytes(StandardCharsets.UTF_8));
    while (bytes.hasRemaining()) {
      journalChannel.write(bytes);
    }
    journalChannel.force(false);
  }

  private static String line(String record) {
    return record + " " + crc(record);
  }

  /** The record of a journal line whose checksum matches, else null. */
  private static String verified(String line) {
    int space = line.lastIndexOf(' ');
    if (space <= 0) {
      return null;
    }
    String record = line.substring(0, space);
    return line.substring(space + 1).equals(crc(record)) ? record : null;
  }

  private static String crc(String record) {
    CRC32C crc = new CRC32C();
    crc.update(record.getBytes(StandardCharsets.UTF_8));
    return String.format("%08x", (int) crc.getValue());
  }
}
