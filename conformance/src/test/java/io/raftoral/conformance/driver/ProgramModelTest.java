package io.raftoral.conformance.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The expected result of {@code result_of_program}: what it accepts and what it refuses. */
class ProgramModelTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode json(String text) throws IOException {
    return JSON.readTree(text);
  }

  private static final String BRANCHES = """
      [{"op": "var", "key": "n", "initial": 0},
       {"op": "parallel", "branches": [
         [{"op": "loop", "times": 2, "body": [{"op": "checkpoint", "key": "a-{i}", "value": {"$": "i"}},
                                              {"op": "var_add", "key": "n", "delta": 1}]}],
         [{"op": "loop", "times": 3, "body": [{"op": "compute", "key": "b", "value": {"$": "i"}},
                                              {"op": "var_add", "key": "n", "delta": 1}]}]]},
       {"op": "checkpoint", "key": "done", "value": {"$": "i"}}]
      """;

  @Test
  void branchesRunInTurnAndAKeyOfSeveralThreadsComparesInAnyOrder() throws IOException {
    ProgramModel m = ProgramModel.of(json(BRANCHES));
    assertThat(m.writes()).isEqualTo(1 + 2 + 2 + 3 + 3 + 1);
    // The threads met otherwise than in the model: n's values in another order, keys in another order.
    assertThat(m.difference(1, json("""
        {"version": 1, "values": {"b": [0, 1, 2], "n": [0, 1, 3, 2, 5, 4], "a-1": [1], "a-0": [0], "done": [0]},
         "vars": {"n": 5.0}}
        """))).isNull();
  }

  @Test
  void aLostADuplicatedOrAReorderedWriteIsADifference() throws IOException {
    ProgramModel m = ProgramModel.of(json(BRANCHES));
    String vars = "\"vars\": {\"n\": 5}";
    assertThat(m.difference(1, json("{\"version\": 1, \"values\": {\"b\": [0, 2, 1], \"n\": [0, 1, 2, 3, 4, 5], "
        + "\"a-0\": [0], \"a-1\": [1], \"done\": [0]}, " + vars + "}"))).contains("values of 'b'");
    assertThat(m.difference(1, json("{\"version\": 1, \"values\": {\"b\": [0, 1, 2], \"n\": [0, 1, 2, 3, 3, 5], "
        + "\"a-0\": [0], \"a-1\": [1], \"done\": [0]}, " + vars + "}")))
        .contains("values of 'n' (any order)").contains("missing 1 [4], unexpected 1 [3]");
    assertThat(m.difference(1, json("{\"version\": 1, \"values\": {\"b\": [0, 1, 2], \"n\": [0, 1, 2, 3, 4, 5], "
        + "\"a-0\": [0], \"done\": [0]}, " + vars + "}"))).contains("missing [a-1]");
    assertThat(m.difference(1, json("{\"version\": 1, \"values\": {\"b\": [0, 1, 2], \"n\": [0, 1, 2, 3, 4, 5], "
        + "\"a-0\": [0], \"a-1\": [1], \"done\": [0]}, \"vars\": {\"n\": 4}}"))).contains("vars");
    assertThat(m.difference(2, json("{\"version\": 1, \"values\": {}}"))).contains("version");
  }

  @Test
  void aProgramWhoseResultTheProgramDoesNotDetermineIsRefused() {
    assertThatThrownBy(() -> ProgramModel.of(json("[{\"op\": \"checkpoint\", \"key\": \"k\", \"value\": {\"$\": \"node\"}}]")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ProgramModel.of(json("[{\"op\": \"fail\", \"message\": \"m\"}]")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ProgramModel.of(json("[{\"op\": \"var_add\", \"key\": \"v\", \"delta\": 1}]")))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aScenarioThatMisusesParallelOrResultOfProgramIsRefused(@TempDir Path dir) throws IOException {
    Path f = dir.resolve("98-bad-parallel.json");
    Files.writeString(f, """
        {"name": "bad-parallel", "spec": "§3", "description": "d",
         "steps": [{"do": "start", "as": "w", "program": [{"op": "parallel", "branches": [{"op": "sleep"}]}]},
                   {"do": "start", "as": "x", "program": [{"op": "parallel", "branches": [[{"op": "fail"}]]}]},
                   {"do": "await", "wf": "x", "expect": {"result_of_program": true}},
                   {"do": "await", "wf": "nobody", "expect": {"result_of_program": true}}]}
        """);
    assertThatThrownBy(() -> Scenario.load(f)).isInstanceOf(IOException.class)
        .hasMessageContaining("step 1: program must be an array")
        .hasMessageContaining("step 3: result_of_program: the result of 'fail' is not determined")
        .hasMessageContaining("step 4: result_of_program needs a workflow started with a program");
  }
}
