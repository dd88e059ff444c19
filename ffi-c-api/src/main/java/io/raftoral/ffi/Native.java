package io.raftoral.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.raftoral.common.ErrorCode;
import io.raftoral.common.Errors;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reading arguments from C and writing results back, with every check the C caller cannot be
 * trusted to have made: NULL, strict UTF-8, sizes, and buffers it owns afterwards.
 */
final class Native {
  static final Linker LINKER = Linker.nativeLinker();

  /** sizeof(raftoral_buf_t): {uint8_t *data; size_t len}. */
  static final long BUF_SIZE = 16;

  // The limit of a string argument, NUL included (raftoral.h, "Limits"): a longer one is refused
  // rather than read on and on, since C does not say how long its memory is.
  static final long MAX_STRING_BYTES = 1 << 20;

  private static MethodHandle alloc;
  private static MethodHandle errorNew;

  private Native() {}

  /** Binds the services C offers (raftoral_services_t: alloc, error_new). */
  static void bindServices(long servicesAddress) {
    MemorySegment services = MemorySegment.ofAddress(servicesAddress).reinterpret(2 * ADDRESS.byteSize());
    alloc = LINKER.downcallHandle(services.get(ADDRESS, 0), FunctionDescriptor.of(ADDRESS, JAVA_LONG));
    errorNew = LINKER.downcallHandle(services.get(ADDRESS, ADDRESS.byteSize()),
        FunctionDescriptor.of(ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
  }

  /** A NUL-terminated UTF-8 string argument that must be present. */
  static String string(MemorySegment p, String name) {
    String s = optionalString(p, name);
    if (s == null) {
      throw new Errors.InvalidArgumentException(name + " must not be NULL");
    }
    return s;
  }

  /** A NUL-terminated UTF-8 string argument, or null for NULL. */
  static String optionalString(MemorySegment p, String name) {
    if (p.equals(MemorySegment.NULL)) {
      return null;
    }
    MemorySegment s = p.reinterpret(MAX_STRING_BYTES);
    long len = 0;
    while (s.get(JAVA_BYTE, len) != 0) {
      if (++len == MAX_STRING_BYTES) {
        throw new Errors.InvalidArgumentException(name + " is longer than the limit of " + (MAX_STRING_BYTES - 1)
            + " bytes for a string argument (no NUL within its first " + MAX_STRING_BYTES + " bytes)");
      }
    }
    byte[] bytes = s.asSlice(0, len).toArray(JAVA_BYTE);
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw new Errors.InvalidArgumentException(name + " is not valid UTF-8");
    }
  }

  /** A byte array argument given as pointer + length; NULL is allowed only with length 0. */
  static byte[] bytes(MemorySegment p, long len, String name) {
    if (len < 0 || len > Integer.MAX_VALUE - 8) {
      throw new Errors.InvalidArgumentException(name + " length " + Long.toUnsignedString(len) + " is out of range");
    }
    if (len == 0) {
      return new byte[0];
    }
    if (p.equals(MemorySegment.NULL)) {
      throw new Errors.InvalidArgumentException(name + " is NULL but its length is " + len);
    }
    return p.reinterpret(len).toArray(JAVA_BYTE);
  }

  /** An output pointer the caller must provide, sized for what will be written there. */
  static MemorySegment out(MemorySegment p, long size, String name) {
    if (p.equals(MemorySegment.NULL)) {
      throw new Errors.InvalidArgumentException(name + " must not be NULL");
    }
    return p.reinterpret(size);
  }

  /** Hands {@code data} to C as a raftoral_buf_t the caller frees (with a NUL after it, not counted). */
  static void storeBuf(MemorySegment buf, byte[] data) {
    MemorySegment copy = malloc(data.length + 1L);
    MemorySegment.copy(data, 0, copy, JAVA_BYTE, 0, data.length);
    copy.set(JAVA_BYTE, data.length, (byte) 0);
    buf.set(ADDRESS, 0, copy);
    buf.set(JAVA_LONG, ADDRESS.byteSize(), data.length);
  }

  static void storeBuf(MemorySegment buf, String text) {
    storeBuf(buf, text.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Copies {@code text} with a NUL into the caller's buffer of {@code capacity} bytes and stores
   * its length; when it does not fit, stores the needed length and writes nothing.
   */
  static void storeString(MemorySegment buf, long capacity, MemorySegment lenOut, String text) {
    MemorySegment len = out(lenOut, JAVA_LONG.byteSize(), "len_out");
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    if (Long.compareUnsigned(capacity, bytes.length + 1L) < 0) {
      len.set(JAVA_LONG, 0, bytes.length);
      throw new AbiException(ErrorCode.BUFFER_TOO_SMALL, "the buffer holds " + Long.toUnsignedString(capacity)
          + " bytes; " + (bytes.length + 1) + " are needed (" + bytes.length + " + NUL)");
    }
    MemorySegment target = out(buf, bytes.length + 1L, "buf");
    MemorySegment.copy(bytes, 0, target, JAVA_BYTE, 0, bytes.length);
    target.set(JAVA_BYTE, bytes.length, (byte) 0);
    len.set(JAVA_LONG, 0, bytes.length);
  }

  /** Stores a new raftoral_error_t in {@code *errorOut} when the caller asked for one. */
  static void storeError(MemorySegment errorOut, Status.Failure failure) {
    if (errorOut.equals(MemorySegment.NULL)) {
      return;
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment message = arena.allocateFrom(failure.message() == null ? "" : failure.message());
      MemorySegment detail = failure.detail() == null ? MemorySegment.NULL : arena.allocateFrom(failure.detail());
      MemorySegment error = (MemorySegment) errorNew.invokeExact(failure.code().number(), message, detail);
      errorOut.reinterpret(ADDRESS.byteSize()).set(ADDRESS, 0, error);
    } catch (Throwable t) {
      // Nothing sensible is left to report to; the status code still tells the caller.
    }
  }

  private static MemorySegment malloc(long size) {
    MemorySegment p;
    try {
      p = (MemorySegment) alloc.invokeExact(size);
    } catch (Throwable t) {
      throw new IllegalStateException("alloc failed", t);
    }
    if (p.equals(MemorySegment.NULL)) {
      throw new OutOfMemoryError("malloc(" + size + ") failed");
    }
    return p.reinterpret(size);
  }
}
