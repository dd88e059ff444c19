package io.raftoral.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.util.List;

/**
 * The entries of {@code src/main/c/jtable.h}, in its order, with their FFM descriptors written
 * by hand (no jextract here). C types map as: pointers → ADDRESS; uint64_t, int64_t, size_t →
 * JAVA_LONG; uint32_t, int32_t → JAVA_INT. Every entry returns a status (JAVA_INT). EntriesTest
 * checks this list against the header.
 */
final class Entries {
  record Entry(String name, FunctionDescriptor descriptor) {
    /** The implementing method in {@link Abi}: the C name in camel case. */
    String javaName() {
      StringBuilder b = new StringBuilder();
      boolean upper = false;
      for (char c : name.toCharArray()) {
        if (c == '_') {
          upper = true;
        } else {
          b.append(upper ? Character.toUpperCase(c) : c);
          upper = false;
        }
      }
      return b.toString();
    }

    MethodHandle handle() throws ReflectiveOperationException {
      return MethodHandles.lookup().findStatic(Abi.class, javaName(), descriptor.toMethodType());
    }
  }

  static final List<Entry> ALL = List.of(
      entry("shutdown", ADDRESS),
      entry("node_create", ADDRESS, ADDRESS, ADDRESS),
      entry("node_register_workflow", JAVA_LONG, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS),
      entry("node_start", JAVA_LONG, ADDRESS),
      entry("node_id", JAVA_LONG, ADDRESS, ADDRESS),
      entry("node_api_address", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS),
      entry("node_http_address", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS),
      entry("node_close", JAVA_LONG, ADDRESS),
      entry("workflow_start", JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS),
      entry("workflow_await", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS),
      entry("workflow_describe", JAVA_LONG, ADDRESS, ADDRESS, ADDRESS),
      entry("workflow_list", JAVA_LONG, ADDRESS, ADDRESS, ADDRESS),
      entry("workflow_history", JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS),
      entry("workflow_terminate", JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS),
      entry("ctx_checkpoint", JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS),
      entry("ctx_checkpoint_compute", JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS),
      entry("ctx_is_terminated", JAVA_LONG, ADDRESS, ADDRESS),
      entry("ctx_is_owner", JAVA_LONG, ADDRESS, ADDRESS),
      entry("ctx_workflow_id", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS),
      entry("output_set", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS),
      entry("output_fail", JAVA_LONG, ADDRESS, ADDRESS, ADDRESS));

  private Entries() {}

  private static Entry entry(String name, MemoryLayout... params) {
    return new Entry(name, FunctionDescriptor.of(JAVA_INT, params));
  }
}
