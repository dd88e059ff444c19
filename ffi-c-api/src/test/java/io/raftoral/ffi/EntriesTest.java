package io.raftoral.ffi;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The FFM descriptors are written by hand, so this test reads the C side of the table
 * (jtable.h) and checks that both sides list the same entries, in the same order, with the same
 * parameter layouts; and that each entry has its implementing method in Abi.
 */
class EntriesTest {
  private static final Pattern ENTRY = Pattern.compile("X\\((\\w+),\\s*\\(([^)]*)\\)\\)");

  @Test
  void theJavaTableMatchesJtableH() throws Exception {
    String header = Files.readString(Path.of("src/main/c/jtable.h")).replace("\\\n", " ");
    List<Entries.Entry> fromHeader = new ArrayList<>();
    Matcher m = ENTRY.matcher(header);
    while (m.find()) {
      List<MemoryLayout> params = new ArrayList<>();
      for (String param : m.group(2).split(",")) {
        params.add(layoutOf(param.trim()));
      }
      fromHeader.add(new Entries.Entry(m.group(1), FunctionDescriptor.of(JAVA_INT, params.toArray(MemoryLayout[]::new))));
    }

    assertThat(fromHeader).hasSizeGreaterThan(10);
    assertThat(Entries.ALL).containsExactlyElementsOf(fromHeader);
    for (Entries.Entry e : Entries.ALL) {
      assertThat(e.handle().type()).as(e.name()).isEqualTo(e.descriptor().toMethodType());
    }
  }

  @Test
  void cNamesMapToCamelCaseMethods() {
    assertThat(new Entries.Entry("ctx_checkpoint_compute", FunctionDescriptor.of(JAVA_INT)).javaName())
        .isEqualTo("ctxCheckpointCompute");
  }

  /** The C parameter declaration's layout: pointers are addresses; the integer types by width. */
  private static MemoryLayout layoutOf(String declaration) {
    if (declaration.contains("*")) {
      return ADDRESS;
    }
    String type = declaration.substring(0, declaration.lastIndexOf(' ')).replace("const ", "").trim();
    return switch (type) {
      case "uint64_t", "int64_t", "size_t" -> JAVA_LONG;
      case "uint32_t", "int32_t", "raftoral_status_t", "raftoral_execution_mode_t" -> JAVA_INT;
      default -> throw new AssertionError("no layout for C type '" + type + "' in: " + declaration);
    };
  }
}
