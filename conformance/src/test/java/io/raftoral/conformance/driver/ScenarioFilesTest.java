package io.raftoral.conformance.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The corpus itself: every file is a valid scenario, and together they cover what issue 19 asks. */
class ScenarioFilesTest {
  private static final Path DIR = Path.of("scenarios");

  @Test
  void everyScenarioFileIsValid() throws IOException {
    List<Scenario> all = Scenario.loadAll(DIR);
    assertThat(all).hasSizeGreaterThanOrEqualTo(25);
    assertThat(all.stream().map(Scenario::name).distinct()).hasSameSizeAs(all);
  }

  @Test
  void theCorpusCoversSpecSectionsTwoToSevenAndTwelve() throws IOException {
    Set<String> sections = new TreeSet<>();
    Pattern p = Pattern.compile("§(\\d+)");
    for (Scenario s : Scenario.loadAll(DIR)) {
      Matcher m = p.matcher(s.spec());
      while (m.find()) {
        sections.add(m.group(1));
      }
    }
    assertThat(sections).contains("2", "3", "4", "5", "6", "7", "12");
  }

  @Test
  void crashScenariosAreFewAndMarkedDestructive() throws IOException {
    List<Scenario> all = Scenario.loadAll(DIR);
    for (Scenario s : all) {
      boolean kills = s.steps().stream().anyMatch(st -> Scenario.PROCESS_STEPS.contains(st.path("do").asText()));
      assertThat(s.destructive()).as(s.name() + " kills or restarts nodes iff destructive").isEqualTo(kills);
    }
    // Known gaps and scenarios that do not apply stay a short list (issue 19).
    long exceptions = all.stream().mapToLong(s -> s.gaps().size() + s.notApplicable().size()).sum();
    assertThat(exceptions).isLessThanOrEqualTo(6);
  }

  @Test
  void aBrokenScenarioIsRefusedWithItsProblems(@TempDir Path dir) throws IOException {
    Path f = dir.resolve("99-broken.json");
    Files.writeString(f, """
        {"name": "broken", "spec": "§2", "description": "d", "gaps": {"cobol": "no"},
         "steps": [{"do": "explode"}, {"do": "start", "program": [{"op": "jump"}]},
                   {"do": "await", "expect": {"error": "OOPS"}}]}
        """);
    assertThatThrownBy(() -> Scenario.load(f)).isInstanceOf(IOException.class)
        .hasMessageContaining("unknown entry point cobol")
        .hasMessageContaining("unknown step 'explode'")
        .hasMessageContaining("unknown op 'jump'")
        .hasMessageContaining("unknown error code \"OOPS\"")
        .hasMessageContaining("await needs wf");
  }

  @Test
  void errorTypesCompareBySimpleName() {
    assertThat(Runner.simpleType("io.raftoral.conformance.interp.ConformanceError")).isEqualTo("ConformanceError");
    assertThat(Runner.simpleType("*main.ConformanceError")).isEqualTo("ConformanceError");
    assertThat(Runner.simpleType("__main__.ConformanceError")).isEqualTo("ConformanceError");
    assertThat(Runner.simpleType("ConformanceError")).isEqualTo("ConformanceError");
  }
}
