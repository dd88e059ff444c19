package io.raftoral.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Where libraftoral.so enters Java: its one JNI call, {@link #bootstrap}, fills the C table of
 * entries with FFM upcall stubs. Everything after that is a plain upcall into {@link Abi}.
 */
public final class NativeBridge {
  private NativeBridge() {}

  /**
   * Fills {@code count} function pointers at {@code table} (the entries of jtable.h, whose names
   * are the C strings at {@code names}) and binds the C services at {@code services}. Throws
   * when the library and these classes disagree on the table, so that they never run mismatched.
   */
  public static void bootstrap(long table, long count, long names, long services) throws ReflectiveOperationException {
    quietLoggingByDefault();
    List<Entries.Entry> entries = Entries.ALL;
    if (count != entries.size()) {
      throw new IllegalStateException("libraftoral.so has " + count + " entries and the Raftoral jars "
          + entries.size() + ": they come from different builds");
    }
    MemorySegment nameArray = MemorySegment.ofAddress(names).reinterpret(count * ADDRESS.byteSize());
    for (int i = 0; i < count; i++) {
      String name = nameArray.getAtIndex(ADDRESS, i).reinterpret(256).getString(0);
      if (!name.equals(entries.get(i).name())) {
        throw new IllegalStateException("entry " + i + " is " + name + " in libraftoral.so and "
            + entries.get(i).name() + " in the Raftoral jars: they come from different builds");
      }
    }
    Native.bindServices(services);
    MemorySegment slots = MemorySegment.ofAddress(table).reinterpret(count * ADDRESS.byteSize());
    for (int i = 0; i < count; i++) {
      Entries.Entry e = entries.get(i);
      slots.setAtIndex(ADDRESS, i, Native.LINKER.upcallStub(e.handle(), e.descriptor(), Arena.global()));
    }
  }

  /** The host's stderr is not ours: Raftoral says what matters (info), its libraries only warnings. */
  private static void quietLoggingByDefault() {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
        System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
    System.setProperty("org.slf4j.simpleLogger.log.io.raftoral",
        System.getProperty("org.slf4j.simpleLogger.log.io.raftoral", "info"));
  }
}
