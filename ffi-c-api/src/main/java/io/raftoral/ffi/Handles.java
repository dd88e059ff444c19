package io.raftoral.ffi;

import io.raftoral.common.ErrorCode;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The objects C holds opaque handles to. A handle is a number, never an address: its top byte
 * names its kind and the rest is never reused, so a closed, forged or wrong-kind handle is
 * recognised and refused instead of being dereferenced.
 */
final class Handles {
  enum Kind {
    NODE(1, "node"),
    CTX(2, "ctx"),
    OUTPUT(3, "output");

    final long tag;
    final String label;

    Kind(long tag, String label) {
      this.tag = tag << 56;
      this.label = label;
    }
  }

  private static final long TAG_MASK = 0xFFL << 56;
  private static final ConcurrentHashMap<Long, Object> LIVE = new ConcurrentHashMap<>();
  private static final AtomicLong NEXT = new AtomicLong();

  private Handles() {}

  static long add(Kind kind, Object target) {
    long handle = kind.tag | NEXT.incrementAndGet();
    LIVE.put(handle, target);
    return handle;
  }

  static <T> T get(long handle, Kind kind, Class<T> type) {
    if (handle == 0) {
      throw new AbiException(ErrorCode.INVALID_HANDLE, kind.label + " handle is NULL");
    }
    if ((handle & TAG_MASK) != kind.tag) {
      throw new AbiException(ErrorCode.INVALID_HANDLE, "0x" + Long.toHexString(handle) + " is not a " + kind.label + " handle");
    }
    Object target = LIVE.get(handle);
    if (target == null) {
      throw new AbiException(ErrorCode.INVALID_HANDLE, kind.label + " handle 0x" + Long.toHexString(handle)
          + " is no longer valid (closed, or used after its callback returned)");
    }
    return type.cast(target);
  }

  static void remove(long handle) {
    LIVE.remove(handle);
  }

  static <T> List<T> all(Kind kind, Class<T> type) {
    return LIVE.entrySet().stream()
        .filter(e -> (e.getKey() & TAG_MASK) == kind.tag)
        .map(e -> type.cast(e.getValue()))
        .toList();
  }
}
