package io.raftoral.storage;

import java.io.IOException;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshots of one execution group, in the group's Ratis state machine directory ({@code
 * sm/}): each is a directory {@code snapshot.<term>_<index>/} holding a RocksDB checkpoint of
 * the group's {@link StateStore} and a {@value #META} file with the position and a CRC32C of
 * every file. A follower that is behind the leader's log fetches a peer's snapshot into a
 * staging directory ({@link IncomingSnapshot}) and {@linkplain #installFetched installs} it
 * here; the live store lives elsewhere and is restored from the newest snapshot when that is
 * ahead of it. The files only: the raft package presents them to Ratis ({@code
 * raft.CheckpointSnapshotStorage}) and moves them between nodes.
 */
public final class CheckpointSnapshots {
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointSnapshots.class);
  public static final String META = "raftoral-snapshot.properties";
  private static final Pattern NAME = Pattern.compile("snapshot\\.(\\d+)_(\\d+)");
  // Ratis writes a digest file beside every file it receives; it is not part of the snapshot.
  private static final String MD5_SUFFIX = ".md5";

  /**
   * One snapshot: its position and its files (absolute paths, the metadata among them).
   *
   * @param term the Raft term of the last entry it contains
   * @param index the log index of the last entry it contains
   */
  public record Snapshot(long term, long index, List<Path> files) {
    public Snapshot {
      files = List.copyOf(files);
    }

    /** The snapshot's directory. */
    public Path directory() {
      return files.getFirst().getParent();
    }

    /** The database files (everything but the metadata), by name. */
    public List<String> databaseFiles() {
      return files.stream().map(f -> f.getFileName().toString()).filter(n -> !n.equals(META)).toList();
    }
  }

  private volatile Path smDir;
  private final AtomicReference<Snapshot> latest = new AtomicReference<>();
  // Snapshot directory name -> System.nanoTime() until which cleanup keeps it: a peer fetches it.
  private final java.util.Map<String, Long> holds = new java.util.concurrent.ConcurrentHashMap<>();

  /** Keeps the snapshots in {@code dir} (created when missing) and reads the newest. */
  public void init(Path dir) throws IOException {
    smDir = dir;
    Files.createDirectories(smDir);
    refresh();
  }

  /** The state machine directory the snapshots live in. */
  public Path directory() {
    return smDir;
  }

  /** The newest snapshot, or null. */
  public Snapshot latest() {
    return latest.get();
  }

  /**
   * Every complete snapshot in the directory, newest first. One without its metadata is not:
   * cleanup deletes the metadata first (children in reverse name order), so a crash mid-delete
   * leaves such a directory, possibly empty, until the next cleanup.
   */
  public List<Snapshot> all() throws IOException {
    List<Snapshot> all = new ArrayList<>();
    for (Path dir : snapshotDirectories()) {
      if (!Files.isRegularFile(dir.resolve(META))) {
        continue;
      }
      long[] at = termIndex(dir);
      all.add(new Snapshot(at[0], at[1], files(dir)));
    }
    all.sort(Comparator.comparingLong(Snapshot::index).reversed());
    return all;
  }

  /**
   * The files of a snapshot with their sizes and checksums, as its metadata records them (the
   * metadata file itself is read whole): what a peer fetching it checks every byte against.
   */
  public static List<SnapshotFile> manifest(Snapshot snapshot) throws IOException {
    Path dir = snapshot.directory();
    Properties meta = readMeta(dir);
    checkCount(dir, meta, snapshot.databaseFiles()); // else a peer fetches it whole to fail verify
    List<SnapshotFile> files = new ArrayList<>();
    for (String name : snapshot.databaseFiles()) {
      String fp = meta.getProperty("file." + name);
      int colon = fp == null ? -1 : fp.indexOf(':');
      if (colon < 0) {
        throw corrupt(dir, "its metadata does not list " + name, null);
      }
      try {
        files.add(new SnapshotFile(name, Long.parseLong(fp.substring(0, colon)), (int) Long.parseLong(fp.substring(colon + 1), 16)));
      } catch (IllegalArgumentException e) { // a number that is none, or a negative size
        throw corrupt(dir, "its metadata says " + name + " is '" + fp + "'", e);
      }
    }
    files.add(SnapshotFile.of(dir.resolve(META)));
    return files;
  }

  /**
   * Keeps the snapshot in {@code directory} from cleanup for {@code ttl} (renewed by every call
   * of the same holder): peer {@code holder} fetches it.
   */
  public void hold(Path directory, long holder, java.time.Duration ttl) {
    holds.put(holdKey(directory, holder), System.nanoTime() + ttl.toNanos());
  }

  /** Ends {@code holder}'s {@link #hold}: that peer has what it fetched; others may still hold the snapshot. */
  public void release(Path directory, long holder) {
    holds.remove(holdKey(directory, holder));
  }

  private static String holdKey(Path directory, long holder) {
    return directory.getFileName().toString() + "/" + holder;
  }

  private boolean held(Path directory) {
    String prefix = directory.getFileName().toString() + "/";
    return holds.keySet().stream().anyMatch(k -> k.startsWith(prefix));
  }

  /**
   * Makes a snapshot fetched from a peer this replica's newest on disk, atomically: its files
   * are checked against the metadata, then the staged directory takes the snapshot's name. It
   * is not loaded here: a restart, or Ratis reloading the state machine, restores the store
   * from it, the newer state. A crash before the rename leaves the staged files to resume
   * from; after it, the whole snapshot.
   */
  public void installFetched(IncomingSnapshot staged, long term, long index) throws IOException {
    Path target = smDir.resolve(name(term, index));
    if (Files.isDirectory(target)) {
      staged.discard(); // installed before a crash, or taken here meanwhile: the same position
      return;
    }
    Path dir = staged.directory();
    verify(new Snapshot(term, index, files(dir)));
    staged.syncAll();
    Files.move(dir, target, StandardCopyOption.ATOMIC_MOVE);
    fsync(smDir);
    staged.discard();
  }

  /** Re-reads the directory (after Ratis installed a snapshot into it). */
  public Snapshot refresh() throws IOException {
    Path newest = null;
    long[] newestAt = null;
    for (Path dir : snapshotDirectories()) {
      long[] at = termIndex(dir);
      if (newestAt == null || at[1] > newestAt[1]) {
        newest = dir;
        newestAt = at;
      }
    }
    Snapshot info = newest == null ? null : new Snapshot(newestAt[0], newestAt[1], files(newest));
    latest.set(info);
    return info;
  }

  /**
   * Writes a snapshot at {@code at}: {@code writer} fills a fresh directory (a RocksDB
   * checkpoint), then the metadata is added and the directory gets its final name, so a
   * crash never leaves a snapshot that looks complete but is not.
   */
  public Snapshot create(long term, long index, CheckpointWriter writer) throws IOException {
    Path target = smDir.resolve(name(term, index));
    if (Files.exists(target)) {
      return refresh();
    }
    Path staging = smDir.resolve(name(term, index) + ".tmp");
    Directories.deleteRecursively(staging);
    writer.writeTo(staging);
    writeMeta(staging, term, index);
    Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
    fsync(smDir);
    return refresh();
  }

  /** Fills a directory that does not exist yet. */
  public interface CheckpointWriter {
    void writeTo(Path directory) throws IOException;
  }

  /** Checks every file of the snapshot against its metadata; throws when one differs or is missing. */
  public static void verify(Snapshot info) throws CorruptStateException {
    if (info.files().isEmpty()) { // not even its metadata; directory() needs a file
      throw corrupt(Path.of(name(info.term(), info.index())), "it has no files", null);
    }
    Path dir = info.directory();
    Properties meta;
    try {
      meta = readMeta(dir);
    } catch (IOException e) {
      throw corrupt(dir, "its metadata " + META + " is unreadable: " + e.getMessage(), e);
    }
    if (!String.valueOf(info.index()).equals(meta.getProperty("index"))
        || !String.valueOf(info.term()).equals(meta.getProperty("term"))) {
      throw corrupt(dir, "its metadata names another position than the directory", null);
    }
    List<String> names = info.databaseFiles();
    checkCount(dir, meta, names);
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

  /**
   * Keeps the newest {@code retained} snapshots (at least one) and those peers hold, and deletes
   * the rest and any unfinished ones.
   */
  public void cleanup(int retained) throws IOException {
    if (smDir == null) {
      return;
    }
    int keep = Math.max(1, retained);
    List<Path> all = new ArrayList<>(snapshotDirectories());
    all.sort(Comparator.comparingLong((Path p) -> termIndex(p)[1]).reversed());
    long now = System.nanoTime();
    holds.values().removeIf(until -> until - now < 0);
    for (Path old : all.subList(Math.min(keep, all.size()), all.size())) {
      if (held(old)) {
        continue; // a peer is fetching it
      }
      LOG.info("deleting old snapshot {}", old);
      Directories.deleteRecursively(old);
    }
    try (Stream<Path> entries = Files.list(smDir)) {
      // Only create()'s stagings: a transfer's files (incoming.*, its journal's .tmp among them) are its own.
      for (Path p : entries.filter(p -> isUnfinished(p.getFileName().toString())).toList()) {
        Directories.deleteRecursively(p);
      }
    }
    refresh();
  }

  private static boolean isUnfinished(String name) {
    return name.endsWith(".tmp") && NAME.matcher(name.substring(0, name.length() - ".tmp".length())).matches();
  }

  private List<Path> snapshotDirectories() throws IOException {
    if (smDir == null || !Files.isDirectory(smDir)) {
      return List.of();
    }
    try (Stream<Path> entries = Files.list(smDir)) {
      return entries.filter(Files::isDirectory).filter(p -> NAME.matcher(p.getFileName().toString()).matches()).toList();
    }
  }

  private static List<Path> files(Path dir) throws IOException {
    try (Stream<Path> entries = Files.list(dir)) {
      // Absolute paths: Ratis sends each as a path relative to its storage root.
      return entries.filter(Files::isRegularFile)
          .filter(p -> !p.getFileName().toString().endsWith(MD5_SUFFIX))
          .sorted()
          .map(Path::toAbsolutePath)
          .toList();
    }
  }

  /** {term, index} of a snapshot directory's name. */
  private static long[] termIndex(Path dir) {
    Matcher m = NAME.matcher(dir.getFileName().toString());
    if (!m.matches()) {
      throw new IllegalArgumentException("not a snapshot directory: " + dir);
    }
    return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
  }

  private static String name(long term, long index) {
    return "snapshot." + term + "_" + index;
  }

  private static void writeMeta(Path dir, long term, long index) throws IOException {
    TreeMap<String, String> fileFingerprints = new TreeMap<>();
    try (Stream<Path> entries = Files.list(dir)) {
      for (Path p : entries.filter(Files::isRegularFile).toList()) {
        fileFingerprints.put(p.getFileName().toString(), fingerprint(p));
      }
    }
    Properties meta = new Properties();
    meta.setProperty("term", String.valueOf(term));
    meta.setProperty("index", String.valueOf(index));
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

  private static void checkCount(Path dir, Properties meta, List<String> names) throws CorruptStateException {
    int count;
    try {
      count = Integer.parseInt(meta.getProperty("files", "-1"));
    } catch (NumberFormatException e) {
      throw corrupt(dir, "its metadata's file count is '" + meta.getProperty("files") + "'", e);
    }
    if (count != names.size()) {
      throw corrupt(dir, "it has " + names.size() + " database files, its metadata lists " + count, null);
    }
  }

  static Properties readMeta(Path dir) throws IOException {
    Properties meta = new Properties();
    try (Reader r = Files.newBufferedReader(dir.resolve(META))) {
      meta.load(r);
    } catch (IllegalArgumentException e) { // a malformed unicode escape
      throw corrupt(dir, "its metadata " + META + " is malformed: " + e.getMessage(), e);
    }
    return meta;
  }

  private static String fingerprint(Path file) throws IOException {
    SnapshotFile f = SnapshotFile.of(file);
    return f.size() + ":" + HexFormat.of().toHexDigits(f.crc32c());
  }

  static void fsync(Path dir) {
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
