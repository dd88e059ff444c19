package io.raftoral.ffi;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.common.ErrorCode;
import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.common.WorkflowType;
import io.raftoral.workflow.ForeignException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Every table of error codes outside Java agrees with {@link ErrorCode}, the one list: the C
 * status enum of raftoral.h, the proto enum of client_api.proto, the Python constants and
 * exception classes, the Go constants, names and sentinels, and the canonical names of the
 * conformance interpreters. Each is read from its source file, so a number or name changed in
 * one place, or a code added to the enum alone, fails here, naming the table.
 */
class ErrorCodeTablesTest {
  /** The repository root: this module's parent. */
  private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

  /** name → number, as the enum has them. */
  private static Map<String, Integer> expected() {
    Map<String, Integer> codes = new TreeMap<>();
    for (ErrorCode c : ErrorCode.values()) {
      codes.put(c.name(), c.number());
    }
    return codes;
  }

  @Test
  void theEnumNumbersItsCodesOneToNWithoutGaps() {
    List<Integer> numbers = Arrays.stream(ErrorCode.values()).map(ErrorCode::number).sorted().toList();
    assertThat(numbers).isEqualTo(java.util.stream.IntStream.rangeClosed(1, ErrorCode.values().length).boxed().toList());
    for (ErrorCode c : ErrorCode.values()) {
      assertThat(ErrorCode.ofNumber(c.number())).isSameAs(c);
    }
    assertThat(ErrorCode.ofNumber(0)).isNull();
    assertThat(ErrorCode.ofNumber(ErrorCode.values().length + 1)).isNull();
  }

  @Test
  void theCHeaderListsEveryCodeWithItsNumber() throws IOException {
    String header = read("ffi-c-api/include/raftoral.h");
    String body = between(header, "enum raftoral_status_enum {", "};");
    Map<String, Integer> found = pairs(body, "RAFTORAL_ERR_(\\w+) = (\\d+)");
    assertThat(found).as("raftoral_status_enum of raftoral.h").isEqualTo(expected());
    assertThat(body).contains("RAFTORAL_OK = 0,");
  }

  @Test
  void theProtoEnumListsEveryCodeWithItsNumber() {
    Map<String, Integer> found = new TreeMap<>();
    for (io.raftoral.proto.client.ErrorCode c : io.raftoral.proto.client.ErrorCode.values()) {
      if (c != io.raftoral.proto.client.ErrorCode.UNRECOGNIZED && c.getNumber() != 0) {
        assertThat(c.name()).startsWith("ERR_");
        found.put(c.name().substring("ERR_".length()), c.getNumber());
      }
    }
    assertThat(found).as("ErrorCode of client_api.proto").isEqualTo(expected());
  }

  @Test
  void pythonHasAConstantAndAnExceptionClassForEveryCode() throws IOException {
    String nativePy = read("bindings-python/raftoral/_native.py");
    assertThat(pairs(nativePy, "(?m)^ERR_(\\w+) = (\\d+)$")).as("ERR_* of _native.py").isEqualTo(expected());

    String errorsPy = read("bindings-python/raftoral/_errors.py");
    // class Name(RaftoralError, ...): ... code = _native.ERR_X (the first code line of the class body)
    Matcher m = Pattern.compile("(?m)^class (\\w+)\\(RaftoralError[^)]*\\):\\n((?:(?!^class ).*\\n)*?)    code = _native\\.ERR_(\\w+)$")
        .matcher(errorsPy);
    Map<String, String> classByCode = new TreeMap<>();
    while (m.find()) {
      assertThat(classByCode.put(m.group(3), m.group(1))).as("a second class for ERR_" + m.group(3)).isNull();
    }
    assertThat(classByCode.keySet()).as("codes with an exception class in _errors.py").isEqualTo(expected().keySet());

    String byCode = between(errorsPy, "_BY_CODE: dict[int, type[RaftoralError]] = {", "}");
    String errorFrom = between(errorsPy, "def error_from(", "\ndef ");
    String initPy = read("bindings-python/raftoral/__init__.py");
    for (var e : classByCode.entrySet()) {
      String cls = e.getValue();
      // Reachable from a code: in the table, or built by error_from itself (it needs the detail).
      assertThat(Pattern.compile("\\b" + cls + ",").matcher(byCode).find()
          || errorFrom.contains("_native.ERR_" + e.getKey() + ":"))
          .as("%s (ERR_%s) is in _BY_CODE or built by error_from", cls, e.getKey()).isTrue();
      assertThat(errorsPy).as("__all__ of _errors.py").contains("\"" + cls + "\",");
      assertThat(initPy).as("raftoral/__init__.py exports " + cls).contains("\"" + cls + "\",").contains("    " + cls + ",\n");
    }
  }

  @Test
  void goHasAConstantANameAndASentinelForEveryCode() throws IOException {
    // The names are in the table both Go packages share; each package's constants and sentinels
    // are in its error.go.
    Map<Integer, String> names = new TreeMap<>();
    Matcher t = Pattern.compile("(\\d+):\\s*\\{\"(\\w+)\"")
        .matcher(between(read("bindings-go/internal/codes/codes.go"), "var table = [...]entry{", "\n}"));
    while (t.find()) {
      assertThat(names.put(Integer.parseInt(t.group(1)), t.group(2))).as("listed twice: " + t.group(1)).isNull();
    }
    for (String file : List.of("bindings-go/error.go", "bindings-go/worker/error.go")) {
      String go = read(file);
      Map<String, Integer> constants = pairs(between(go, "const (", ")"), "(Code\\w+)\\s+Code = (\\d+)");
      Map<String, String> sentinels = new LinkedHashMap<>();
      Matcher s = Pattern.compile("\\n\\t(Err\\w+)\\s+= sentinels\\[(Code\\w+)\\]").matcher(go);
      while (s.find()) {
        sentinels.put(s.group(2), s.group(1));
      }
      Map<String, Integer> found = new TreeMap<>();
      constants.forEach((constant, number) -> {
        if (number != 0) {
          found.put(names.get(number), number);
          assertThat(sentinels).as(file + ": the sentinel of " + constant).containsKey(constant);
        }
      });
      assertThat(found).as("the Code constants of " + file + ", by their names").isEqualTo(expected());
      assertThat(sentinels.values()).as(file + ": one sentinel per code").doesNotHaveDuplicates();
    }
    assertThat(names.values()).as("the names of internal/codes").containsExactlyInAnyOrderElementsOf(expected().keySet());
  }

  @Test
  void theConformanceInterpretersNameEveryCodeByItsNumber() throws IOException {
    List<String> byNumber = Arrays.stream(ErrorCode.values()).sorted(java.util.Comparator.comparingInt(ErrorCode::number))
        .map(ErrorCode::name).collect(Collectors.toCollection(java.util.ArrayList::new));
    byNumber.addFirst("OK");
    assertThat(quoted(between(read("conformance/c/interp.c"), "static const char *const CODES[] = {", "};")))
        .as("CODES of conformance/c/interp.c").isEqualTo(byNumber);
    assertThat(quoted(between(read("conformance/python/conformance_interp.py"), "\nCODES = [", "]")))
        .as("CODES of conformance/python/conformance_interp.py").isEqualTo(byNumber);
  }

  @Test
  void theJavaEntriesReturnTheCodeOfTheError() {
    List<RaftoralException> errors = List.of(new Errors.NotRegisteredException(new WorkflowType("t", 1)),
        new Errors.AlreadyRegisteredException(new WorkflowType("t", 1)), new Errors.AlreadyExistsException("w"),
        new Errors.WorkflowNotFoundException("w"), new Errors.WorkflowFailedException("w", "E", "m"),
        new Errors.WorkflowTerminatedException("w", "r"), new Errors.TimeoutException("t"),
        new Errors.InvalidArgumentException("i"), new Errors.PayloadTooLargeException("input", 2, 1),
        new Errors.CodecException("c", null), new Errors.NodeClosedException("n"), new Errors.NodeRemovedException("n"),
        new Errors.UnavailableException("u", null), new Errors.UnauthenticatedException("a"),
        new Errors.PermissionDeniedException("p"), new RaftoralException("r"));
    for (RaftoralException e : errors) {
      assertThat(Status.of(e).code()).as(e.getClass().getSimpleName()).isEqualTo(e.code());
    }
    assertThat(Status.of(new Errors.WorkflowFailedException("w", "ValueError", "m")))
        .isEqualTo(new Status.Failure(ErrorCode.WORKFLOW_FAILED, "m", "ValueError"));
    assertThat(Status.of(new ForeignException("ValueError", "bad")).code()).isEqualTo(ErrorCode.CALLBACK_FAILED);
    assertThat(Status.of(new AbiException(ErrorCode.INVALID_HANDLE, "h")).code()).isEqualTo(ErrorCode.INVALID_HANDLE);
    assertThat(Status.of(new IllegalStateException("x")).code()).isEqualTo(ErrorCode.INTERNAL);
  }

  private static String read(String path) throws IOException {
    return Files.readString(ROOT.resolve(path));
  }

  private static String between(String text, String start, String end) {
    int from = text.indexOf(start);
    assertThat(from).as("'" + start + "' is in the file").isNotNegative();
    int to = text.indexOf(end, from + start.length());
    return to < 0 ? text.substring(from + start.length()) : text.substring(from + start.length(), to);
  }

  private static Map<String, Integer> pairs(String text, String regex) {
    Map<String, Integer> found = new TreeMap<>();
    Matcher m = Pattern.compile(regex).matcher(text);
    while (m.find()) {
      assertThat(found.put(m.group(1), Integer.parseInt(m.group(2)))).as("listed twice: " + m.group(1)).isNull();
    }
    return found;
  }

  private static List<String> quoted(String text) {
    return Pattern.compile("\"(\\w+)\"").matcher(text).results().map(r -> r.group(1)).toList();
  }
}
