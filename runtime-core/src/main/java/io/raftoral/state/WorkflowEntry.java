package io.raftoral.state;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.ExportedCheckpoint;
import io.raftoral.proto.raft.WorkflowError;
import io.raftoral.proto.raft.WorkflowRecord;
import io.raftoral.proto.raft.WorkflowStatusCode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
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
  private final long startedAtMillis;

  private WorkflowStatusCode status = WorkflowStatusCode.RUNNING;
  private long ownerNode;
  private long endedAtMillis;
  private ByteString result = ByteString.EMPTY;
  private WorkflowError error;
  private String terminationReason = "";
  // Invariant: checkpoints.get(k).get(seq) is the committed value of (workflowId, k, seq), until
  // the runtime releases the values of an ended workflow that no local run still reads
  // (releaseValues): memory then does not grow with finished workflows. The state store keeps
  // them until the workflow is pruned.
  private final Map<String, List<ByteString>> checkpoints = new HashMap<>();
  private long checkpointCount;
  // A sum of one hash per checkpoint info this replica applied or loaded while the workflow ran:
  // order-free, so applying and loading give the same, and the digest covers the infos (kept in
  // the store only) without holding them in memory. 0 when none is known.
  private long infoFingerprint;

  WorkflowEntry(String workflowId, String type, int version, ByteString input, long startedAtMillis, long ownerNode) {
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
   * count) and, while it runs, every checkpoint value, keys in order.
   */
  synchronized void digestInto(java.security.MessageDigest digest) {
    digest.update(toRecord().toByteArray());
    if (status != WorkflowStatusCode.RUNNING) {
      return; // released or not, per replica: the record's checkpoint count stands for them
    }
    new java.util.TreeMap<>(checkpoints).forEach((key, values) -> {
      digest.update(key.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      values.forEach(v -> digest.update(v.asReadOnlyByteBuffer()));
    });
    if (infoFingerprint != 0) {
      // Only when infos are known, so the digests of states without them are as before.
      digest.update(java.nio.ByteBuffer.allocate(8).putLong(infoFingerprint).array());
    }
  }

  /** A stored workflow; its checkpoints are added after ({@code checkpoint_count} is recounted from them). */
  static WorkflowEntry fromRecord(WorkflowRecord r) {
    WorkflowEntry w = new WorkflowEntry(r.getWorkflowId(), r.getType(), r.getVersion(), r.getInput(), r.getStartedAtMillis(), r.getOwnerNode());
    w.setFrom(r);
    return w;
  }

  /** The record to store: everything but the checkpoints, which are stored one by one. */
  public WorkflowRecord toStoredRecord() {
    return recordBuilder().clearCheckpointCount().build();
  }

  private synchronized void setFrom(WorkflowRecord r) {
    status = r.getStatus();
    ownerNode = r.getOwnerNode();
    endedAtMillis = r.getEndedAtMillis();
    result = r.getResult();
    error = r.hasError() ? r.getError() : null;
    terminationReason = r.getTerminationReason();
  }

  /** Takes every mutable value of {@code other}, the same workflow from an installed snapshot. */
  void copyFrom(WorkflowEntry other) {
    WorkflowRecord r = other.toRecord();
    Map<String, List<ByteString>> values;
    long fingerprint;
    synchronized (other) {
      values = new HashMap<>();
      other.checkpoints.forEach((k, v) -> values.put(k, new ArrayList<>(v)));
      fingerprint = other.infoFingerprint;
    }
    synchronized (this) {
      setFrom(r);
      checkpoints.clear();
      checkpoints.putAll(values);
      checkpointCount = r.getCheckpointCount();
      infoFingerprint = fingerprint;
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
   * The committed value at (key, seq), or null when that position is not committed yet or the
   * workflow has ended and its values were released.
   */
  public synchronized ByteString checkpoint(String key, long seq) {
    List<ByteString> values = checkpoints.get(key);
    return values != null && seq < values.size() ? values.get((int) seq) : null;
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
        .setTerminationReason(terminationReason);
    if (error != null) {
      b.setError(error);
    }
    return b;
  }

  /**
   * The checkpoint values held in memory, in (key, seq) order: all of them while the workflow
   * runs (an ended one's may have been released; read those from the store).
   */
  public synchronized List<ExportedCheckpoint> checkpointsInMemory() {
    List<ExportedCheckpoint> out = new ArrayList<>();
    new java.util.TreeMap<>(checkpoints).forEach((key, values) -> {
      for (int seq = 0; seq < values.size(); seq++) {
        out.add(ExportedCheckpoint.newBuilder().setKey(key).setSeq(seq).setValue(values.get(seq)).build());
      }
    });
    return out;
  }

  // --- mutations, called only by WorkflowState.apply ---

  synchronized long nextSeq(String key) {
    List<ByteString> values = checkpoints.get(key);
    return values == null ? 0 : values.size();
  }

  synchronized void appendCheckpoint(String key, ByteString value) {
    checkpoints.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
    checkpointCount++;
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
    // splitmix64's finalizer: spreads every input bit before the sum.
    h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
    h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
    infoFingerprint += h ^ (h >>> 31);
  }

  /**
   * Drops the checkpoint values of an ended workflow from memory, once no local run reads them
   * any more (a run that is behind takes every committed value, also after the end). No effect
   * on a running workflow.
   */
  public synchronized void releaseValues() {
    if (status != WorkflowStatusCode.RUNNING) {
      checkpoints.clear();
    }
  }

  synchronized long valuesInMemory() {
    return checkpoints.values().stream().mapToLong(List::size).sum();
  }

  /** Counts a stored checkpoint of an ended workflow without keeping its value. */
  synchronized void countStoredCheckpoint() {
    checkpointCount++;
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
