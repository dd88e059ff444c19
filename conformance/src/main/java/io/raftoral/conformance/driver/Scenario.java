package io.raftoral.conformance.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * One scenario file of {@code conformance/scenarios/} (conformance/README.md, "Scenario files").
 *
 * @param cluster the cluster profile it needs ({@link ClusterSettings#named})
 * @param destructive it kills or restarts processes: run after the others, once per entry point
 * @param gaps entry point → why its surface cannot run this yet (a known gap, to be closed)
 * @param notApplicable entry point → why the scenario cannot apply to it
 * @param needsWorkers it acts on worker processes: it applies to the worker entry points only
 */
record Scenario(String name, String spec, String description, String cluster, boolean destructive,
                Map<String, String> gaps, Map<String, String> notApplicable, boolean needsWorkers, List<JsonNode> steps) {

  static final Set<String> STEPS = Set.of("start", "await", "describe", "list", "terminate", "wait_log", "check_log",
      "history", "kill", "restart", "kill_worker", "restart_worker", "healthy", "digests_equal", "sleep");
  /** Steps that kill or start processes: a scenario with one is destructive. */
  static final Set<String> PROCESS_STEPS = Set.of("kill", "restart", "kill_worker", "restart_worker");
  static final Set<String> OPS = Set.of("checkpoint", "compute", "var", "var_set", "var_add", "fail", "panic",
      "wait_terminated", "loop", "sleep", "try", "parallel");
  static final Set<String> CODES = java.util.Arrays.stream(io.raftoral.common.ErrorCode.values())
      .map(Enum::name).collect(java.util.stream.Collectors.toUnmodifiableSet());
  static final Set<String> ENTRY_POINTS = Set.of("java", "c", "python", "go", "python-worker", "go-worker", "ts-worker", "js", "graalpy");

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Every scenario of {@code dir}, in file name order; throws on the first invalid one. */
  static List<Scenario> loadAll(Path dir) throws IOException {
    List<Scenario> all = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
        all.add(load(f));
      }
    }
    return all;
  }

  static Scenario load(Path file) throws IOException {
    JsonNode root = JSON.readTree(file.toFile());
    String fileName = file.getFileName().toString().replaceFirst("\\.json$", "");
    String name = root.path("name").asText();
    List<String> problems = new ArrayList<>();
    if (!fileName.endsWith(name) || name.isEmpty()) {
      problems.add("name '" + name + "' does not match the file name " + fileName);
    }
    for (String field : List.of("spec", "description")) {
      if (!root.path(field).isTextual()) {
        problems.add("no " + field);
      }
    }
    String cluster = root.path("cluster").asText("default");
    try {
      ClusterSettings.named(cluster);
    } catch (IllegalArgumentException e) {
      problems.add(e.getMessage());
    }
    Map<String, String> gaps = reasons(root.get("gaps"), "gaps", problems);
    Map<String, String> na = reasons(root.get("not_applicable"), "not_applicable", problems);
    List<JsonNode> steps = new ArrayList<>();
    root.path("steps").forEach(steps::add);
    if (steps.isEmpty()) {
      problems.add("no steps");
    }
    Map<String, JsonNode> programs = new LinkedHashMap<>();
    for (int i = 0; i < steps.size(); i++) {
      validateStep(steps.get(i), "step " + (i + 1), programs, problems);
    }
    if (!problems.isEmpty()) {
      throw new IOException(file + ": " + String.join("; ", problems));
    }
    return new Scenario(name, root.get("spec").asText(), root.get("description").asText(), cluster,
        root.path("destructive").asBoolean(false), gaps, na, root.path("needs_workers").asBoolean(false), List.copyOf(steps));
  }

  private static Map<String, String> reasons(JsonNode node, String what, List<String> problems) {
    Map<String, String> out = new LinkedHashMap<>();
    if (node == null) {
      return out;
    }
    node.properties().forEach(e -> {
      if (!ENTRY_POINTS.contains(e.getKey())) {
        problems.add(what + ": unknown entry point " + e.getKey());
      }
      if (!e.getValue().isTextual() || e.getValue().asText().isBlank()) {
        problems.add(what + "." + e.getKey() + " needs a reason");
      }
      out.put(e.getKey(), e.getValue().asText());
    });
    return out;
  }

  private static void validateStep(JsonNode step, String where, Map<String, JsonNode> programs, List<String> problems) {
    String kind = step.path("do").asText();
    if (!STEPS.contains(kind)) {
      problems.add(where + ": unknown step '" + kind + "'");
      return;
    }
    JsonNode error = step.path("expect").get("error");
    if (error != null && !CODES.contains(error.asText())) {
      problems.add(where + ": unknown error code " + error);
    }
    if (kind.equals("start") && step.has("program")) {
      validateProgram(step.get("program"), where, problems);
      programs.put(step.path("as").asText(), step.get("program"));
    }
    if (kind.equals("start") && step.has("input_of") && programs.containsKey(step.get("input_of").asText())) {
      programs.put(step.path("as").asText(), programs.get(step.get("input_of").asText()));
    }
    if (kind.equals("await") && step.path("expect").path("result_of_program").asBoolean(false)) {
      JsonNode program = programs.get(step.path("wf").asText());
      if (program == null) {
        problems.add(where + ": result_of_program needs a workflow started with a program before it");
      } else if (step.path("expect").has("result")) {
        problems.add(where + ": result and result_of_program exclude each other");
      } else {
        try {
          ProgramModel.of(program);
        } catch (IllegalArgumentException e) {
          problems.add(where + ": result_of_program: " + e.getMessage());
        }
      }
    }
    if (!kind.equals("start") && !kind.equals("list") && !PROCESS_STEPS.contains(kind)
        && !kind.equals("healthy") && !kind.equals("digests_equal") && !kind.equals("sleep") && !step.has("wf")
        && !step.has("id")) {
      problems.add(where + ": " + kind + " needs wf (a started workflow) or id (an id never started)");
    }
  }

  private static void validateProgram(JsonNode ops, String where, List<String> problems) {
    if (!ops.isArray()) {
      problems.add(where + ": program must be an array");
      return;
    }
    for (JsonNode op : ops) {
      String name = op.path("op").asText();
      if (!OPS.contains(name)) {
        problems.add(where + ": unknown op '" + name + "'");
      }
      if (op.has("key_hex") && !name.equals("checkpoint")) {
        problems.add(where + ": key_hex is for checkpoint only");
      }
      if (op.has("body")) {
        validateProgram(op.get("body"), where, problems);
      }
      if (name.equals("parallel")) {
        if (!op.path("branches").isArray() || op.get("branches").isEmpty()) {
          problems.add(where + ": parallel needs branches, an array of programs");
        } else {
          op.get("branches").forEach(b -> validateProgram(b, where, problems));
        }
      }
    }
  }
}
