package io.raftoral.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * seq10 with its steps in JavaScript ({@code bench/run --js}): the module {@code bench/js/seq10.mjs}
 * declares the type {@code seq10-js} v1, the Java seq10's steps ({@link Workloads#SEQ10}) written in
 * JavaScript, run by polyglot-graal inside the nodes. {@link Truffle} says how the node processes'
 * JVMs run it: Truffle's interpreter (a stock JVM with the jars on the class path, as {@code raftoral
 * node} runs) or the optimizing Truffle runtime (JVMCI and the Graal compiler).
 */
final class JsSeq10 {
  static final String TYPE = "seq10-js";

  /** How a node JVM runs the JavaScript. */
  enum Truffle {
    /** Stock JVM, everything on the class path: Truffle's interpreter (C2 still compiles the interpreter itself). */
    INTERPRETER,
    /**
     * The optimizing runtime: the Graal jars on the module path, the compiler
     * ({@code org.graalvm.compiler:compiler}) on the upgrade module path, JVMCI on.
     */
    OPTIMIZING;

    static Truffle parse(String name) {
      for (Truffle t : values()) {
        if (t.name().equalsIgnoreCase(name)) {
          return t;
        }
      }
      throw new IllegalArgumentException("--truffle " + name + ": expected interpreter or optimizing");
    }

    String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** What {@code GraalWorkflows} logs as the engine's implementation with this runtime (its log line ends "NAME runtime)"). */
    boolean matches(String implementationName) {
      return (this == INTERPRETER) == implementationName.equals("Interpreted");
    }
  }

  private JsSeq10() {}

  /** The module: bench/js/seq10.mjs from the repository's root (bench/run) or from bench/ (the module's tests). */
  static Path module() {
    for (Path p : List.of(Path.of("bench", "js", "seq10.mjs"), Path.of("js", "seq10.mjs"))) {
      if (Files.isRegularFile(p)) {
        return p.toAbsolutePath().normalize();
      }
    }
    throw new IllegalStateException("bench/js/seq10.mjs not found from " + Path.of("").toAbsolutePath());
  }

  /** A jar of GraalVM (Truffle, the JS language, the SDK, the compiler), by its path in the Maven repository. */
  static boolean isGraalJar(String entry) {
    return entry.replace('\\', '/').contains("/org/graalvm/") && entry.endsWith(".jar"); // not js-community's pom
  }

  static boolean isCompilerJar(String entry) {
    return entry.replace('\\', '/').contains("/org/graalvm/compiler/compiler/");
  }

  /**
   * The JVM options and class path of a node process that runs JavaScript with {@code truffle},
   * from this JVM's class path {@code classPath}: with {@link Truffle#INTERPRETER} the class path
   * without the compiler jar; with {@link Truffle#OPTIMIZING} the Graal jars move to the module
   * path and the compiler to the upgrade module path (graal-findings: everything Truffle on the
   * module path, else the compiler's module finds no org.graalvm.collections).
   *
   * @return the options, the last two being {@code -cp} and the class path
   */
  static List<String> jvmOptions(Truffle truffle, String classPath) {
    List<String> cp = new ArrayList<>();
    List<String> modules = new ArrayList<>();
    List<String> compiler = new ArrayList<>();
    for (String entry : classPath.split(java.io.File.pathSeparator)) {
      if (entry.isEmpty()) {
        continue;
      }
      if (isCompilerJar(entry)) {
        compiler.add(entry);
      } else if (truffle == Truffle.OPTIMIZING && isGraalJar(entry)) {
        modules.add(entry);
      } else {
        cp.add(entry);
      }
    }
    List<String> options = new ArrayList<>();
    if (truffle == Truffle.OPTIMIZING) {
      if (compiler.isEmpty() || modules.isEmpty()) {
        throw new IllegalStateException("--truffle optimizing needs org.graalvm.compiler:compiler and the polyglot jars on "
            + "the class path (bench/pom.xml), found compiler " + compiler + ", " + modules.size() + " Graal jars");
      }
      options.addAll(List.of(
          "--enable-native-access=ALL-UNNAMED,org.graalvm.truffle", // ALL-UNNAMED does not cover the named Truffle module
          "-XX:+UnlockExperimentalVMOptions", "-XX:+EnableJVMCI",
          "--upgrade-module-path=" + String.join(java.io.File.pathSeparator, compiler),
          "--module-path=" + String.join(java.io.File.pathSeparator, modules),
          // (engine.WarnVirtualThreadSupport is experimental: not settable by a system property; the warning stays in the log)
          "--add-modules=org.graalvm.polyglot"));
    }
    options.add("-cp");
    options.add(String.join(java.io.File.pathSeparator, cp));
    return options;
  }
}
