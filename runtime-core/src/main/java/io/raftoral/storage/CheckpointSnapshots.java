package io.raftoral.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.Writer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.impl.FileListSnapshotInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshots of one execution group, in the group's Ratis state machine directory ({@code
 * sm/}): each is a directory {@code snapshot.<term>_<index>/} holding a RocksDB checkpoint of
 * the group's {@link StateStore} and a {@value #META} file with the position and a CRC32C of
 * every file. Ratis sends these files to a follower that is behind the leader's log and, on
 * that follower, replaces the whole {@code sm/} directory with them; the live store lives
 * elsewhere and is restored from the newest snapshot when that is ahead of it.
 */
public final class CheckpointSnapshots implements StateMachineStorage {
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointSnapshots.class);
  public static final String META = "raftoral-snapshot.properties";
  private static final Pattern NAME = Pattern.compile("snapshot\\.(\\d+)_(\\d+)");
  // Ratis writes a digest file beside every file it receives; it is not part of the snapshot.
  private static final String MD5_SUFFIX = ".md5";

  private volatile Path smDir;
  private final AtomicReference<FileListSnapshotInfo> latest = new AtomicReference<>();

  @Override
  public void init(RaftStorage storage) throws IOException {
    smDir = storage.getStorageDir().getStateMachineDir().toPath();
    Files.createDirectories(smDir);
    refresh();
  }

  /** For tests and tools: snapshots kept in {@code dir} without a Ratis storage. */
  public void init(Path dir) throws IOException {
    smDir = dir;
    Files.createDirectories(smDir);
    refresh();
  }

  /** The state machine directory the snapshots live in. */
  public Path directory() {
    return smDir;
  }

  @Override
  public FileListSnapshotInfo getLatestSnapshot() {
    return latest.get();
  }

  @Override
  public void format() {}

  /** Re-reads the directory (after Ratis installed a snapshot into it). */
  public FileListSnapshotInfo refresh() throws IOException {
    Path newest = null;
    TermIndex newestAt = null;
    for (Path dir : snapshotDirectories()) {
      TermIndex at = termIndex(dir);
      if (newestAt == null || at.getIndex() > newestAt.getIndex()) {
        newest = dir;
        newestAt = at;
      }
    }
    FileListSnapshotInfo info = newest == null ? null : new FileListSnapshotInfo(files(newest), newestAt);
    latest.set(info);
    return info;
  }

  /** The directory of a snapshot of this store. */
  public static Path directoryOf(FileListSnapshotInfo info) {
    return info.getFiles().getFirst().getPath().getParent();
  }

  /** The database files of a snapshot (everything but the metadata), by name. */
  public static List<String> databaseFiles(FileListSnapshotInfo info) {
    return info.getFiles().stream().map(f -> f.getPath().getFileName().toString()).filter(n -> !n.equals(META)).toList();
  }

  /**
   * Writes a snapshot at {@code at}: {@code writer} fills a fresh directory (a RocksDB
   * checkpoint), then the metadata is added and the directory gets its final name, so a
   * crash never leaves a snapshot that looks complete but is not.
   */
  public FileListSnapshotInfo create(TermIndex at, CheckpointWriter writer) throws IOException {
    Path target = smDir.resolve(name(at));
    if (Files.exists(target)) {
      return refresh();
    }
    Path staging = smDir.resolve(name(at) + ".tmp");
    StateStore.deleteRecursively(staging);
    writer.writeTo(staging);
    writeMeta(staging, at);
    Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
    fsync(smDir);
    return refresh();
  }

  /** Fills a directory that does not exist yet. */
  public interface CheckpointWriter {
    void writeTo(Path directory) throws IOException;
  }

  /** Checks every file of the snapshot against its metadata; throws when one differs or is missing. */
  public static void verify(FileListSnapshotInfo info) throws CorruptStateException {
    Path dir = directoryOf(info);
    Properties meta;
    try {
      meta = readMeta(dir);
    } catch (IOException e) {
      throw corrupt(dir, "its metadata " + META + " is unreadable: " + e.getMessage(), e);
    }
    if (!String.valueOf(info.getIndex()).equals(meta.getProperty("index"))
        || !String.valueOf(info.getTerm()).equals(meta.getProperty("term"))) {
      throw corrupt(dir, "its metadata names another position than the directory", null);
    }
    int count = Integer.parseInt(meta.getProperty("files", "-1"));
    List<String> names = databaseFiles(info);
    if (count != names.size()) {
      throw corrupt(dir, "it has " + names.size() + " database files, its metadata lists " + count, null);
    }
    for (String name : names) {
      String expected = meta.getProperty("file." + name);
      String actual;
      try {
        actual = fingerprint(dir.resolve(name));
      } catch (IOException e) {
        throw corrupt(dir, "reading " + name + " failed: " + e.getMessage(), e);
      }
      if (!actual.equals(expected)) {
        throw corrupt(dir, "file " + name + " is " + actual + " (size:crc32c), its metadata says " + expected, null);
      }
    }
  }

  /** Keeps the newest {@code policy} snapshots (at least one) and deletes the rest and any unfinished ones. */
  @Override
  public void cleanupOldSnapshots(SnapshotRetentionPolicy policy) throws IOException {
    if (smDir == null) {
      return;
    }
    int keep = Math.max(1, policy == null ? 2 : policy.getNumSnapshotsRetained());
    List<Path> all = new ArrayList<>(snapshotDirectories());
    all.sort(Comparator.comparingLong((Path p) -> termIndex(p).getIndex()).reversed());
    for (Path old : all.subList(Math.min(keep, all.size()), all.size())) {
      LOG.info("deleting old snapshot {}", old);
      StateStore.deleteRecursively(old);
    }
    try (Stream<Path> entries = Files.list(smDir)) {
      for (Path p : entries.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList()) {
        StateStore.deleteRecursively(p);
      }
    }
    refresh();
  }

  private List<Path> snapshotDirectories() throws IOException {
    if (smDir == null || !Files.isDirectory(smDir)) {
      return List.of();
    }
    try (Stream<Path> entries = Files.list(smDir)) {
      return entries.filter(Files::isDirectory).filter(p -> NAME.matcher(p.getFileName().toString()).matches()).toList();
    }
  }

  private static List<FileInfo> files(Path dir) throws IOException {
    try (Stream<Path> entries = Files.list(dir)) {
      // Absolute paths: Ratis sends each as a path relative to its storage root.
      return entries.filter(Files::isRegularFile)
          .filter(p -> !p.getFileName().toString().endsWith(MD5_SUFFIX))
          .sorted()
          .map(p -> new FileInfo(p.toAbsolutePath(), null))
          .toList();
    }
  }

  private static TermIndex termIndex(Path dir) {
    Matcher m = NAME.matcher(dir.getFileName().toString());
    if (!m.matches()) {
      throw new IllegalArgumentException("not a snapshot directory: " + dir);
    }
    return TermIndex.valueOf(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
  }

  private static String name(TermIndex at) {
    return "snapshot." + at.getTerm() + "_" + at.getIndex();
  }

  private static void writeMeta(Path dir, TermIndex at) throws IOException {
    TreeMap<String, String> fileFingerprints = new TreeMap<>();
    try (Stream<Path> entries = Files.list(dir)) {
      for (Path p : entries.filter(Files::isRegularFile).toList()) {
        fileFingerprints.put(p.getFileName().toString(), fingerprint(p));
      }
    }
    Properties meta = new Properties();
    meta.setProperty("term", String.valueOf(at.getTerm()));
    meta.setProperty("index", String.valueOf(at.getIndex()));
    meta.setProperty("files", String.valueOf(fileFingerprints.size()));
    fileFingerprints.forEach((name, fp) -> meta.setProperty("file." + name, fp));
    Path file = dir.resolve(META);
    try (Writer w = Files.newBufferedWriter(file)) {
      meta.store(w, "Raftoral snapshot: a RocksDB checkpoint of one execution group's state; file.<name> = size:crc32c");
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    fsync(dir);
  }

  private static Properties readMeta(Path dir) throws IOException {
    Properties meta = new Properties();
    try (Reader r = Files.newBufferedReader(dir.resolve(META))) {
      meta.load(r);
    }
    return meta;
  }

  private static String fingerprint(Path file) throws IOException {
    CRC32C crc = new CRC32C();
    long size = 0;
    byte[] buffer = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        crc.update(buffer, 0, n);
        size += n;
      }
    }
    return size + ":" + HexFormat.of().toHexDigits((int) crc.getValue());
  }

  private static void fsync(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Directories cannot be opened for sync on every platform; the data files were synced.
    }
  }

  private static CorruptStateException corrupt(Path dir, String what, Throwable cause) {
    return new CorruptStateException("the snapshot " + dir + " is corrupted or truncated (" + what + "); refusing to use it. "
        + "Restore it from a backup, or start the node with an empty data directory to join the cluster again as a new node",
        cause);
  }
}
