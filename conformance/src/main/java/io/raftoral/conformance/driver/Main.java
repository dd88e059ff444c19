package io.raftoral.conformance.driver;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The conformance driver: runs every scenario against every entry point on 3-node clusters of
 * real processes and prints the matrix (scenario × entry point: pass/fail/time). Exits 1 when a
 * cell fails. Usage (conformance/README.md):
 *
 * <pre>Main --repo=DIR [--entries=java,c,python,go,python-worker,go-worker,ts-worker,js,graalpy] [--scenarios=NAME,...] [--work=DIR]</pre>
 */
public final class Main {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** What went wrong outside the cells (a cluster that had to be started again), printed under the matrix. */
  private static final List<String> NOTES = new java.util.concurrent.CopyOnWriteArrayList<>();

  enum Outcome { PASS, FAIL, GAP, NOT_APPLICABLE }

  record Cell(Outcome outcome, Duration time, String detail) {}

  public static void main(String[] args) throws Exception {
    Map<String, String> options = new LinkedHashMap<>();
    for (String a : args) {
      if (!a.startsWith("--") || !a.contains("=")) {
        System.err.println("usage: Main --repo=DIR [--entries=java,c,python,go,python-worker,go-worker,ts-worker,js,graalpy] [--scenarios=NAME,...] [--work=DIR]");
        System.exit(2);
      }
      options.put(a.substring(2, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
    }
    Path repo = Path.of(options.getOrDefault("repo", ".")).toAbsolutePath().normalize();
    Path work = Path.of(options.getOrDefault("work", repo.resolve("conformance/target/conformance").toString())).toAbsolutePath();
    List<String> entries = split(options.getOrDefault("entries", "java,c,python,go,python-worker,go-worker,ts-worker,js,graalpy"));
    List<String> filter = split(options.getOrDefault("scenarios", ""));

    List<Scenario> scenarios = Scenario.loadAll(repo.resolve("conformance/scenarios")).stream()
        .filter(s -> filter.isEmpty() || filter.stream().anyMatch(f -> s.name().contains(f))).toList();
    if (scenarios.isEmpty()) {
      System.err.println("no scenario matches " + filter);
      System.exit(2);
    }
    // Node processes must not outlive the driver (a raftoral node would run on until killed).
    Runtime.getRuntime().addShutdownHook(new Thread(
        () -> ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly)));
    deleteRecursively(work);
    Files.createDirectories(work);
    String run = Long.toString(System.currentTimeMillis(), 36);

    Map<String, Map<String, Cell>> matrix = new LinkedHashMap<>();
    for (Scenario s : scenarios) {
      matrix.put(s.name(), new LinkedHashMap<>());
    }
    long started = System.nanoTime();
    for (String name : entries) {
      EntryPoint entry = EntryPoint.named(name, repo);
      runEntryPoint(entry, scenarios, work.resolve(name), run, matrix);
    }
    Duration total = Duration.ofNanos(System.nanoTime() - started);
    String table = render(scenarios, entries, matrix, total);
    System.out.println(table);
    Files.writeString(work.resolve("matrix.txt"), table, StandardCharsets.UTF_8);
    Files.writeString(work.resolve("matrix.json"), json(matrix).toPrettyString(), StandardCharsets.UTF_8);
    boolean failed = matrix.values().stream().flatMap(m -> m.values().stream()).anyMatch(c -> c.outcome() == Outcome.FAIL);
    System.exit(failed ? 1 : 0);
  }

  private static void runEntryPoint(EntryPoint entry, List<Scenario> scenarios, Path dir, String run,
                                    Map<String, Map<String, Cell>> matrix) throws Exception {
    Files.createDirectories(dir);
    log(entry.name + ": building");
    try {
      entry.prepare(dir);
    } catch (Exception e) {
      for (Scenario s : scenarios) {
        record(matrix, s, entry, new Cell(Outcome.FAIL, Duration.ZERO, "build failed: " + e.getMessage()));
      }
      return;
    }
    // Non-destructive scenarios share one cluster per profile; destructive ones run after them on it.
    List<String> profiles = scenarios.stream().map(Scenario::cluster).distinct()
        .sorted(Comparator.comparing((String p) -> !p.equals("default")).thenComparing(p -> p)).toList();
    for (String profile : profiles) {
      List<Scenario> todo = new ArrayList<>();
      for (Scenario s : scenarios) {
        if (!s.cluster().equals(profile)) {
          continue;
        }
        if (s.needsWorkers() && !(entry instanceof EntryPoint.Worker)) {
          record(matrix, s, entry, new Cell(Outcome.NOT_APPLICABLE, Duration.ZERO,
              "no worker process: the workflow code runs in the node's own process"));
        } else if (s.notApplicable().containsKey(entry.name)) {
          record(matrix, s, entry, new Cell(Outcome.NOT_APPLICABLE, Duration.ZERO, s.notApplicable().get(entry.name)));
        } else if (s.gaps().containsKey(entry.name)) {
          record(matrix, s, entry, new Cell(Outcome.GAP, Duration.ZERO, s.gaps().get(entry.name)));
        } else {
          todo.add(s);
        }
      }
      if (todo.isEmpty()) {
        continue;
      }
      todo.sort(Comparator.comparing(Scenario::destructive));
      runProfile(entry, ClusterSettings.named(profile), todo, dir.resolve(profile), run, matrix);
    }
  }

  private static void runProfile(EntryPoint entry, ClusterSettings settings, List<Scenario> todo, Path dir, String run,
                                 Map<String, Map<String, Cell>> matrix) throws Exception {
    Files.createDirectories(dir);
    log(entry.name + ": starting a 3-node cluster (" + settings.name() + ")");
    long t0 = System.nanoTime();
    Cluster started = null;
    String failure = null;
    // A cluster that does not come up is reported (NOTES) and started once more, in a new directory,
    // so that one failed start does not hide every scenario of the entry point.
    for (int attempt = 1; attempt <= 2 && started == null; attempt++) {
      Path at = attempt == 1 ? dir : dir.resolveSibling(dir.getFileName() + "-again");
      Files.createDirectories(at);
      Cluster c = entry.cluster(at, settings);
      try {
        c.start();
        started = c;
      } catch (Exception e) {
        c.close();
        String why = e.getMessage();
        NOTES.add(entry.name + ": " + (attempt == 1 ? "the first" : "the second") + " " + settings.name()
            + " cluster did not start: " + why);
        failure = failure == null ? why : failure;
        log(entry.name + ": the cluster did not start: " + why);
      }
    }
    if (started == null) {
      for (Scenario s : todo) {
        record(matrix, s, entry, new Cell(Outcome.FAIL, Duration.ZERO, "the cluster did not start: " + failure));
      }
      return;
    }
    try (Cluster cluster = started) {
      log(entry.name + ": cluster up in " + seconds(Duration.ofNanos(System.nanoTime() - t0)));
      String broken = null;
      for (Scenario s : todo) {
        if (broken != null) {
          record(matrix, s, entry, new Cell(Outcome.FAIL, Duration.ZERO, "not run: " + broken));
          continue;
        }
        long start = System.nanoTime();
        Runner runner = new Runner(cluster, s, s.name() + "-" + entry.name + "-" + run + "-");
        Cell cell;
        try {
          runner.run();
          cell = new Cell(Outcome.PASS, Duration.ofNanos(System.nanoTime() - start), null);
        } catch (Exception | AssertionError e) {
          cell = new Cell(Outcome.FAIL, Duration.ofNanos(System.nanoTime() - start), describe(e));
        }
        record(matrix, s, entry, cell);
        log(String.format("%-8s %-40s %s %s%s", entry.name, s.name(), cell.outcome(), seconds(cell.time()),
            cell.detail() == null ? "" : "  " + cell.detail()));
        broken = recover(cluster);
      }
    }
  }

  /** Restarts nodes a scenario left down; returns why the cluster cannot go on, or null. */
  private static String recover(Cluster cluster) {
    try {
      for (NodeProcess n : cluster.nodes) {
        if (!n.isAlive()) {
          log("restarting " + n + " left down by the scenario");
          cluster.restart(n);
        }
      }
      cluster.awaitHealthy(Duration.ofSeconds(120));
      return null;
    } catch (Exception e) {
      return "the cluster did not recover after the previous scenario: " + e.getMessage();
    }
  }

  private static String describe(Throwable e) {
    String m = e.getMessage() == null ? e.toString() : e.getMessage();
    return e instanceof ScenarioFailure ? m : e.getClass().getSimpleName() + ": " + m;
  }

  private static void record(Map<String, Map<String, Cell>> matrix, Scenario s, EntryPoint entry, Cell cell) {
    matrix.get(s.name()).put(entry.name, cell);
  }

  static String render(List<Scenario> scenarios, List<String> entries, Map<String, Map<String, Cell>> matrix, Duration total) {
    int width = Math.max(8, scenarios.stream().mapToInt(s -> s.name().length()).max().orElse(8));
    StringBuilder b = new StringBuilder("\nConformance matrix (scenario x entry point)\n\n");
    b.append(String.format("%-" + width + "s", "scenario"));
    entries.forEach(e -> b.append(String.format("  %-12s", e)));
    b.append('\n');
    int[] counts = new int[Outcome.values().length];
    List<String> details = new ArrayList<>();
    for (Scenario s : scenarios) {
      b.append(String.format("%-" + width + "s", s.name()));
      for (String e : entries) {
        Cell c = matrix.get(s.name()).get(e);
        String text = c == null ? "-" : switch (c.outcome()) {
          case PASS -> "pass " + seconds(c.time());
          case FAIL -> "FAIL " + seconds(c.time());
          case GAP -> "gap";
          case NOT_APPLICABLE -> "n/a";
        };
        b.append(String.format("  %-12s", text));
        if (c != null) {
          counts[c.outcome().ordinal()]++;
          if (c.outcome() != Outcome.PASS) {
            details.add(String.format("%-5s %s x %s: %s", c.outcome() == Outcome.NOT_APPLICABLE ? "n/a" : c.outcome().name().toLowerCase(),
                s.name(), e, c.detail()));
          }
        }
      }
      b.append('\n');
    }
    b.append(String.format("%n%d cells: %d pass, %d fail, %d known gap, %d not applicable; %s%n", Arrays.stream(counts).sum(),
        counts[0], counts[1], counts[2], counts[3], seconds(total)));
    if (!NOTES.isEmpty()) {
      b.append("\nNotes:\n");
      NOTES.forEach(n -> b.append("- ").append(n).append('\n'));
    }
    if (!details.isEmpty()) {
      b.append('\n');
      details.stream().sorted(Comparator.comparing((String d) -> !d.startsWith("FAIL") && !d.startsWith("fail")))
          .forEach(d -> b.append(d).append('\n'));
    }
    return b.toString();
  }

  private static ObjectNode json(Map<String, Map<String, Cell>> matrix) {
    ObjectNode root = JSON.createObjectNode();
    matrix.forEach((scenario, row) -> {
      ObjectNode r = root.putObject(scenario);
      row.forEach((entry, c) -> {
        ObjectNode cell = r.putObject(entry);
        cell.put("outcome", c.outcome().name());
        cell.put("millis", c.time().toMillis());
        if (c.detail() != null) {
          cell.put("detail", c.detail());
        }
      });
    });
    return root;
  }

  private static String seconds(Duration d) {
    return String.format("%.1fs", d.toMillis() / 1000.0);
  }

  private static List<String> split(String s) {
    return Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
  }

  private static void log(String line) {
    System.out.println("[conformance] " + line);
    System.out.flush();
  }

  private static void deleteRecursively(Path p) throws java.io.IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (var walk = Files.walk(p)) {
      for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(q);
      }
    }
  }
}
