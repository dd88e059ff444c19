package io.raftoral.conformance.driver;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A way of writing workflows that the suite runs every scenario against: how to build its
 * interpreter, and how to start a 3-node cluster of it (conformance/README.md, "Adding an entry
 * point").
 */
abstract class EntryPoint {
  final String name;
  final Path repo;

  EntryPoint(String name, Path repo) {
    this.name = name;
    this.repo = repo;
  }

  /** Builds what the entry point's node processes run; throws with the build's output on failure. */
  abstract void prepare(Path work) throws Exception;

  /** A cluster of three node processes in {@code dir}, not started yet. */
  abstract Cluster cluster(Path dir, ClusterSettings settings);

  static EntryPoint named(String name, Path repo) {
    return switch (name) {
      case "java" -> new Java(repo);
      case "c" -> new Native("c", repo);
      case "python" -> new Native("python", repo);
      case "go" -> new Native("go", repo);
      case "python-worker", "go-worker", "ts-worker" -> new Worker(name, repo);
      case "js" -> new Graal("js", repo, "conformance/js/conformance.mjs");
      case "graalpy" -> new Graal("graalpy", repo, "conformance/python/conformance_graal.py");
      default -> throw new IllegalArgumentException("unknown entry point '" + name
          + "' (known: java, c, python, go, python-worker, go-worker, ts-worker, js, graalpy)");
    };
  }

  /** {@code raftoral node} processes with the Java interpreter on their class path (the driver's own). */
  static final class Java extends EntryPoint {
    Java(Path repo) {
      super("java", repo);
    }

    @Override
    void prepare(Path work) {
      // Built by Maven with the driver: the class path of this JVM holds the interpreter and the engine.
    }

    @Override
    Cluster cluster(Path dir, ClusterSettings settings) {
      return new JavaCluster(dir, settings, System.getProperty("java.class.path"));
    }
  }

  /**
   * {@code raftoral node --workflows MODULE}: the interpreter in JavaScript ({@code js}) or Python
   * ({@code graalpy}), run by polyglot-graal inside the node. The driver's class path keeps the
   * conformance classes for the side-effect log's host module; the Java interpreter is turned off.
   */
  static final class Graal extends EntryPoint {
    private final String module;

    Graal(String name, Path repo, String module) {
      super(name, repo);
      this.module = module;
    }

    @Override
    void prepare(Path work) {
      // Built by Maven with the driver (polyglot-graal is on its class path); the module is a source file.
    }

    @Override
    Cluster cluster(Path dir, ClusterSettings settings) {
      Path module = repo.resolve(this.module);
      return new JavaCluster(dir, settings, System.getProperty("java.class.path")) {
        @Override
        List<String> jvmArgs() {
          // More heap than the other nodes' 384 MB (the later -Xmx wins): GraalPy's engine takes
          // about 50 MB and each context about 6 MB more; a restarted node replaying its log
          // starts a run for every workflow its log started (about 40 by the destructive
          // scenarios), each making its context before it sees that the workflow ended. At 384
          // and 768 MB a graalpy node's old generation filled then (collections of 4 s back to
          // back, the cluster not healthy within 240 s).
          return List.of("-Xmx1536m", "-Dconformance.javaInterpreter=false");
        }

        @Override
        List<String> nodeArgs(int index) {
          return List.of("--workflows", module.toString());
        }
      };
    }
  }

  /** One process per node embedding it through libraftoral.so: the C, Python and Go interpreters. */
  static final class Native extends EntryPoint {
    private Path binary;

    Native(String name, Path repo) {
      super(name, repo);
    }

    private Path library() {
      return repo.resolve("ffi-c-api/target/native");
    }

    @Override
    void prepare(Path work) throws Exception {
      if (!Files.exists(library().resolve("libraftoral.so"))) {
        throw new IllegalStateException(library() + "/libraftoral.so is missing: build ffi-c-api first (make build)");
      }
      Path out = work.resolve("build-" + name);
      Files.createDirectories(out);
      switch (name) {
        case "c" -> {
          binary = out.resolve("conformance-c");
          run(List.of("make", "-s", "-C", repo.resolve("conformance/c").toString(), "OUT=" + out,
              "RAFTORAL_NATIVE=" + library(), "RAFTORAL_INCLUDE=" + repo.resolve("ffi-c-api/include")), repo, out);
        }
        case "go" -> {
          binary = out.resolve("conformance-go");
          run(List.of("go", "build", "-o", binary.toString(), "."), repo.resolve("conformance/go"), out);
        }
        case "python" -> run(List.of("python3", "-c", "import raftoral"), repo, out);
        default -> throw new IllegalStateException(name);
      }
    }

    private void run(List<String> command, Path cwd, Path out) throws Exception {
      Path log = out.resolve("build.log");
      ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true)
          .redirectOutput(log.toFile());
      pb.environment().putAll(env());
      Process p = pb.start();
      if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " failed:\n" + Files.readString(log, StandardCharsets.UTF_8));
      }
    }

    private Map<String, String> env() {
      return Map.of(
          "RAFTORAL_JAVA_HOME", System.getProperty("java.home"),
          "RAFTORAL_LIBRARY", library().resolve("libraftoral.so").toString(),
          "RAFTORAL_JVM_OPTIONS", "-Xmx384m -XX:+UseSerialGC",
          "PYTHONPATH", repo.resolve("bindings-python").toString(),
          "PYTHONDONTWRITEBYTECODE", "1");
    }

    @Override
    Cluster cluster(Path dir, ClusterSettings settings) {
      return new NativeCluster(dir, settings, config -> switch (name) {
        case "python" -> List.of("python3", repo.resolve("conformance/python/conformance_node.py").toString(), config);
        default -> List.of(binary.toString(), config);
      }, env());
    }
  }

  /**
   * A worker library: {@code raftoral node} processes serving workers, and beside each one a worker
   * process of the language running the interpreter (conformance/README.md, "Worker entry points").
   */
  static final class Worker extends EntryPoint {
    private Path binary;

    Worker(String name, Path repo) {
      super(name, repo);
    }

    @Override
    void prepare(Path work) throws Exception {
      Path out = work.resolve("build-" + name);
      Files.createDirectories(out);
      switch (name) {
        case "python-worker" -> run(List.of("python3", "-c", "import raftoral.worker"), repo, out);
        case "go-worker" -> {
          binary = out.resolve("conformance-go-worker");
          run(List.of("go", "build", "-o", binary.toString(), "."), repo.resolve("conformance/go-worker"), out);
        }
        case "ts-worker" -> {
          Path ts = repo.resolve("bindings-ts");
          run(List.of("npm", "ci", "--no-audit", "--no-fund"), ts, out);
          run(List.of("npm", "run", "build"), ts, out);
        }
        default -> throw new IllegalStateException(name);
      }
    }

    private void run(List<String> command, Path cwd, Path out) throws Exception {
      Path log = out.resolve("build.log");
      ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      pb.environment().putAll(env());
      Process p = pb.start();
      if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " failed:\n" + Files.readString(log, StandardCharsets.UTF_8));
      }
    }

    private Map<String, String> env() {
      return Map.of("PYTHONPATH", repo.resolve("bindings-python").toString(), "PYTHONDONTWRITEBYTECODE", "1");
    }

    @Override
    Cluster cluster(Path dir, ClusterSettings settings) {
      return new WorkerCluster(dir, settings, target -> switch (name) {
        case "python-worker" -> List.of("python3", repo.resolve("conformance/python/conformance_worker.py").toString(),
            "--target", target);
        case "go-worker" -> List.of(binary.toString(), "--target", target);
        case "ts-worker" -> List.of("node", repo.resolve("conformance/ts/conformance_worker.mjs").toString(), "--target", target);
        default -> throw new IllegalStateException(name);
      }, env());
    }
  }

  static String read(Path p) throws IOException {
    return Files.readString(p, StandardCharsets.UTF_8);
  }
}
