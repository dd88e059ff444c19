package io.raftoral.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The worker processes of {@code bench/run --workers LANG}: one beside every node process, running
 * seq10 as the worker-hosted type {@code seq10-worker} v1 ({@code bench/workers/}), so that the
 * load generator measures seq10 through the worker protocol against the embedded seq10.
 */
final class BenchWorkers implements AutoCloseable {
  /** The type the workers register (the nodes run the embedded {@code seq10} already). */
  static final String TYPE = "seq10-worker";
  static final List<String> LANGUAGES = List.of("go", "python", "ts");
  private static final Duration REGISTERED_TIMEOUT = Duration.ofSeconds(60);

  private final String language;
  private final Path root;
  private final Path repo;
  private final List<Process> processes = new ArrayList<>();
  private Path goBinary;

  BenchWorkers(String language, Path root) {
    if (!LANGUAGES.contains(language)) {
      throw new IllegalArgumentException("--workers " + language + ": expected one of " + LANGUAGES);
    }
    this.language = language;
    this.root = root;
    this.repo = Path.of("").toAbsolutePath(); // bench/run runs from the repository's root
  }

  String language() {
    return language;
  }

  /** Builds what the language's worker needs (the Go binary; bindings-ts's dist/). */
  void prepare() throws IOException, InterruptedException {
    switch (language) {
      case "go" -> {
        goBinary = root.resolve("seq10-worker-go");
        run(List.of("go", "build", "-o", goBinary.toString(), "."), repo.resolve("bench/workers/go"));
      }
      case "ts" -> {
        if (!Files.exists(repo.resolve("bindings-ts/dist"))) {
          run(List.of("npm", "ci", "--no-audit", "--no-fund"), repo.resolve("bindings-ts"));
          run(List.of("npm", "run", "build"), repo.resolve("bindings-ts"));
        }
      }
      default -> { }
    }
  }

  private void run(List<String> command, Path dir) throws IOException, InterruptedException {
    Path log = root.resolve("workers-build.log");
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", command) + " failed: " + Files.readString(log, StandardCharsets.UTF_8));
    }
  }

  /** Starts the worker of node {@code index} at its worker address; returns once it has registered. */
  void start(int index, String workerAddress) throws IOException, InterruptedException {
    List<String> cmd = switch (language) {
      case "go" -> List.of(goBinary.toString(), "--target", workerAddress);
      case "python" -> List.of("python3", repo.resolve("bench/workers/seq10_worker.py").toString(), "--target", workerAddress);
      case "ts" -> List.of("node", repo.resolve("bench/workers/seq10_worker.mjs").toString(), "--target", workerAddress);
      default -> throw new IllegalStateException(language);
    };
    Process p = new ProcessBuilder(cmd).redirectError(root.resolve("worker-" + index + ".stderr").toFile()).start();
    processes.add(p);
    CountDownLatch registered = new CountDownLatch(1);
    Thread.ofPlatform().daemon().name("bench-worker-" + index).start(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (line.contains("\"registered\"")) {
            registered.countDown();
          }
        }
      } catch (IOException e) {
        // the worker ended
      }
    });
    if (!registered.await(REGISTERED_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      throw new IOException("the " + language + " worker of node " + index + " did not register within "
          + REGISTERED_TIMEOUT.toSeconds() + " s (see " + root.resolve("worker-" + index + ".stderr") + ")");
    }
  }

  /** SIGTERM to every worker, SIGKILL to any still running after 10 s. */
  @Override
  public void close() {
    processes.forEach(Process::destroy);
    for (Process p : processes) {
      try {
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }
}
