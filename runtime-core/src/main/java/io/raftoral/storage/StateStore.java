package io.raftoral.storage;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.raftoral.proto.raft.ExportedCheckpoint;
import io.raftoral.proto.raft.WorkflowRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Checkpoint;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.LRUCache;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * The durable state of one execution group: a RocksDB holding every workflow record, every
 * committed checkpoint value, the owner, the placement, the seal (its merge target) once sealed,
 * each checkpoint's {@link CheckpointInfo}, the groups whose merge into this one finished copying (AdoptionDone),
 * and the Raft position (term, index) of the last entry applied, which each {@link #commit}
 * writes in the same batch as that entry's changes. A
 * replica reopened after a crash therefore knows exactly which entries its state contains.
 *
 * <p>Checkpoint values and their infos live in a column family of their own ({@link
 * #CHECKPOINTS}): they are most of the bytes, written once and read rarely (history, a replay
 * after a failover or restart), so that family is compressed (LZ4, ZSTD at the bottom level) and
 * reads through a block cache bounded for the whole process ({@link #BLOCK_CACHE_BYTES}). The
 * replica's memory holds only the latest value per key; every other committed value is read back
 * from here ({@link #checkpointValue}).
 *
 * <p>The RocksDB write-ahead log is off: the Raft log is the write-ahead log. What a crash
 * loses from the memtable is applied again from the Raft log, which is never purged past a
 * snapshot, and a snapshot flushes first ({@link #checkpointTo}).
 *
 * <p>Not thread-safe: the state machine calls it from one thread at a time.
 */
public final class StateStore implements AutoCloseable {
  static {
    RocksDB.loadLibrary();
  }

  /** The Raft position of the last entry whose changes the store holds; index -1 when none. */
  public record Applied(long term, long index) {
    public static final Applied NONE = new Applied(0, -1);
  }

  /** Receives the stored state in order: owner, then workflows, then each workflow's checkpoints by key and seq. */
  public interface Visitor {
    void owner(long node, long term);

    /** How many groups starts must be routed over (absent in stores that never had one: 0). */
    default void placement(long groups) {}

    /** The group was sealed for a merge into {@code mergeTarget} (absent while it is not). */
    default void sealed(String mergeTarget) {}

    /** The merge of {@code fromGroup} into the group finished copying. */
    default void adoptionDone(String fromGroup) {}

    void workflow(WorkflowRecord record);

    void checkpoint(String workflowId, String key, long seq, ByteString value) throws CorruptStateException;

    /** The info of a checkpoint visited before (absent for checkpoints stored without one). */
    default void checkpointInfo(String workflowId, String key, long seq, CheckpointInfo info) {}
  }

  /**
   * Where a history page starts: strictly after this entry. A one-key history uses only {@code
   * seq}; the all-keys one the whole (commit ordinal, key, seq), the ordinal -1 for a checkpoint
   * stored without info.
   */
  public record HistoryPosition(long commitOrdinal, String key, long seq) {}

  /** A page of history, and whether entries follow it. */
  public record HistorySlice(List<ExportedCheckpoint> entries, boolean more) {}

  /** The column family of checkpoint values and infos. */
  static final String CHECKPOINTS = "checkpoints";

  /** The block cache of every store's checkpoint family in this process: bounded, whatever the number of groups. */
  static final long BLOCK_CACHE_BYTES = 32L << 20;

  private static final LRUCache BLOCK_CACHE = new LRUCache(BLOCK_CACHE_BYTES);

  private final Path dir;
  private final DBOptions options;
  private final List<ColumnFamilyOptions> familyOptions;
  private final List<ColumnFamilyHandle> families;
  private final RocksDB db;
  // The family holding checkpoint values and infos (StateKeys.CHECKPOINT and CHECKPOINT_INFO keys).
  private final ColumnFamilyHandle checkpoints;
  private final WriteOptions writeOptions = new WriteOptions().setDisableWAL(true);
  private Applied applied;

  private StateStore(Path dir, DBOptions options, List<ColumnFamilyOptions> familyOptions, List<ColumnFamilyHandle> families,
      RocksDB db, Applied applied) {
    this.dir = dir;
    this.options = options;
    this.familyOptions = familyOptions;
    this.families = families;
    this.db = db;
    this.checkpoints = families.get(1);
    this.applied = applied;
  }

  /**
   * Opens the store in {@code dir}, creating an empty one when the directory is missing or
   * empty. A directory with files that RocksDB cannot open as a database is refused.
   */
  public static StateStore open(Path dir) throws IOException {
    boolean fresh = isMissingOrEmpty(dir);
    if (!fresh && !Files.exists(dir.resolve("CURRENT"))) {
      // Without CURRENT, RocksDB would start a new empty database over the old files.
      throw corrupt(dir, "it has files but no CURRENT file", null);
    }
    Files.createDirectories(dir);
    DBOptions options = new DBOptions()
        .setCreateIfMissing(fresh)
        // A store written before the checkpoint family existed gets it on first open (migrate moves its values there).
        .setCreateMissingColumnFamilies(true)
        // The WAL is off: without atomic flush a family whose memtable fills is flushed alone, and
        // a crash then keeps the two families at different entries (the applied position, in
        // the default family, past values lost from the other, or values of unstored workflows).
        .setAtomicFlush(true)
        .setParanoidChecks(true);
    // The state is small per group and several groups share a node: modest memtables.
    ColumnFamilyOptions records = new ColumnFamilyOptions().setWriteBufferSize(8L << 20).setMaxWriteBufferNumber(2);
    ColumnFamilyOptions values = new ColumnFamilyOptions().setWriteBufferSize(8L << 20).setMaxWriteBufferNumber(2)
        .setCompressionType(CompressionType.LZ4_COMPRESSION)
        .setBottommostCompressionType(CompressionType.ZSTD_COMPRESSION)
        .setTableFormatConfig(new BlockBasedTableConfig().setBlockCache(BLOCK_CACHE));
    List<ColumnFamilyOptions> familyOptions = List.of(records, values);
    List<ColumnFamilyHandle> families = new ArrayList<>();
    RocksDB db = null;
    try {
      db = RocksDB.open(options, dir.toString(), List.of(
          new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, records),
          new ColumnFamilyDescriptor(CHECKPOINTS.getBytes(java.nio.charset.StandardCharsets.UTF_8), values)), families);
      migrate(db, families.get(1));
      byte[] raw = db.get(StateKeys.APPLIED_KEY);
      Applied applied = raw == null ? Applied.NONE : readApplied(raw);
      return new StateStore(dir, options, familyOptions, families, db, applied);
    } catch (RocksDBException | RuntimeException e) {
      families.forEach(ColumnFamilyHandle::close);
      if (db != null) {
        db.close(); // releases its LOCK file, so the directory can be repaired and reopened
      }
      options.close();
      familyOptions.forEach(ColumnFamilyOptions::close);
      throw corrupt(dir, "RocksDB cannot read it: " + e.getMessage(), e);
    }
  }

  /**
   * Moves the checkpoint values and infos of a store written before the checkpoint family existed
   * (all in the default family) into that family, in one atomic write: a crash leaves either
   * layout whole, and the next open finishes the move.
   */
  private static void migrate(RocksDB db, ColumnFamilyHandle checkpoints) throws RocksDBException {
    byte[] from = {StateKeys.CHECKPOINT};
    byte[] to = {StateKeys.CHECKPOINT_INFO + 1};
    try (org.rocksdb.Slice upper = new org.rocksdb.Slice(to);
        ReadOptions read = new ReadOptions().setVerifyChecksums(true).setFillCache(false).setIterateUpperBound(upper);
        RocksIterator it = db.newIterator(read);
        WriteBatch moves = new WriteBatch();
        WriteOptions sync = new WriteOptions().setSync(true)) {
      int moved = 0;
      for (it.seek(from); it.isValid(); it.next()) {
        byte kind = it.key()[0];
        if (kind == StateKeys.CHECKPOINT || kind == StateKeys.CHECKPOINT_INFO) {
          moves.put(checkpoints, it.key(), it.value());
          moves.delete(it.key());
          moved++;
        }
      }
      it.status();
      if (moved > 0) {
        db.write(sync, moves);
      }
    }
  }

  public Path directory() {
    return dir;
  }

  public Applied applied() {
    return applied;
  }

  /** Reads everything stored; fails on any unreadable record or checksum mismatch. */
  public void load(Visitor visitor) throws CorruptStateException {
    // The records first (so every checkpoint finds its workflow), then the checkpoints in (workflow, key, seq) order.
    for (ColumnFamilyHandle family : List.of(db.getDefaultColumnFamily(), checkpoints)) {
      loadFamily(family, visitor);
    }
  }

  private void loadFamily(ColumnFamilyHandle family, Visitor visitor) throws CorruptStateException {
    try (ReadOptions read = new ReadOptions().setVerifyChecksums(true).setFillCache(false);
        RocksIterator it = db.newIterator(family, read)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        byte[] key = it.key();
        switch (key[0]) {
          case StateKeys.APPLIED -> {}
          case StateKeys.OWNER -> {
            ByteBuffer v = ByteBuffer.wrap(it.value());
            visitor.owner(v.getLong(), v.getLong());
          }
          case StateKeys.PLACEMENT -> visitor.placement(ByteBuffer.wrap(it.value()).getLong());
          case StateKeys.SEALED -> visitor.sealed(new String(it.value(), java.nio.charset.StandardCharsets.UTF_8));
          case StateKeys.ADOPTION_DONE -> visitor.adoptionDone(StateKeys.adoptionDoneGroup(key));
          case StateKeys.WORKFLOW -> visitor.workflow(WorkflowRecord.parseFrom(it.value()));
          case StateKeys.CHECKPOINT -> {
            StateKeys.Checkpoint c = StateKeys.parseCheckpoint(key);
            visitor.checkpoint(c.workflowId(), c.key(), c.seq(), ByteString.copyFrom(it.value()));
          }
          case StateKeys.CHECKPOINT_INFO -> {
            StateKeys.Checkpoint c = StateKeys.parseCheckpoint(key);
            visitor.checkpointInfo(c.workflowId(), c.key(), c.seq(), StateKeys.parseInfo(it.value()));
          }
          case StateKeys.COMMIT_ORDER -> {} // an index of the checkpoints above
          default -> throw corrupt(dir, "unknown record kind " + key[0], null);
        }
      }
      it.status();
    } catch (RocksDBException | InvalidProtocolBufferException | RuntimeException e) {
      throw corrupt(dir, "reading it failed: " + e.getMessage(), e);
    }
  }

  /**
   * The stored checkpoints of one workflow in (key, seq) order, each with its info (the store
   * orders keys by length first: sorted here). Fails on an unreadable record.
   */
  public List<ExportedCheckpoint> checkpoints(String workflowId) throws CorruptStateException {
    Map<Position, CheckpointInfo> infos = infos(workflowId);
    List<ExportedCheckpoint> out = new ArrayList<>();
    scan(StateKeys.checkpointRange(workflowId), workflowId, (c, value) -> {
      CheckpointInfo info = infos.getOrDefault(new Position(c.key(), c.seq()), CheckpointInfo.UNKNOWN);
      out.add(entry(c.key(), c.seq(), ByteString.copyFrom(value.get()), info));
      return true;
    });
    out.sort(Comparator.comparing(ExportedCheckpoint::getKey).thenComparingLong(ExportedCheckpoint::getSeq));
    return out;
  }

  /**
   * Up to about {@code maxBytes} ({@link #pageBytes}, at least one) of one workflow's stored
   * checkpoints with their infos, in the store's order (by key length, key, seq), strictly after
   * (afterKey, afterSeq), or from the first when {@code afterKey} is null: a merge's export of a
   * workflow too big for one page.
   */
  public HistorySlice checkpointsAfter(String workflowId, String afterKey, long afterSeq, long maxBytes)
      throws CorruptStateException {
    byte[][] range = StateKeys.checkpointRange(workflowId);
    byte[] from = afterKey == null ? range[0] : StateKeys.checkpoint(workflowId, afterKey, afterSeq + 1);
    return pageOf(workflowId, from, range[1], Integer.MAX_VALUE, maxBytes);
  }

  /**
   * The stored checkpoints in [from, to) with their infos: at most {@code limit}, and past the
   * first no more than {@code maxBytes} ({@link #pageBytes}); {@code more} when others follow.
   */
  private HistorySlice pageOf(String workflowId, byte[] from, byte[] to, int limit, long maxBytes) throws CorruptStateException {
    List<ExportedCheckpoint> page = new ArrayList<>();
    long[] bytes = {0};
    boolean[] more = {false};
    scan(new byte[][] {from, to}, workflowId, (c, value) -> {
      if (page.size() == limit) {
        more[0] = true;
        return false;
      }
      byte[] v = value.get();
      long size = pageBytes(c.key(), v);
      if (!page.isEmpty() && bytes[0] + size > maxBytes) {
        more[0] = true;
        return false;
      }
      page.add(entry(c.key(), c.seq(), ByteString.copyFrom(v), CheckpointInfo.UNKNOWN));
      bytes[0] += size;
      return true;
    });
    // The infos are read once the page is known: a point read each, outside the scan.
    List<ExportedCheckpoint> withInfo = new ArrayList<>(page.size());
    for (ExportedCheckpoint e : page) {
      withInfo.add(entry(e.getKey(), e.getSeq(), e.getValue(), info(workflowId, e.getKey(), e.getSeq())));
    }
    return new HistorySlice(withInfo, more[0]);
  }

  /** Receives one stored checkpoint with its info. */
  public interface CheckpointConsumer {
    void accept(String key, long seq, ByteString value, CheckpointInfo info);
  }

  /** Every stored checkpoint of a workflow with its info, in the store's order, one at a time. */
  public void forEachCheckpoint(String workflowId, CheckpointConsumer consumer) throws CorruptStateException {
    List<StateKeys.Checkpoint> positions = new ArrayList<>();
    List<byte[]> values = new ArrayList<>();
    long[] bytes = {0};
    // In batches of about 1 MiB, so memory stays bounded whatever the workflow's size.
    scan(StateKeys.checkpointRange(workflowId), workflowId, (c, value) -> {
      byte[] v = value.get();
      positions.add(c);
      values.add(v);
      bytes[0] += v.length;
      if (bytes[0] >= 1 << 20) {
        drain(workflowId, positions, values, consumer);
        bytes[0] = 0;
      }
      return true;
    });
    drain(workflowId, positions, values, consumer);
  }

  private void drain(String workflowId, List<StateKeys.Checkpoint> positions, List<byte[]> values, CheckpointConsumer consumer) {
    try {
      for (int i = 0; i < positions.size(); i++) {
        StateKeys.Checkpoint c = positions.get(i);
        consumer.accept(c.key(), c.seq(), ByteString.copyFrom(values.get(i)), info(workflowId, c.key(), c.seq()));
      }
    } catch (CorruptStateException e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
    positions.clear();
    values.clear();
  }

  /**
   * A page of one workflow's history strictly after {@code after} (null: from the start): with
   * a {@code key}, that key's checkpoints in seq order, read from the seq on; without, every
   * key's in commit order ({@link #COMMIT_ORDER}), which sorts the workflow's positions and
   * infos and then reads only the page's values. At most {@code limit} entries, and past the
   * first no more than {@code maxBytes} in all ({@link #pageBytes}: keys count as well as values,
   * since a workflow may write small values under long keys).
   */
  public HistorySlice history(String workflowId, String key, HistoryPosition after, int limit, long maxBytes)
      throws CorruptStateException {
    if (key != null) {
      byte[][] range = StateKeys.keyRange(workflowId, key);
      byte[] from = after == null ? range[0] : StateKeys.checkpoint(workflowId, key, after.seq() + 1);
      return pageOf(workflowId, from, range[1], limit, maxBytes);
    }
    if (indexedFromTheFirst(workflowId) && (after == null || after.commitOrdinal() >= 0)) {
      return historyInCommitOrder(workflowId, after == null ? 0 : after.commitOrdinal() + 1, limit, maxBytes);
    }
    // Checkpoints without info (or without the index: stores written before it, a workflow
    // trimmed before a merge) have no place in the index: sort the workflow's positions.
    Map<Position, CheckpointInfo> infos = infos(workflowId);
    ExportedCheckpoint cursor = after == null ? null : after.commitOrdinal() < 0
        ? entry(after.key(), after.seq(), ByteString.EMPTY, CheckpointInfo.UNKNOWN)
        : entry(after.key(), after.seq(), ByteString.EMPTY, new CheckpointInfo(0, 0, 1, after.commitOrdinal()));
    List<ExportedCheckpoint> positions = new ArrayList<>();
    scan(StateKeys.checkpointRange(workflowId), workflowId, (c, value) -> {
      // Positions and infos only: the values of the page are read once it is known.
      ExportedCheckpoint p = entry(c.key(), c.seq(), ByteString.EMPTY,
          infos.getOrDefault(new Position(c.key(), c.seq()), CheckpointInfo.UNKNOWN));
      if (cursor == null || COMMIT_ORDER.compare(p, cursor) > 0) {
        positions.add(p);
      }
      return true;
    });
    positions.sort(COMMIT_ORDER);
    List<ExportedCheckpoint> page = new ArrayList<>();
    long bytes = 0;
    for (ExportedCheckpoint p : positions) {
      byte[] v = get(StateKeys.checkpoint(workflowId, p.getKey(), p.getSeq()), workflowId);
      long size = pageBytes(p.getKey(), v);
      if (page.size() == limit || (!page.isEmpty() && bytes + size > maxBytes)) {
        return new HistorySlice(page, true);
      }
      page.add(p.toBuilder().setValue(ByteString.copyFrom(v)).build());
      bytes += size;
    }
    return new HistorySlice(page, false);
  }

  /**
   * Whether the commit-order index holds the workflow's first committed checkpoint (ordinal 0):
   * then every later checkpoint is in it too, since a replica writes the index with every info.
   * A workflow with older checkpoints (written before infos or the index existed) starts later.
   */
  private boolean indexedFromTheFirst(String workflowId) throws CorruptStateException {
    return getOrNull(StateKeys.commitOrder(workflowId, 0), workflowId) != null;
  }

  /**
   * A page of the all-keys history from commit ordinal {@code from} on, read from the index: one
   * position per ordinal, its value and info read by key. A position a retention policy trimmed
   * (its index entry stays) is skipped.
   */
  private HistorySlice historyInCommitOrder(String workflowId, long from, int limit, long maxBytes) throws CorruptStateException {
    List<ExportedCheckpoint> page = new ArrayList<>();
    long bytes = 0;
    byte[][] range = StateKeys.commitOrderRange(workflowId);
    try (org.rocksdb.Slice upper = new org.rocksdb.Slice(range[1]);
        ReadOptions read = new ReadOptions().setVerifyChecksums(true).setFillCache(false).setIterateUpperBound(upper);
        RocksIterator it = db.newIterator(checkpoints, read)) {
      for (it.seek(StateKeys.commitOrder(workflowId, from)); it.isValid(); it.next()) {
        StateKeys.Position p = StateKeys.parsePosition(it.value());
        byte[] value = getOrNull(StateKeys.checkpoint(workflowId, p.key(), p.seq()), workflowId);
        if (value == null) {
          continue; // trimmed
        }
        long size = pageBytes(p.key(), value);
        if (page.size() == limit || (!page.isEmpty() && bytes + size > maxBytes)) {
          return new HistorySlice(page, true);
        }
        page.add(entry(p.key(), p.seq(), ByteString.copyFrom(value), info(workflowId, p.key(), p.seq())));
        bytes += size;
      }
      it.status();
    } catch (RocksDBException | RuntimeException e) {
      throw corrupt(dir, "reading the commit order of " + workflowId + " failed: " + e.getMessage(), e);
    }
    return new HistorySlice(page, false);
  }

  /**
   * Room per history entry for what is not key or value: the seq, time, owner, term and ordinal
   * with their field tags and lengths in the reply (about 45 bytes at most), rounded up.
   */
  static final int ENTRY_OVERHEAD_BYTES = 64;

  /** What one history entry counts against a page's byte bound: its key, its value, its fields. */
  public static long pageBytes(String key, byte[] value) {
    return (long) key.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + value.length + ENTRY_OVERHEAD_BYTES;
  }

  /**
   * The all-keys history order: checkpoints without info (committed before it was recorded, so
   * before every other) first, by key and seq; then the others by commit ordinal, which no two
   * checkpoints of a workflow share.
   */
  private static final Comparator<ExportedCheckpoint> COMMIT_ORDER = Comparator.comparingLong(StateStore::commitOrder)
      .thenComparing(ExportedCheckpoint::getKey).thenComparingLong(ExportedCheckpoint::getSeq);

  /** The entry's commit ordinal; -1 for one without info. */
  public static long commitOrder(ExportedCheckpoint c) {
    return c.getOwnerTerm() == 0 ? -1 : c.getCommitOrdinal();
  }

  private static ExportedCheckpoint entry(String key, long seq, ByteString value, CheckpointInfo info) {
    return ExportedCheckpoint.newBuilder().setKey(key).setSeq(seq).setValue(value)
        .setCommittedAtMillis(info.committedAtMillis()).setOwnerNode(info.ownerNode()).setOwnerTerm(info.ownerTerm())
        .setCommitOrdinal(info.commitOrdinal()).build();
  }

  private record Position(String key, long seq) {}

  private interface ScanStep {
    /** Takes one checkpoint (its value read only when asked); false stops the scan. */
    boolean take(StateKeys.Checkpoint c, java.util.function.Supplier<byte[]> value);
  }

  private void scan(byte[][] range, String workflowId, ScanStep step) throws CorruptStateException {
    try (org.rocksdb.Slice upper = new org.rocksdb.Slice(range[1]);
        ReadOptions read = new ReadOptions().setVerifyChecksums(true).setFillCache(false).setIterateUpperBound(upper);
        RocksIterator it = db.newIterator(checkpoints, read)) {
      for (it.seek(range[0]); it.isValid(); it.next()) {
        if (!step.take(StateKeys.parseCheckpoint(it.key()), it::value)) {
          break;
        }
      }
      it.status();
    } catch (RocksDBException | RuntimeException e) {
      throw corrupt(dir, "reading the checkpoints of " + workflowId + " failed: " + e.getMessage(), e);
    }
  }

  private Map<Position, CheckpointInfo> infos(String workflowId) throws CorruptStateException {
    Map<Position, CheckpointInfo> infos = new HashMap<>();
    byte[][] range = StateKeys.checkpointInfoRange(workflowId);
    try (org.rocksdb.Slice upper = new org.rocksdb.Slice(range[1]);
        ReadOptions read = new ReadOptions().setVerifyChecksums(true).setFillCache(false).setIterateUpperBound(upper);
        RocksIterator it = db.newIterator(checkpoints, read)) {
      for (it.seek(range[0]); it.isValid(); it.next()) {
        StateKeys.Checkpoint c = StateKeys.parseCheckpoint(it.key());
        infos.put(new Position(c.key(), c.seq()), StateKeys.parseInfo(it.value()));
      }
      it.status();
    } catch (RocksDBException | RuntimeException e) {
      throw corrupt(dir, "reading the checkpoint infos of " + workflowId + " failed: " + e.getMessage(), e);
    }
    return infos;
  }

  private CheckpointInfo info(String workflowId, String key, long seq) throws CorruptStateException {
    byte[] raw = getOrNull(StateKeys.checkpointInfo(workflowId, key, seq), workflowId);
    return raw == null ? CheckpointInfo.UNKNOWN : StateKeys.parseInfo(raw);
  }

  /**
   * The committed value at (workflowId, key, seq), or null when it is not stored: never
   * committed, trimmed by a retention policy, or pruned with its workflow. Thread-safe, but the
   * caller must keep the store open meanwhile.
   */
  public ByteString checkpointValue(String workflowId, String key, long seq) throws CorruptStateException {
    byte[] value = getOrNull(StateKeys.checkpoint(workflowId, key, seq), workflowId);
    return value == null ? null : ByteString.copyFrom(value);
  }

  private byte[] get(byte[] key, String workflowId) throws CorruptStateException {
    byte[] value = getOrNull(key, workflowId);
    if (value == null) {
      throw corrupt(dir, "a checkpoint of " + workflowId + " vanished while it was read", null);
    }
    return value;
  }

  private byte[] getOrNull(byte[] key, String workflowId) throws CorruptStateException {
    try {
      return db.get(checkpoints, key);
    } catch (RocksDBException e) {
      throw corrupt(dir, "reading a checkpoint of " + workflowId + " failed: " + e.getMessage(), e);
    }
  }

  /** Collects the changes of one Raft entry; {@link #commit} writes them with the entry's position. */
  public Batch batch() {
    return new Batch();
  }

  /** Writes the batch and the entry's position atomically. */
  public void commit(Batch batch, long term, long index) {
    try (batch) {
      batch.writes.put(StateKeys.APPLIED_KEY, StateKeys.longs(term, index));
      db.write(writeOptions, batch.writes);
      applied = new Applied(term, index);
    } catch (RocksDBException e) {
      // A disk that cannot take the write: the caller must stop applying rather than diverge.
      throw new UncheckedIOException(new IOException("writing the state in " + dir + " failed: " + e.getMessage(), e));
    }
  }

  /** Makes everything written so far durable (the write-ahead log is off). */
  public void flush() throws IOException {
    try (FlushOptions flush = new FlushOptions().setWaitForFlush(true)) {
      db.flush(flush, families);
    } catch (RocksDBException e) {
      throw new IOException("flushing the state in " + dir + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * Flushes, then writes a consistent copy of the store to {@code target} (which must not
   * exist): hard links to the immutable table files plus copies of the rest.
   */
  public void checkpointTo(Path target) throws IOException {
    flush();
    try (Checkpoint checkpoint = Checkpoint.create(db)) {
      checkpoint.createCheckpoint(target.toString());
    } catch (RocksDBException e) {
      throw new IOException("checkpointing the state in " + dir + " to " + target + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * Replaces the store in {@code live} with the database files of {@code checkpoint} (files
   * named in {@code files}). Crash-safe: the copy is made beside {@code live} and renamed over
   * it; a leftover partial copy is removed by the next restore.
   */
  public static void restore(Path checkpoint, List<String> files, Path live) throws IOException {
    Path staging = live.resolveSibling(live.getFileName() + ".restoring");
    Directories.deleteRecursively(staging);
    Files.createDirectories(staging);
    for (String name : files) {
      Path from = checkpoint.resolve(name);
      Path to = staging.resolve(name);
      if (name.endsWith(".sst")) {
        // Table files are never modified in place: a hard link is a safe, free copy.
        try {
          Files.createLink(to, from);
          continue;
        } catch (IOException | UnsupportedOperationException e) {
          // another file system: copy below
        }
      }
      Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
    }
    Directories.deleteRecursively(live);
    Files.move(staging, live, StandardCopyOption.ATOMIC_MOVE);
  }

  @Override
  public void close() throws IOException {
    try {
      flush();
    } finally {
      families.forEach(ColumnFamilyHandle::close);
      db.close();
      writeOptions.close();
      options.close();
      familyOptions.forEach(ColumnFamilyOptions::close);
    }
  }

  /** The changes of one Raft entry. */
  public final class Batch implements AutoCloseable {
    private final WriteBatch writes = new WriteBatch();

    private Batch() {}

    /** Stores a workflow's record; its checkpoints are stored apart (see {@link #putCheckpoint}). */
    public void putWorkflow(WorkflowRecord record) {
      put(StateKeys.workflow(record.getWorkflowId()), record.toByteArray());
    }

    /** Stores a checkpoint's value and, unless unknown, its info (an unknown one reads back as absent). */
    public void putCheckpoint(String workflowId, String key, long seq, ByteString value, CheckpointInfo info) {
      putValue(StateKeys.checkpoint(workflowId, key, seq), value.toByteArray());
      if (!info.isUnknown()) {
        putValue(StateKeys.checkpointInfo(workflowId, key, seq), StateKeys.info(info));
        putValue(StateKeys.commitOrder(workflowId, info.commitOrdinal()), StateKeys.position(key, seq));
      }
    }

    /**
     * Removes the checkpoints of one key below {@code fromSeq}, with their infos and their
     * commit-order entries (a retention policy keeps the rest). The ordinals are read from the
     * stored infos; a position committed in this same batch has none stored yet, and its
     * commit-order entry stays (the history skips an entry whose value is gone).
     */
    public void trimCheckpoints(String workflowId, String key, long fromSeq) {
      byte[] from = StateKeys.checkpointInfo(workflowId, key, 0);
      byte[] to = StateKeys.checkpointInfo(workflowId, key, fromSeq);
      try (org.rocksdb.Slice upper = new org.rocksdb.Slice(to);
          ReadOptions read = new ReadOptions().setFillCache(false).setIterateUpperBound(upper);
          RocksIterator it = db.newIterator(checkpoints, read)) {
        for (it.seek(from); it.isValid(); it.next()) {
          writes.delete(checkpoints, StateKeys.commitOrder(workflowId, StateKeys.parseInfo(it.value()).commitOrdinal()));
        }
        it.status();
      } catch (RocksDBException e) {
        throw new IllegalStateException(e);
      }
      try {
        writes.deleteRange(checkpoints, StateKeys.checkpoint(workflowId, key, 0), StateKeys.checkpoint(workflowId, key, fromSeq));
        writes.deleteRange(checkpoints, StateKeys.checkpointInfo(workflowId, key, 0),
            StateKeys.checkpointInfo(workflowId, key, fromSeq));
      } catch (RocksDBException e) {
        throw new IllegalStateException(e);
      }
    }

    public void putOwner(long node, long term) {
      put(StateKeys.OWNER_KEY, StateKeys.longs(node, term));
    }

    /** Marks the group sealed for a merge into {@code mergeTarget}. */
    public void putSealed(String mergeTarget) {
      put(StateKeys.SEALED_KEY, mergeTarget.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Marks the merge of {@code fromGroup} into the group as done copying. */
    public void putAdoptionDone(String fromGroup) {
      put(StateKeys.adoptionDone(fromGroup), new byte[0]);
    }

    public void putPlacement(long groups) {
      put(StateKeys.PLACEMENT_KEY, ByteBuffer.allocate(8).putLong(groups).array());
    }

    /** Removes a workflow's record and all its checkpoints with their infos. */
    public void removeWorkflow(String workflowId) {
      byte[][] range = StateKeys.checkpointRange(workflowId);
      byte[][] infos = StateKeys.checkpointInfoRange(workflowId);
      try {
        writes.delete(StateKeys.workflow(workflowId));
        byte[][] order = StateKeys.commitOrderRange(workflowId);
        writes.deleteRange(checkpoints, range[0], range[1]);
        writes.deleteRange(checkpoints, infos[0], infos[1]);
        writes.deleteRange(checkpoints, order[0], order[1]);
      } catch (RocksDBException e) {
        throw new IllegalStateException(e);
      }
    }

    private void put(byte[] key, byte[] value) {
      try {
        writes.put(key, value);
      } catch (RocksDBException e) {
        throw new IllegalStateException(e);
      }
    }

    private void putValue(byte[] key, byte[] value) {
      try {
        writes.put(checkpoints, key, value);
      } catch (RocksDBException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public void close() {
      writes.close();
    }
  }

  private static Applied readApplied(byte[] raw) {
    ByteBuffer b = ByteBuffer.wrap(raw);
    return new Applied(b.getLong(), b.getLong());
  }

  static CorruptStateException corrupt(Path dir, String what, Throwable cause) {
    return new CorruptStateException("the state store " + dir + " is corrupted or truncated (" + what + "); refusing to use it. "
        + "Delete that directory to rebuild this replica from its latest snapshot and Raft log, or start the node with an "
        + "empty data directory to join the cluster again as a new node", cause);
  }

  private static boolean isMissingOrEmpty(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return true;
    }
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.findAny().isEmpty();
    }
  }
}
