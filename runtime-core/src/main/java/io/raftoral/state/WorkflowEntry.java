package io.raftoral.state;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.WorkflowError;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.proto.raft.WorkflowStatusCode;
import java.util.HashMap;
import java.util.Map;

/**
 * One workflow in the replicated state of an execution group. Written only by the state
 * machine's apply thread; read by any thread, hence the monitor.
 */
public final class WorkflowEntry {
  private final String workflowId;
  private final String type;
  private final int version;
  private final ByteString input;
  private final String traceParent;
  private final long startedAtMillis;

  private WorkflowStatusCode status = WorkflowStatusCode.RUNNING;
  private long ownerNode;
  private long endedAtMillis;
  private ByteString result = ByteString.EMPTY;
  private WorkflowError error;
  private String terminationReason = "";
  // Where committed values this entry does not hold are read from (the state store).
  private final CommittedValues stored;
  // Per key while the workflow runs: how many values are committed and the latest one (memory
  // stays flat however many a workflow writes; the others are read from `stored`). Cleared for
  // an ended workflow once no local run reads it (releaseValues).
  private final Map<String, KeyValues> keys = new HashMap<>();
  private long checkpointCount;
  // Whether checkpointCount came from the stored record of an ended workflow (whose stored values
  // a retention policy may have trimmed) rather than from counting its stored values.
  private boolean countFromRecord;
  private long historyKeptLastPerKey;
  // Sums of one hash per checkpoint value, and per checkpoint info, this replica applied or loaded
  // while the workflow ran: order-free, so applying and loading give the same, and the digest
  // covers every value and info without holding them in memory. 0 when none is known.
  private long valueFingerprint;
  private long infoFingerprint;

  /** One key's count of committed values and its latest value. */
  private static final class KeyValues {
    long count;
    ByteString latest;
  }

  WorkflowEntry(String workflowId, String type, int version, ByteString input, long startedAtMillis, long ownerNode,
      String traceParent, CommittedValues stored) {
    this.stored = stored;
    this.traceParent = traceParent;
    this.workflowId = workflowId;
    this.type = type;
    this.version = version;
    this.input = input;
    this.startedAtMillis = startedAtMillis;
    this.ownerNode = ownerNode;
  }

  public String workflowId() {
    return workflowId;
  }

  /** The W3C traceparent of the start's caller, empty when it had none. */
  public String traceParent() {
    return traceParent;
  }

  public String type() {
    return type;
  }

  public int version() {
    return version;
  }

  public synchronized long endedAtMillis() {
    return endedAtMillis;
  }

  /**
   * Feeds everything this entry holds into {@code digest}: its record (with the checkpoint
   * count) and, while it runs, the fingerprints of every checkpoint value and info.
   */
  synchronized void digestInto(java.security.MessageDigest digest) {
    digest.update(toRecord().toByteArray());
    if (status != WorkflowStatusCode.RUNNING) {
      return; // released or not, per replica: the record's checkpoint count stands for them
    }
    digest.update(java.nio.ByteBuffer.allocate(8).putLong(valueFingerprint).array());
    if (infoFingerprint != 0) {
      // Only when infos are known, so the digests of states without them are as before.
      digest.update(java.nio.ByteBuffer.allocate(8).putLong(infoFingerprint).array());
    }
  }

  /** A stored workflow; its checkpoints are added after (counted from them unless an ended record carries its count). */
  static WorkflowEntry fromRecord(WorkflowRecord r, CommittedValues stored) {
    WorkflowEntry w = new WorkflowEntry(r.getWorkflowId(), r.getType(), r.getVersion(), r.getInput(), r.getStartedAtMillis(),
        r.getOwnerNode(), r.getTraceParent(), stored);
    w.setFrom(r);
    if (r.getStatus() != WorkflowStatusCode.RUNNING && r.getCheckpointCount() > 0) {
      w.checkpointCount = r.getCheckpointCount();
      w.countFromRecord = true;
    }
    return w;
  }

  /**
   * The record to store: everything but the checkpoints, which are stored one by one; an ended
   * workflow's count stays in it (a retention policy may have trimmed the stored values).
   */
  public synchronized WorkflowRecord toStoredRecord() {
    WorkflowRecord.Builder b = recordBuilder();
    return status == WorkflowStatusCode.RUNNING ? b.clearCheckpointCount().build() : b.build();
  }

  private synchronized void setFrom(WorkflowRecord r) {
    status = r.getStatus();
    ownerNode = r.getOwnerNode();
    endedAtMillis = r.getEndedAtMillis();
    result = r.getResult();
    error = r.hasError() ? r.getError() : null;
    terminationReason = r.getTerminationReason();
    historyKeptLastPerKey = r.getHistoryKeptLastPerKey();
  }

  /** Takes every mutable value of {@code other}, the same workflow from an installed snapshot. */
  void copyFrom(WorkflowEntry other) {
    WorkflowRecord r = other.toRecord();
    Map<String, KeyValues> values = new HashMap<>();
    long values64;
    long infos64;
    boolean fromRecord;
    synchronized (other) {
      other.keys.forEach((k, v) -> {
        KeyValues copy = new KeyValues();
        copy.count = v.count;
        copy.latest = v.latest;
        values.put(k, copy);
      });
      values64 = other.valueFingerprint;
      infos64 = other.infoFingerprint;
      fromRecord = other.countFromRecord;
    }
    synchronized (this) {
      setFrom(r);
      keys.clear();
      keys.putAll(values);
      checkpointCount = r.getCheckpointCount();
      countFromRecord = fromRecord;
      valueFingerprint = values64;
      infoFingerprint = infos64;
    }
  }

  /**
   * Marks an entry that is no longer in the state (pruned while this replica was behind) as
   * ended, so a local run still holding it stops instead of waiting for values that never come.
   */
  synchronized void detach() {
    if (status == WorkflowStatusCode.RUNNING) {
      status = WorkflowStatusCode.TERMINATED;
      terminationReason = "removed from this replica by an installed snapshot";
    }
  }

  public long startedAtMillis() {
    return startedAtMillis;
  }

  public ByteString input() {
    return input;
  }

  public synchronized WorkflowStatusCode status() {
    return status;
  }

  public synchronized boolean isRunning() {
    return status == WorkflowStatusCode.RUNNING;
  }

  public synchronized long ownerNode() {
    return ownerNode;
  }

  /**
   * The committed value at (key, seq), or null when that position is not committed yet, or no
   * longer stored (a retention policy trimmed it after the workflow ended, or it was pruned).
   * The latest value of each key comes from memory, the others from the state store.
   */
  public ByteString checkpoint(String key, long seq) {
    synchronized (this) {
      KeyValues values = keys.get(key);
      if (values != null && seq == values.count - 1) {
        return values.latest;
      }
      if (values != null ? seq >= values.count : status == WorkflowStatusCode.RUNNING) {
        return null; // not committed (an ended workflow's released counts are the store's to tell)
      }
    }
    // Outside the monitor: the store read waits for an entry being applied, whose apply thread
    // takes this monitor.
    return stored.read(workflowId, key, seq);
  }

  public WorkflowRecord toRecord() {
    return recordBuilder().build();
  }

  private synchronized WorkflowRecord.Builder recordBuilder() {
    WorkflowRecord.Builder b = WorkflowRecord.newBuilder()
        .setWorkflowId(workflowId)
        .setType(type)
        .setVersion(version)
        .setInput(input)
        .setStatus(status)
        .setOwnerNode(ownerNode)
        .setStartedAtMillis(startedAtMillis)
        .setEndedAtMillis(endedAtMillis)
        .setCheckpointCount(checkpointCount)
        .setResult(result)
        .setTerminationReason(terminationReason)
        .setHistoryKeptLastPerKey(historyKeptLastPerKey)
        .setTraceParent(traceParent);
    if (error != null) {
      b.setError(error);
    }
    return b;
  }

  // --- mutations, called only by WorkflowState.apply ---

  synchronized long nextSeq(String key) {
    KeyValues values = keys.get(key);
    return values == null ? 0 : values.count;
  }

  synchronized void appendCheckpoint(String key, ByteString value) {
    KeyValues values = keys.computeIfAbsent(key, k -> new KeyValues());
    valueFingerprint += valueHash(key, values.count, value);
    values.latest = value;
    values.count++;
    checkpointCount++;
  }

  /** The keys of the workflow with how many values each has committed (while it runs). */
  synchronized Map<String, Long> keyCounts() {
    Map<String, Long> counts = new HashMap<>();
    keys.forEach((k, v) -> counts.put(k, v.count));
    return counts;
  }

  /** Records that the workflow's history keeps only the last {@code n} values per key. */
  synchronized void historyKept(long n) {
    historyKeptLastPerKey = n;
  }

  // CRC32C (a CPU instruction) of the value, with its key, seq and length: what replicas compare.
  private static long valueHash(String key, long seq, ByteString value) {
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(value.asReadOnlyByteBuffer());
    long h = key.hashCode();
    h = h * 0x9E3779B97F4A7C15L + seq;
    h = h * 0x9E3779B97F4A7C15L + ((crc.getValue() << 32) | value.size());
    return mix(h);
  }

  // splitmix64's finalizer: spreads every input bit before the sum.
  private static long mix(long h) {
    h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
    h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
    return h ^ (h >>> 31);
  }

  /** How many checkpoints of the workflow were committed so far, any key: the next one's commit ordinal. */
  synchronized long checkpointCount() {
    return checkpointCount;
  }

  /** Counts the info of checkpoint (key, seq) into the digest while the workflow runs. */
  synchronized void addInfo(String key, long seq, io.raftoral.storage.CheckpointInfo info) {
    if (status != WorkflowStatusCode.RUNNING || info.isUnknown()) {
      return; // an ended workflow's digest stands on its record, as for its values
    }
    long h = key.hashCode();
    h = h * 0x9E3779B97F4A7C15L + seq;
    h = h * 0x9E3779B97F4A7C15L + info.committedAtMillis();
    h = h * 0x9E3779B97F4A7C15L + info.ownerNode();
    h = h * 0x9E3779B97F4A7C15L + info.ownerTerm();
    h = h * 0x9E3779B97F4A7C15L + info.commitOrdinal();
    infoFingerprint += mix(h);
  }

  /**
   * Drops what memory holds of an ended workflow's checkpoints (its latest values), once no local
   * run reads them (one that is behind reads the store). No effect on a running workflow.
   */
  public synchronized void releaseValues() {
    if (status != WorkflowStatusCode.RUNNING) {
      keys.clear();
    }
  }

  /** The checkpoint values held in memory: at most one per key. */
  synchronized long valuesInMemory() {
    return keys.values().stream().filter(v -> v.latest != null).count();
  }

  /** Counts a stored checkpoint of an ended workflow without keeping its value (unless its record gave the count). */
  synchronized void countStoredCheckpoint() {
    if (!countFromRecord) {
      checkpointCount++;
    }
  }

  synchronized void setOwner(long node) {
    ownerNode = node;
  }

  synchronized void complete(ByteString value, long atMillis) {
    status = WorkflowStatusCode.COMPLETED;
    result = value;
    endedAtMillis = atMillis;
  }

  synchronized void fail(WorkflowError err, long atMillis) {
    status = WorkflowStatusCode.FAILED;
    error = err;
    endedAtMillis = atMillis;
  }

  synchronized void terminate(String reason, long atMillis) {
    status = WorkflowStatusCode.TERMINATED;
    terminationReason = reason;
    endedAtMillis = atMillis;
  }
}
