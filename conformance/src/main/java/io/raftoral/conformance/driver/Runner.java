package io.raftoral.conformance.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Runs the steps of one scenario against one cluster (conformance/README.md, "Steps"). A step
 * whose outcome differs from its expectation throws {@link ScenarioFailure}, naming the step.
 */
final class Runner {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long DEFAULT_AWAIT_MILLIS = 90_000;
  // A full-cluster restart of GraalPy nodes takes about 140 s on a loaded 2-core machine (each
  // node loads its Python workflows, each replayed run needs a fresh context): failed at 120 s once.
  private static final Duration HEALTHY = Duration.ofSeconds(240);

  private final Cluster cluster;
  private final Scenario scenario;
  /** Scenario-local ids are prefixed with it, so that scenarios sharing a cluster never collide. */
  private final String idPrefix;
  private final Map<String, String> ids = new HashMap<>();
  private final Map<String, byte[]> inputs = new HashMap<>();
  /** Alias → the program and version it was started with (for {@code result_of_program}). */
  private final Map<String, JsonNode> programs = new HashMap<>();
  private final Map<String, Integer> versions = new HashMap<>();
  private final Map<String, JsonNode> results = new HashMap<>();
  private final List<NodeProcess> killed = new ArrayList<>();
  // Nodes whose worker process was killed (worker entry points), until restart_worker.
  private final List<NodeProcess> killedWorkers = new ArrayList<>();
  private final Instant scenarioStart = Instant.now();
  private int rotation;

  Runner(Cluster cluster, Scenario scenario, String idPrefix) {
    this.cluster = cluster;
    this.scenario = scenario;
    this.idPrefix = idPrefix;
  }

  void run() throws Exception {
    List<JsonNode> steps = scenario.steps();
    for (int i = 0; i < steps.size(); i++) {
      JsonNode step = steps.get(i);
      timeline(i + 1, step);
      try {
        step(step);
      } catch (ScenarioFailure e) {
        throw new ScenarioFailure("step " + (i + 1) + " (" + step.path("do").asText() + "): " + e.getMessage(), e);
      }
    }
  }

  /**
   * One line per step in the cluster's {@code steps.log}, with the time the nodes' logs use: what
   * a node did while a step ran (a slow restart, say) is read side by side with it.
   */
  private void timeline(int number, JsonNode step) {
    String line = LocalTime.now().truncatedTo(ChronoUnit.MILLIS) + " " + scenario.name() + " step " + number + " " + step + "\n";
    try {
      Files.writeString(cluster.dir.resolve("steps.log"), line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Nodes this scenario killed and did not restart (the driver restarts them before the next scenario). */
  List<NodeProcess> killed() {
    return killed;
  }

  private void step(JsonNode step) throws Exception {
    JsonNode expect = step.path("expect");
    switch (step.path("do").asText()) {
      case "start" -> start(step, expect);
      case "await" -> {
        Reply r = surface(step).await(id(step), step.path("timeout_ms").asLong(DEFAULT_AWAIT_MILLIS));
        if (r.isOk()) {
          results.put(step.get("wf").asText(), r.ok().get("result"));
        }
        checkReply(r, expect, ok -> {
          if (expect.has("result")) {
            same("result", expect.get("result"), ok.get("result"));
          }
          if (expect.path("result_of_program").asBoolean(false)) {
            String alias = step.get("wf").asText();
            String difference = ProgramModel.of(programs.get(alias)).difference(versions.get(alias), ok.get("result"));
            if (difference != null) {
              throw new ScenarioFailure("result: " + difference);
            }
          }
        });
      }
      case "describe" -> describe(step, expect);
      case "list" -> list(step, expect);
      case "terminate" -> {
        Reply r = surface(step).terminate(id(step), step.path("reason").asText("conformance"));
        checkReply(r, expect, ok -> checkInfo(ok.get("info"), expect));
      }
      case "history" -> history(step, expect);
      case "wait_log" -> waitLog(step);
      case "check_log" -> checkLog(step, expect);
      case "kill" -> kill(step.path("node").asText());
      case "kill_worker" -> {
        NodeProcess n = select(step.path("node").asText());
        cluster.killWorker(n);
        killedWorkers.add(n);
      }
      case "restart_worker" -> {
        for (NodeProcess n : List.copyOf(killedWorkers)) {
          cluster.restartWorker(n);
        }
        killedWorkers.clear();
      }
      case "restart" -> restart(step.path("node").asText("killed"));
      case "healthy" -> cluster.awaitHealthy(HEALTHY);
      case "digests_equal" -> cluster.awaitEqualDigests(Duration.ofMillis(step.path("timeout_ms").asLong(60_000)));
      case "sleep" -> Thread.sleep(step.path("ms").asLong());
      default -> throw new ScenarioFailure("unknown step " + step);
    }
  }

  // ---- start ----

  private void start(JsonNode step, JsonNode expect) {
    String alias = step.path("as").asText("");
    byte[] input;
    if (step.has("input_of")) {
      input = inputs.get(step.get("input_of").asText());
      Objects.requireNonNull(input, "no input of " + step.get("input_of"));
    } else {
      ObjectNode in = F.objectNode();
      in.set("program", step.path("program"));
      if (step.has("pad")) {
        in.put("pad", "p".repeat(step.get("pad").asInt()));
      }
      input = in.toString().getBytes(StandardCharsets.UTF_8);
    }
    String workflowId = step.has("id") ? idPrefix + step.get("id").asText() : null;
    String workflowIdHex = step.has("id_hex") ? step.get("id_hex").asText() : null;
    Reply r = surface(step).start(step.path("type").asText("conformance"), step.has("type_hex") ? step.get("type_hex").asText() : null,
        step.path("version").asInt(1), input, workflowId, workflowIdHex);
    checkReply(r, expect, ok -> {
      String got = ok.path("workflow_id").asText("");
      if (got.isEmpty()) {
        throw new ScenarioFailure("start returned no workflow id: " + ok);
      }
      if (workflowId != null && !got.equals(workflowId)) {
        throw new ScenarioFailure("start returned id " + got + ", not " + workflowId);
      }
      if (expect.has("same_as")) {
        String other = ids.get(expect.get("same_as").asText());
        if (!got.equals(other)) {
          throw new ScenarioFailure("start returned " + got + ", not the id of " + expect.get("same_as") + " (" + other + ")");
        }
      } else if (ids.containsValue(got)) {
        throw new ScenarioFailure("start returned the id " + got + " of another workflow");
      }
      if (!alias.isEmpty()) {
        ids.put(alias, got);
        inputs.put(alias, input);
        programs.put(alias, step.has("input_of") ? programs.get(step.get("input_of").asText()) : step.path("program"));
        versions.put(alias, step.path("version").asInt(1));
      }
    });
  }

  // ---- describe and list ----

  private void describe(JsonNode step, JsonNode expect) throws InterruptedException {
    List<Surface> on = step.path("each").asBoolean(false)
        ? cluster.live().stream().map(cluster::surface).toList()
        : List.of(surface(step));
    long deadline = System.nanoTime() + step.path("timeout_ms").asLong(60_000) * 1_000_000;
    for (Surface s : on) {
      while (true) {
        Reply r = s.describe(id(step));
        try {
          checkReply(r, expect, ok -> checkInfo(ok.get("info"), expect));
          break;
        } catch (ScenarioFailure e) {
          if (!step.path("eventually").asBoolean(false) || System.nanoTime() > deadline) {
            throw e;
          }
          Thread.sleep(250);
        }
      }
    }
  }

  private void checkInfo(JsonNode info, JsonNode expect) {
    if (info == null || !info.isObject()) {
      throw new ScenarioFailure("no info: " + info);
    }
    if (expect.has("status")) {
      same("status", expect.get("status"), info.get("status"));
    }
    if (expect.has("type")) {
      same("type", expect.get("type"), info.get("type"));
    }
    if (expect.has("version")) {
      same("version", expect.get("version"), info.get("version"));
    }
    if (expect.has("checkpoint_count")) {
      same("checkpointCount", expect.get("checkpoint_count"), info.get("checkpointCount"));
    }
    if (expect.has("error_type")) {
      same("errorType", expect.get("error_type"), F.textNode(simpleType(info.path("errorType").asText(""))));
    }
    if (expect.has("error_message_contains")) {
      contains("errorMessage", info.path("errorMessage").asText(""), expect.get("error_message_contains").asText());
    }
    if (expect.path("owner_known").asBoolean(false)) {
      long owner = info.path("ownerNode").asLong(0);
      if (cluster.nodes.stream().noneMatch(n -> n.nodeId == owner)) {
        throw new ScenarioFailure("ownerNode " + owner + " is no node of the cluster: " + info);
      }
    }
    if (expect.has("workflow_id_of")) {
      same("workflowId", F.textNode(ids.get(expect.get("workflow_id_of").asText())), info.get("workflowId"));
    }
  }

  private void list(JsonNode step, JsonNode expect) {
    ObjectNode query = step.path("query").isObject() ? ((ObjectNode) step.get("query")).deepCopy() : F.objectNode();
    if ("$scenario_start".equals(query.path("started_after").asText())) {
      query.put("started_after", scenarioStart.toString());
    }
    Surface s = surface(step);
    boolean allPages = step.path("pages").asBoolean(false);
    List<String> got = new ArrayList<>();
    int pages = 0;
    while (true) {
      Reply r = s.list(query);
      pages++;
      if (!r.isOk() || expect.has("error")) {
        checkReply(r, expect, ok -> {});
        return;
      }
      for (JsonNode w : r.ok().path("workflows")) {
        got.add(w.path("workflowId").asText());
      }
      JsonNode token = r.ok().get("next_page_token");
      if (!allPages || token == null || token.isNull() || token.asText().isEmpty()) {
        break;
      }
      query.put("page_token", token.asText());
      if (pages > 1000) {
        throw new ScenarioFailure("more than 1000 pages");
      }
    }
    if (expect.has("ids")) {
      Map<String, String> wanted = new LinkedHashMap<>();
      for (JsonNode a : expect.get("ids")) {
        wanted.put(Objects.requireNonNull(ids.get(a.asText()), "no workflow " + a), a.asText());
      }
      Set<String> seen = new HashSet<>();
      for (String id : got) {
        if (!seen.add(id)) {
          throw new ScenarioFailure("list returned " + id + " twice: " + got);
        }
      }
      if (!seen.equals(wanted.keySet())) {
        throw new ScenarioFailure("list returned " + aliases(got) + ", expected " + wanted.values());
      }
    }
    if (expect.has("count")) {
      same("count", expect.get("count"), F.numberNode(got.size()));
    }
    if (expect.has("pages")) {
      same("pages", expect.get("pages"), F.numberNode(pages));
    }
  }

  // ---- history ----

  /**
   * Reads a workflow's history (one key, or every key) and checks what holds for every history:
   * each key's seqs count up by one in the order read (no gap, no repeat), from 0 unless the
   * step expects {@code seqs} (a history its type's retention trimmed at the end starts later:
   * {@code seqs} then says exactly where), each entry carries a commit time, a cluster member
   * as owner and its term; then what the step expects: the values (one key), or every (key,
   * value) in commit order, the (key, seq) pairs in the order read, or the count.
   */
  private void history(JsonNode step, JsonNode expect) {
    String key = step.hasNonNull("key") ? step.get("key").asText() : null;
    Reply r = surface(step).history(id(step), key, step.path("page_size").asInt(0));
    checkReply(r, expect, ok -> {
      JsonNode entries = ok.path("entries");
      if (!entries.isArray()) {
        throw new ScenarioFailure("history without entries: " + ok);
      }
      boolean trimmed = expect.has("seqs");
      Map<String, Long> nextSeq = new HashMap<>();
      var values = F.arrayNode();
      var pairs = F.arrayNode();
      var seqs = F.arrayNode();
      for (JsonNode e : entries) {
        String k = e.path("key").asText();
        long seq = e.path("seq").asLong(-1);
        long expectedSeq = nextSeq.getOrDefault(k, trimmed && seq >= 0 ? seq : 0L);
        seqs.add(F.arrayNode().add(k).add(seq));
        if (seq != expectedSeq) {
          throw new ScenarioFailure("history entry " + e + ": expected seq " + expectedSeq + " of key " + k + " (entries " + entries + ")");
        }
        nextSeq.put(k, expectedSeq + 1);
        if (key != null && !k.equals(key)) {
          throw new ScenarioFailure("history of key " + key + " holds an entry of key " + k + ": " + e);
        }
        if (e.path("committedAtMillis").asLong(0) <= 0) {
          throw new ScenarioFailure("history entry without a commit time: " + e);
        }
        long owner = e.path("ownerNode").asLong(0);
        if (cluster.nodes.stream().noneMatch(n -> n.nodeId == owner)) {
          throw new ScenarioFailure("history entry owned by " + owner + ", no node of the cluster: " + e);
        }
        if (e.path("ownerTerm").asLong(0) <= 0) {
          throw new ScenarioFailure("history entry without an owner term: " + e);
        }
        JsonNode value = e.hasNonNull("valueBase64") ? F.objectNode().put("base64", e.get("valueBase64").asText()) : e.get("value");
        values.add(value);
        pairs.add(F.arrayNode().add(k).add(value));
      }
      if (expect.has("values")) {
        same("history values", expect.get("values"), values);
      }
      if (expect.has("entries")) {
        same("history entries", expect.get("entries"), pairs);
      }
      if (trimmed) {
        same("history seqs", expect.get("seqs"), seqs);
      }
      if (expect.has("count")) {
        same("history count", expect.get("count"), F.numberNode(entries.size()));
      }
    });
  }

  private List<String> aliases(List<String> got) {
    Map<String, String> reverse = new HashMap<>();
    ids.forEach((a, id) -> reverse.put(id, a));
    return got.stream().map(id -> reverse.getOrDefault(id, id)).toList();
  }

  // ---- the side-effect log ----

  private List<JsonNode> events(String alias) {
    String wf = ids.get(alias);
    if (wf == null) {
      throw new ScenarioFailure("no workflow " + alias);
    }
    List<JsonNode> out = new ArrayList<>();
    try {
      if (!Files.exists(cluster.effectLog)) {
        return out;
      }
      String text = Files.readString(cluster.effectLog, StandardCharsets.UTF_8);
      // Only complete lines: a process may be appending one right now.
      String[] lines = text.substring(0, text.lastIndexOf('\n') + 1).split("\n");
      for (String line : lines) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode e = JSON.readTree(line);
        if (wf.equals(e.path("wf").asText())) {
          out.add(e);
        }
      }
    } catch (IOException e) {
      throw new ScenarioFailure("cannot read the side-effect log: " + e.getMessage());
    }
    return out;
  }

  private void waitLog(JsonNode step) throws InterruptedException {
    long deadline = System.nanoTime() + step.path("timeout_ms").asLong(60_000) * 1_000_000;
    int want = step.path("count").asInt(1);
    while (true) {
      long n = events(step.get("wf").asText()).stream().filter(e -> matches(e, step)).count();
      if (n >= want) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new ScenarioFailure("the log has " + n + " of " + want + " " + step.path("ev").asText() + " events");
      }
      Thread.sleep(50);
    }
  }

  private static boolean matches(JsonNode e, JsonNode step) {
    return (!step.has("ev") || step.get("ev").asText().equals(e.path("ev").asText()))
        && (!step.has("key") || step.get("key").asText().equals(e.path("key").asText()))
        && (!step.has("seq") || step.get("seq").asLong() == e.path("seq").asLong());
  }

  private void checkLog(JsonNode step, JsonNode expect) {
    List<JsonNode> all = events(step.get("wf").asText()).stream()
        .filter(e -> !step.has("key") || step.get("key").asText().equals(e.path("key").asText())).toList();
    for (String ev : List.of("begin", "end", "fail", "observe", "terminated_seen")) {
      if (expect.has(ev)) {
        long n = all.stream().filter(e -> ev.equals(e.path("ev").asText())).count();
        within(ev + " events", expect.get(ev), n, all);
      }
    }
    // Per position: how often its side effect ran beyond the deliberate failures and the one run that counts.
    Map<String, Long> reruns = new LinkedHashMap<>();
    Map<String, Set<String>> observers = new LinkedHashMap<>();
    Map<String, Set<String>> observed = new LinkedHashMap<>();
    Map<String, List<JsonNode>> produced = new LinkedHashMap<>();
    for (JsonNode e : all) {
      String pos = e.path("key").asText() + "#" + e.path("seq").asLong();
      switch (e.path("ev").asText()) {
        case "begin" -> reruns.merge(pos, 1L, Long::sum);
        case "fail" -> reruns.merge(pos, -1L, Long::sum);
        case "observe" -> {
          observers.computeIfAbsent(pos, p -> new HashSet<>()).add(e.path("node").asText());
          observed.computeIfAbsent(pos, p -> new HashSet<>()).add(e.path("value").toString());
        }
        case "end" -> produced.computeIfAbsent(pos, p -> new ArrayList<>()).add(e.path("value"));
        default -> {}
      }
    }
    if (expect.has("reruns")) {
      long total = reruns.values().stream().mapToLong(n -> Math.max(0, n - 1)).sum();
      within("re-runs of side effects " + reruns, expect.get("reruns"), total, all);
    }
    if (expect.has("observe_nodes")) {
      for (var e : observers.entrySet()) {
        within("nodes that ran position " + e.getKey(), expect.get("observe_nodes"), e.getValue().size(), all);
      }
      if (observers.isEmpty()) {
        throw new ScenarioFailure("no observe events");
      }
    }
    if (expect.path("observed_equal").asBoolean(false)) {
      for (var e : observed.entrySet()) {
        if (e.getValue().size() != 1) {
          throw new ScenarioFailure("nodes returned different committed values at " + e.getKey() + ": " + e.getValue());
        }
      }
    }
    if (expect.has("committed_from_log")) {
      // Every committed compute value was produced by one of that position's logged executions.
      JsonNode values = results.get(expect.get("committed_from_log").asText());
      if (values == null) {
        throw new ScenarioFailure("no result of " + expect.get("committed_from_log") + " to compare with");
      }
      for (var e : produced.entrySet()) {
        String key = e.getKey().substring(0, e.getKey().lastIndexOf('#'));
        int seq = Integer.parseInt(e.getKey().substring(e.getKey().lastIndexOf('#') + 1));
        JsonNode committed = values.path("values").path(key).path(seq);
        if (e.getValue().stream().noneMatch(v -> JsonCompare.equal(v, committed))) {
          throw new ScenarioFailure("the committed value " + committed + " at " + e.getKey()
              + " was produced by none of its executions " + e.getValue());
        }
      }
    }
  }

  private static void within(String what, JsonNode bound, long n, List<JsonNode> events) {
    long min = bound.isNumber() ? bound.asLong() : bound.path("min").asLong(0);
    long max = bound.isNumber() ? bound.asLong() : bound.path("max").asLong(Long.MAX_VALUE);
    if (n < min || n > max) {
      throw new ScenarioFailure(what + ": " + n + ", expected " + bound + "; log: " + summary(events));
    }
  }

  private static String summary(List<JsonNode> events) {
    StringBuilder b = new StringBuilder();
    for (JsonNode e : events.subList(0, Math.min(events.size(), 40))) {
      b.append(' ').append(e.path("ev").asText()).append(':').append(e.path("key").asText()).append('#')
          .append(e.path("seq").asLong()).append('@').append(e.path("node").asText());
    }
    return b.toString();
  }

  // ---- processes ----

  private void kill(String which) throws Exception {
    List<NodeProcess> victims = switch (which) {
      case "all" -> cluster.live();
      default -> List.of(select(which));
    };
    for (NodeProcess n : victims) {
      n.kill();
      killed.add(n);
    }
  }

  private void restart(String which) throws Exception {
    List<NodeProcess> again = which.equals("killed") ? List.copyOf(killed) : List.of(cluster.node(which));
    if (again.size() > 1) {
      // Restart together: a cluster whose every node was down needs a majority to elect anyone.
      List<Thread> threads = new ArrayList<>();
      List<Exception> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
      for (NodeProcess n : again) {
        threads.add(Thread.ofPlatform().start(() -> {
          try {
            cluster.restart(n);
          } catch (Exception e) {
            failures.add(e);
          }
        }));
      }
      for (Thread t : threads) {
        t.join();
      }
      if (!failures.isEmpty()) {
        throw new ScenarioFailure("restart: " + failures.getFirst().getMessage(), failures.getFirst());
      }
    } else {
      for (NodeProcess n : again) {
        cluster.restart(n);
      }
    }
    killed.removeAll(again);
  }

  /** "n2", "owner:ALIAS" (the workflow's owner now), "non_owner:ALIAS", or "" (the next live node in turn). */
  private NodeProcess select(String which) {
    if (which.isEmpty()) {
      List<NodeProcess> live = cluster.live();
      if (live.isEmpty()) {
        throw new ScenarioFailure("no live node");
      }
      return live.get(rotation++ % live.size());
    }
    if (which.startsWith("owner:") || which.startsWith("non_owner:")) {
      String alias = which.substring(which.indexOf(':') + 1);
      long owner = ownerOf(alias);
      if (which.startsWith("owner:")) {
        return cluster.byId(owner);
      }
      return cluster.live().stream().filter(n -> n.nodeId != owner).findFirst()
          .orElseThrow(() -> new ScenarioFailure("no live node other than the owner"));
    }
    return cluster.node(which);
  }

  private long ownerOf(String alias) {
    String id = Objects.requireNonNull(ids.get(alias), "no workflow " + alias);
    for (NodeProcess n : cluster.live()) {
      Reply r = cluster.surface(n).describe(id);
      if (r.isOk() && r.ok().path("info").path("ownerNode").asLong() != 0) {
        return r.ok().path("info").path("ownerNode").asLong();
      }
    }
    throw new ScenarioFailure("no live node knows the owner of " + alias);
  }

  private Surface surface(JsonNode step) {
    NodeProcess n = select(step.path("via").asText(""));
    if (!n.isAlive()) {
      throw new ScenarioFailure(n + " is not running");
    }
    return cluster.surface(n);
  }

  private String id(JsonNode step) {
    if (step.has("id")) {
      return idPrefix + step.get("id").asText(); // an id no start used: unknown to the cluster
    }
    String alias = step.path("wf").asText();
    String id = ids.get(alias);
    if (id == null) {
      throw new ScenarioFailure("no workflow '" + alias + "' was started");
    }
    return id;
  }

  // ---- comparisons ----

  private static void checkReply(Reply r, JsonNode expect, java.util.function.Consumer<JsonNode> onOk) {
    if (expect.has("error")) {
      String code = expect.get("error").asText();
      if (r.isOk()) {
        throw new ScenarioFailure("expected " + code + ", got " + r);
      }
      if (!code.equals(r.code())) {
        throw new ScenarioFailure("expected " + code + ", got " + r);
      }
      if (expect.has("error_type")) {
        same("error type", expect.get("error_type"), F.textNode(simpleType(r.detail() == null ? "" : r.detail())));
      }
      if (expect.has("message_contains")) {
        contains("message", r.message(), expect.get("message_contains").asText());
      }
      return;
    }
    if (!r.isOk()) {
      throw new ScenarioFailure("expected success, got " + r);
    }
    onOk.accept(r.ok());
  }

  /** "io.raftoral.conformance.interp.ConformanceError", "*main.ConformanceError", "mod.ConformanceError" → "ConformanceError". */
  static String simpleType(String type) {
    String t = type.startsWith("*") ? type.substring(1) : type;
    int cut = Math.max(t.lastIndexOf('.'), Math.max(t.lastIndexOf('$'), t.lastIndexOf(':')));
    return t.substring(cut + 1);
  }

  private static void same(String what, JsonNode expected, JsonNode actual) {
    if (!JsonCompare.equal(expected, actual)) {
      throw new ScenarioFailure(what + ": expected " + expected + ", got " + actual);
    }
  }

  private static void contains(String what, String actual, String part) {
    if (!actual.contains(part)) {
      throw new ScenarioFailure(what + " '" + actual + "' does not contain '" + part + "'");
    }
  }
}
