package io.raftoral.conformance.driver;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One node of a cluster: a real OS process with its own data directory, started again with the
 * same command line after a kill. Its stdout lines go to a listener; its stderr to a file. The
 * fault matrix ({@code faults/}) drives its nodes through it too.
 */
public final class NodeProcess {
  public final String label;
  public final Path dataDir;
  private final List<String> command;
  private final Map<String, String> env;
  private final Path logDir;
  private final Consumer<String> onLine;
  private Process process;
  private Thread pump;
  private OutputStream stdin;
  private int starts;
  volatile long nodeId;
  volatile String apiAddress;

  public NodeProcess(String label, Path dataDir, List<String> command, Map<String, String> env, Path logDir, Consumer<String> onLine) {
    this.label = label;
    this.dataDir = dataDir;
    this.command = List.copyOf(command);
    this.env = Map.copyOf(env);
    this.logDir = logDir;
    this.onLine = onLine;
  }

  public synchronized void start() throws IOException {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException(label + " is running");
    }
    starts++;
    Files.createDirectories(logDir);
    ProcessBuilder pb = new ProcessBuilder(command)
        .redirectError(ProcessBuilder.Redirect.appendTo(logDir.resolve(label + ".stderr.log").toFile()));
    pb.environment().putAll(env);
    process = pb.start();
    stdin = process.getOutputStream();
    Process p = process;
    pump = Thread.ofPlatform().daemon().name("conformance-" + label + "-stdout").start(() -> pump(p));
  }

  private void pump(Process p) {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        onLine.accept(line);
      }
    } catch (IOException e) {
      // the process died; its exit is seen by isAlive()
    } finally {
      onLine.accept(null);
    }
  }

  synchronized void send(String line) throws IOException {
    if (stdin == null) {
      throw new IOException(label + " is not running");
    }
    stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    stdin.flush();
  }

  public synchronized boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** SIGKILL, and waits until the process is gone. */
  public void kill() throws InterruptedException {
    Process p;
    synchronized (this) {
      p = process;
    }
    if (p != null) {
      p.destroyForcibly(); // SIGKILL on Unix
      p.waitFor(30, TimeUnit.SECONDS);
    }
    drained();
  }

  /**
   * Waits until the stdout of the process that ended has been read to its end, so that its
   * last lines (and its end) reach the listener BEFORE a restart starts listening again.
   */
  private void drained() throws InterruptedException {
    Thread t;
    synchronized (this) {
      t = pump;
    }
    if (t != null) {
      t.join(10_000);
    }
  }

  /** Asks the process to stop (a line on stdin, or SIGTERM), then kills it after {@code grace}. */
  public void stop(String quitLine, Duration grace) throws InterruptedException {
    Process p;
    synchronized (this) {
      p = process;
    }
    if (p == null || !p.isAlive()) {
      return;
    }
    try {
      if (quitLine != null) {
        send(quitLine);
      } else {
        p.destroy();
      }
    } catch (IOException e) {
      p.destroy();
    }
    if (!p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
    }
    drained();
  }

  /** The running process's id; fails when it is not running. */
  public synchronized long pid() {
    if (process == null || !process.isAlive()) {
      throw new IllegalStateException(label + " is not running");
    }
    return process.pid();
  }

  /** The exit code of the process that ended; null while it runs or before its first start. */
  public Integer exitCode() {
    Process p = process;
    return p == null || p.isAlive() ? null : p.exitValue();
  }

  /** The last lines of the process's stderr that are not stack frames, and where the rest is, for a failure message. */
  public String tail(int lines) {
    Path file = logDir.resolve(label + ".stderr.log");
    try {
      List<String> all = Files.readAllLines(file, StandardCharsets.ISO_8859_1).stream()
          .filter(l -> !l.startsWith("\t") && !l.startsWith(" ") && !l.startsWith("Caused by")).toList();
      return String.join(" | ", new ArrayList<>(all.subList(Math.max(0, all.size() - lines), all.size())))
          + " (whole log: " + file + ")";
    } catch (IOException | java.io.UncheckedIOException e) {
      return "(no stderr: " + e.getMessage() + ")";
    }
  }

  /**
   * Writes the threads of the node's JVM ({@code jcmd PID Thread.print}) beside its stderr, for a
   * node that does not serve or answer: where its threads wait is what the failure needs. Returns
   * the file, or why there is none.
   */
  public String threadDump() throws InterruptedException {
    Process p;
    synchronized (this) {
      p = process;
    }
    if (p == null || !p.isAlive()) {
      return "(" + label + " is not running)";
    }
    Path file = logDir.resolve(label + ".threads-" + starts + "-" + System.currentTimeMillis() + ".txt");
    try {
      Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
          Long.toString(p.pid()), "Thread.print").redirectErrorStream(true).redirectOutput(file.toFile()).start();
      if (!jcmd.waitFor(60, TimeUnit.SECONDS)) {
        jcmd.destroyForcibly();
        return "(" + label + ": jcmd did not answer within 60 s)";
      }
      return file.toString();
    } catch (IOException e) {
      return "(" + label + ": no thread dump: " + e.getMessage() + ")";
    }
  }

  public Path stderrFile() {
    return logDir.resolve(label + ".stderr.log");
  }

  int starts() {
    return starts;
  }

  @Override
  public String toString() {
    return label + (nodeId == 0 ? "" : " (node " + nodeId + ")");
  }
}
