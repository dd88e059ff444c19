package io.raftoral.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.File;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/**
 * {@code --js} (seq10 with its steps in JavaScript, bench/js/seq10.mjs) and {@code --truffle}: which
 * combinations the load generator accepts, how a node JVM's options are built for each Truffle
 * runtime, and short closed loops of seq10-js (results checked: n + 55) on an embedded node and on a
 * node process. Outcome only, not a speed test.
 */
class JsSeq10Test {
  private static LoadGenerator parsed(String... args) {
    LoadGenerator generator = new LoadGenerator();
    new CommandLine(generator).parseArgs(args);
    return generator;
  }

  @Test
  void jsIsForSeq10WithoutWorkersAndOptimizingForNodeProcesses() {
    parsed("--js", "--mode", "embedded,processes").checkJs();
    parsed("--js", "--truffle", "optimizing", "--mode", "processes").checkJs();
    parsed("--js", "--truffle", "INTERPRETER", "--mode", "embedded").checkJs();
    parsed("--mode", "processes").checkJs(); // no --js: nothing to check
    assertThatThrownBy(() -> parsed("--js", "--workload", "fanin").checkJs())
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--workload seq10");
    assertThatThrownBy(() -> parsed("--js", "--workers", "go", "--mode", "processes").checkJs())
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("without --workers");
    assertThatThrownBy(() -> parsed("--truffle", "optimizing", "--mode", "processes").checkJs())
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("is for --js");
    assertThatThrownBy(() -> parsed("--js", "--truffle", "optimizing", "--mode", "embedded,processes").checkJs())
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("only with --mode processes");
    assertThatThrownBy(() -> parsed("--js", "--truffle", "jit", "--mode", "processes").checkJs())
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--truffle jit: expected interpreter or optimizing");
  }

  @Test
  void optimizingPutsTheGraalJarsOnTheModulePathAndTheCompilerOnTheUpgradeModulePath() {
    String m2 = "/m2/org/graalvm/";
    String cp = String.join(File.pathSeparator, "/b/classes", m2 + "polyglot/polyglot/25.0.3/polyglot-25.0.3.jar",
        m2 + "polyglot/js-community/25.0.3/js-community-25.0.3.pom", m2 + "truffle/truffle-api/25.0.3/truffle-api-25.0.3.jar",
        m2 + "compiler/compiler/25.0.3/compiler-25.0.3.jar", "/m2/info/picocli/picocli-4.7.7.jar");

    List<String> optimizing = JsSeq10.jvmOptions(JsSeq10.Truffle.OPTIMIZING, cp);
    assertThat(optimizing).contains("-XX:+UnlockExperimentalVMOptions", "-XX:+EnableJVMCI", "--add-modules=org.graalvm.polyglot",
        "--enable-native-access=ALL-UNNAMED,org.graalvm.truffle",
        "--upgrade-module-path=" + m2 + "compiler/compiler/25.0.3/compiler-25.0.3.jar",
        "--module-path=" + m2 + "polyglot/polyglot/25.0.3/polyglot-25.0.3.jar" + File.pathSeparator
            + m2 + "truffle/truffle-api/25.0.3/truffle-api-25.0.3.jar");
    assertThat(optimizing.subList(optimizing.size() - 2, optimizing.size())).containsExactly("-cp", String.join(File.pathSeparator,
        "/b/classes", m2 + "polyglot/js-community/25.0.3/js-community-25.0.3.pom", "/m2/info/picocli/picocli-4.7.7.jar"));

    // The interpreter: a stock JVM, everything but the compiler on the class path.
    assertThat(JsSeq10.jvmOptions(JsSeq10.Truffle.INTERPRETER, cp)).containsExactly("-cp", String.join(File.pathSeparator,
        "/b/classes", m2 + "polyglot/polyglot/25.0.3/polyglot-25.0.3.jar", m2 + "polyglot/js-community/25.0.3/js-community-25.0.3.pom",
        m2 + "truffle/truffle-api/25.0.3/truffle-api-25.0.3.jar", "/m2/info/picocli/picocli-4.7.7.jar"));

    assertThatThrownBy(() -> JsSeq10.jvmOptions(JsSeq10.Truffle.OPTIMIZING, "/b/classes"))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("org.graalvm.compiler:compiler");
  }

  @Test
  void theRuntimeIsRecognizedByTheEngineImplementationName() {
    assertThat(JsSeq10.Truffle.INTERPRETER.matches("Interpreted")).isTrue();
    assertThat(JsSeq10.Truffle.INTERPRETER.matches("GraalVM CE")).isFalse();
    assertThat(JsSeq10.Truffle.OPTIMIZING.matches("GraalVM CE")).isTrue();
    assertThat(JsSeq10.Truffle.OPTIMIZING.matches("Interpreted")).isFalse();
  }

  @Test
  @Timeout(120)
  void closedLoopOfSeq10JsOnAnEmbeddedNodeCompletesWithCheckedResults() throws Exception {
    LoadGenerator generator = parsed("--js");
    generator.warmup = 1;
    generator.seconds = 2;
    Report row = generator.closedLoop("embedded", 1, 2);
    assertThat(row.errors()).isZero();
    assertThat(row.completed()).isPositive();
    assertThat(row.markdown()).startsWith("| seq10 | 1 | embedded+js | 2 |");
  }

  @Test
  @Timeout(120)
  void closedLoopOfSeq10JsOnANodeProcessCompletesWithCheckedResults() throws Exception {
    LoadGenerator generator = parsed("--js", "--mode", "processes");
    generator.warmup = 1;
    generator.seconds = 2;
    Report row = generator.closedLoop("processes", 1, 2);
    assertThat(row.errors()).isZero();
    assertThat(row.completed()).isPositive();
    assertThat(row.markdown()).startsWith("| seq10 | 1 | processes+js-interpreter | 2 |");
  }
}
