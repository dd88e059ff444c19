package io.raftoral.storage;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The key layout of an execution group's RocksDB. One byte of kind first, so one ordered scan
 * reads the applied position, then the owner, then every workflow, then every checkpoint
 * (grouped by workflow, key and ascending seq), which is the order loading needs. Each
 * checkpoint's {@link CheckpointInfo} is a key of its own kind with the same suffix, so stores
 * written before it existed read as they are (their checkpoints have no info). Each checkpoint
 * with info also has a {@link #COMMIT_ORDER} key, (workflow, ordinal) to its (key, seq), so the
 * all-keys history reads a page in commit order without sorting the workflow.
 */
final class StateKeys {
  static final byte APPLIED = 1;
  static final byte OWNER = 2;
  static final byte WORKFLOW = 3;
  static final byte CHECKPOINT = 4;
  static final byte PLACEMENT = 5;
  static final byte SEALED = 6;
  static final byte ADOPTION_DONE = 7;
  static final byte CHECKPOINT_INFO = 8;
  static final byte COMMIT_ORDER = 9;

  static final byte[] APPLIED_KEY = {APPLIED};
  static final byte[] OWNER_KEY = {OWNER};
  static final byte[] PLACEMENT_KEY = {PLACEMENT};
  static final byte[] SEALED_KEY = {SEALED};

  private StateKeys() {}

  static byte[] workflow(String workflowId) {
    byte[] id = utf8(workflowId);
    return ByteBuffer.allocate(1 + id.length).put(WORKFLOW).put(id).array();
  }

  /** One key per group whose merge into this one finished copying; the value is empty. */
  static byte[] adoptionDone(String fromGroup) {
    byte[] id = utf8(fromGroup);
    return ByteBuffer.allocate(1 + id.length).put(ADOPTION_DONE).put(id).array();
  }

  static String adoptionDoneGroup(byte[] raw) {
    return new String(raw, 1, raw.length - 1, StandardCharsets.UTF_8);
  }

  /** Length-prefixed parts, so no workflow id or key can be read as another's prefix. */
  static byte[] checkpoint(String workflowId, String key, long seq) {
    return checkpointKey(CHECKPOINT, workflowId, key, seq);
  }

  /** Where the {@link CheckpointInfo} of (workflowId, key, seq) is stored. */
  static byte[] checkpointInfo(String workflowId, String key, long seq) {
    return checkpointKey(CHECKPOINT_INFO, workflowId, key, seq);
  }

  private static byte[] checkpointKey(byte kind, String workflowId, String key, long seq) {
    byte[] id = utf8(workflowId);
    byte[] k = utf8(key);
    return ByteBuffer.allocate(1 + 4 + id.length + 4 + k.length + 8)
        .put(kind).putInt(id.length).put(id).putInt(k.length).put(k).putLong(seq).array();
  }

  /**
   * Where the all-keys history finds the checkpoint of commit ordinal {@code ordinal}: its key
   * and seq ({@link #position}). Ordinals ascend with the key's bytes, so a scan reads commit order.
   */
  static byte[] commitOrder(String workflowId, long ordinal) {
    byte[] id = utf8(workflowId);
    return ByteBuffer.allocate(1 + 4 + id.length + 8).put(COMMIT_ORDER).putInt(id.length).put(id).putLong(ordinal).array();
  }

  static long commitOrdinal(byte[] raw) {
    return ByteBuffer.wrap(raw, raw.length - 8, 8).getLong();
  }

  /** As {@link #checkpointRange} for the commit-order index. */
  static byte[][] commitOrderRange(String workflowId) {
    return range(COMMIT_ORDER, workflowId);
  }

  /** The value of a commit-order key: the checkpoint's key and seq. */
  static byte[] position(String key, long seq) {
    byte[] k = utf8(key);
    return ByteBuffer.allocate(4 + k.length + 8).putInt(k.length).put(k).putLong(seq).array();
  }

  /** A decoded {@link #position}. */
  record Position(String key, long seq) {}

  static Position parsePosition(byte[] raw) {
    ByteBuffer b = ByteBuffer.wrap(raw);
    String key = string(b, b.getInt());
    return new Position(key, b.getLong());
  }

  /** The first key of the workflow's checkpoints and the first key after them. */
  static byte[][] checkpointRange(String workflowId) {
    return range(CHECKPOINT, workflowId);
  }

  /** As {@link #checkpointRange} for the checkpoints' infos. */
  static byte[][] checkpointInfoRange(String workflowId) {
    return range(CHECKPOINT_INFO, workflowId);
  }

  /** The first key of one key's checkpoints (seq 0) and the first key after them. */
  static byte[][] keyRange(String workflowId, String key) {
    byte[] id = utf8(workflowId);
    byte[] k = utf8(key);
    return prefixRange(ByteBuffer.allocate(1 + 4 + id.length + 4 + k.length)
        .put(CHECKPOINT).putInt(id.length).put(id).putInt(k.length).put(k).array());
  }

  private static byte[][] range(byte kind, String workflowId) {
    byte[] id = utf8(workflowId);
    return prefixRange(ByteBuffer.allocate(1 + 4 + id.length).put(kind).putInt(id.length).put(id).array());
  }

  private static byte[][] prefixRange(byte[] from) {
    byte[] to = from.clone();
    // Every key with this prefix starts with `from`; incrementing its last byte (with carry) bounds them.
    for (int i = to.length - 1; i >= 0; i--) {
      if (++to[i] != 0) {
        break;
      }
    }
    return new byte[][] {from, to};
  }

  /** A decoded checkpoint key. */
  record Checkpoint(String workflowId, String key, long seq) {}

  static Checkpoint parseCheckpoint(byte[] raw) {
    ByteBuffer b = ByteBuffer.wrap(raw);
    b.get();
    String id = string(b, b.getInt());
    String key = string(b, b.getInt());
    return new Checkpoint(id, key, b.getLong());
  }

  static byte[] info(CheckpointInfo info) {
    return ByteBuffer.allocate(32).putLong(info.committedAtMillis()).putLong(info.ownerNode()).putLong(info.ownerTerm())
        .putLong(info.commitOrdinal()).array();
  }

  static CheckpointInfo parseInfo(byte[] raw) {
    ByteBuffer b = ByteBuffer.wrap(raw);
    return new CheckpointInfo(b.getLong(), b.getLong(), b.getLong(), b.getLong());
  }

  static String workflowId(byte[] raw) {
    return new String(raw, 1, raw.length - 1, StandardCharsets.UTF_8);
  }

  static byte[] longs(long a, long b) {
    return ByteBuffer.allocate(16).putLong(a).putLong(b).array();
  }

  private static String string(ByteBuffer b, int length) {
    byte[] bytes = new byte[length];
    b.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
