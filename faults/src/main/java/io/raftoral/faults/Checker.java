package io.raftoral.faults;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads a run's {@link History} and side-effect log and counts every broken invariant. Each count
 * must be zero; {@link Report#examples} names up to five workflows per invariant.
 *
 * <ul>
 *   <li><b>lost</b>: a start answered OK, yet no node reports the workflow ended at the end of
 *       the run (after every fault was healed and the cluster had time to finish);
 *   <li><b>vanished</b>: a start answered OK, and a node answers that the workflow does not exist;
 *   <li><b>failed</b>: a workflow ended FAILED (its program never fails);
 *   <li><b>two outcomes</b>: two answers about one workflow's end (awaits during the run and the
 *       final answers) differ in status or result;
 *   <li><b>nodes differ</b>: the final answers of the nodes differ (a subset of two outcomes,
 *       counted apart because it is a replica divergence);
 *   <li><b>termination not honoured</b>: a terminate answered TERMINATED, and the workflow ended
 *       otherwise;
 *   <li><b>committed step run again</b>: a compute step began at a position after some run of
 *       the workflow had begun a later position of that key (in the side-effect log's order). A
 *       run goes on to the next position only once the previous one is committed, so this is a
 *       side effect run again for a step whose value was already decided. A step that runs again
 *       because its first run was cut short (in flight at a crash, a pause, a cut) is allowed
 *       and counted apart ({@link Report#reruns});
 *   <li><b>result not from a run</b>: a committed compute value that no logged run of that
 *       position produced;
 *   <li><b>replica digests differ</b>: after the run, the replicas of a group do not converge;
 *   <li><b>not recovered</b>: after a fault was healed, no workflow could be started and awaited
 *       within the bound; or a node whose full disk was emptied did not serve again;
 *   <li><b>bad file used</b>: a node whose data directory was damaged (bytes of a log segment or
 *       a table file overwritten, a closed segment cut short) started and served on it instead
 *       of refusing it;
 *   <li><b>full disk not refused</b>: a node whose disk was full did not refuse a start
 *       UNAVAILABLE (it must say it cannot write, not time out or fail otherwise).
 * </ul>
 */
final class Checker {
  private Checker() {}

  /** Invariant names, in the order the report prints them. */
  static final List<String> INVARIANTS = List.of("lost", "vanished", "failed", "two_outcomes", "nodes_differ",
      "termination_not_honoured", "committed_step_run_again", "result_not_from_a_run", "replica_digests_differ", "not_recovered",
      "bad_file_used", "full_disk_not_refused");

  static Report check(List<JsonNode> history, List<JsonNode> effects) {
    Report r = new Report();
    INVARIANTS.forEach(name -> r.violations.put(name, 0));

    Set<String> acknowledged = new HashSet<>();
    Map<String, List<JsonNode>> outcomes = new HashMap<>(); // wf -> final answers (await during the run, final)
    Map<String, Map<Integer, JsonNode>> finals = new HashMap<>(); // wf -> node -> final answer
    Set<String> terminatedAck = new HashSet<>();
    for (JsonNode e : history) {
      String op = e.path("op").asText();
      String outcome = e.path("outcome").asText();
      r.operations.merge(op + (outcome.isEmpty() ? "" : ":" + outcome), 1, Integer::sum);
      String wf = e.path("wf").asText();
      switch (op) {
        case "start" -> {
          if (outcome.equals("ok")) {
            acknowledged.add(wf);
          }
        }
        case "await" -> {
          if (outcome.equals("ok")) {
            outcomes.computeIfAbsent(wf, k -> new ArrayList<>()).add(e);
          }
        }
        case "terminate" -> {
          if (outcome.equals("ok") && "TERMINATED".equals(e.path("status").asText())) {
            terminatedAck.add(wf);
          }
        }
        case "final" -> {
          finals.computeIfAbsent(wf, k -> new TreeMap<>()).put(e.path("node").asInt(), e);
          if (outcome.equals("ok")) {
            outcomes.computeIfAbsent(wf, k -> new ArrayList<>()).add(e);
          }
        }
        case "fault" -> {
          r.faults.merge(e.path("kind").asText(), 1, Integer::sum);
          if (e.has("refused_while_full") && !e.path("refused_while_full").asBoolean()) {
            r.violate("full_disk_not_refused", "victim " + e.path("victims"));
          }
          if (e.has("damage")) {
            r.damages.add(e.path("kind").asText() + " of n" + e.path("victims").path(0).asInt() + ": " + e.path("damage").asText());
          }
        }
        case "heal" -> {
          if (e.has("start")) {
            r.damages.add("  -> the node " + e.path("start").asText() + (e.has("refusal") ? " (" + e.path("refusal").asText() + ")" : ""));
            if (e.path("must_refuse").asBoolean() && e.path("start").asText().equals("served")) {
              r.violate("bad_file_used", e.path("kind").asText());
            }
          }
          if (e.has("served_again") && !e.path("served_again").asBoolean()) {
            r.violate("not_recovered", e.path("kind").asText() + ": the node did not serve again");
          }
        }
        case "recovered" -> {
          long ms = e.path("millis").asLong(-1);
          if (ms < 0) {
            r.violate("not_recovered", e.path("kind").asText());
          } else {
            r.recoveryMillis.add(ms);
          }
        }
        case "digests" -> {
          if (!e.path("equal").asBoolean()) {
            r.violate("replica_digests_differ", e.path("detail").asText());
          }
        }
        default -> {
          // list: counted above
        }
      }
    }
    r.acknowledged = acknowledged.size();

    for (String wf : acknowledged) {
      Map<Integer, JsonNode> answers = finals.getOrDefault(wf, Map.of());
      boolean ended = answers.values().stream().anyMatch(a -> isFinal(a.path("status").asText()));
      boolean missing = answers.values().stream().anyMatch(a -> "NOT_FOUND".equals(a.path("error").asText()));
      if (missing) {
        r.violate("vanished", wf);
      } else if (!ended) {
        r.violate("lost", wf);
      }
    }
    for (Map.Entry<String, List<JsonNode>> e : outcomes.entrySet()) {
      String wf = e.getKey();
      Set<String> distinct = new HashSet<>();
      e.getValue().forEach(a -> distinct.add(a.path("status").asText() + " " + a.path("result")));
      if (distinct.size() > 1) {
        r.violate("two_outcomes", wf + " " + distinct);
      }
      if (e.getValue().stream().anyMatch(a -> "FAILED".equals(a.path("status").asText()))) {
        r.violate("failed", wf);
      }
      if (terminatedAck.contains(wf) && e.getValue().stream().anyMatch(a -> !"TERMINATED".equals(a.path("status").asText()))) {
        r.violate("termination_not_honoured", wf);
      }
    }
    for (Map.Entry<String, Map<Integer, JsonNode>> e : finals.entrySet()) {
      Set<String> distinct = new HashSet<>();
      e.getValue().values().stream().filter(a -> a.path("outcome").asText().equals("ok"))
          .forEach(a -> distinct.add(a.path("status").asText() + " " + a.path("result")));
      if (distinct.size() > 1) {
        r.violate("nodes_differ", e.getKey() + " " + distinct);
      }
    }
    checkSteps(r, effects, outcomes);
    return r;
  }

  /** The nemesis's marks that take a node's ownership away: after one on the owner, another node must take over. */
  private static final Set<String> OWNER_LOST = Set.of("kill", "pause", "isolate", "cut-outgoing");
  private static final Set<String> OWNER_BACK = Set.of("restart", "resume", "heal");

  private static boolean isFinal(String status) {
    return status.equals("COMPLETED") || status.equals("FAILED") || status.equals("TERMINATED");
  }

  /** Re-runs and the origin of committed values, from the side-effect log. */
  private static void checkSteps(Report r, List<JsonNode> effects, Map<String, List<JsonNode>> outcomes) {
    Set<String> begun = new HashSet<>(); // "wf key seq"
    Map<String, Long> furthest = new HashMap<>(); // "wf key" -> the highest position begun
    Map<String, Set<String>> endedWith = new HashMap<>(); // "wf key seq" -> values its runs ended with
    String lastRunOn = null; // the node of the latest compute step begun: the owner
    long ownerLostAt = -1; // when the nemesis took that owner away (kill, pause, isolation), until another node begins a step
    String lostOwner = null;
    String lostBy = null; // the nemesis's mark: kill, pause, isolate, cut-outgoing
    for (JsonNode e : effects) {
      String ev = e.path("ev").asText();
      String node = e.path("node").asText();
      if (ev.equals("nemesis")) {
        String mark = e.path("key").asText();
        if (OWNER_LOST.contains(mark) && node.equals(lastRunOn) && ownerLostAt < 0) {
          ownerLostAt = e.path("ms").asLong();
          lostOwner = node;
          lostBy = mark;
        } else if (OWNER_BACK.contains(mark) && node.equals(lostOwner)) {
          ownerLostAt = -1; // back before another node took over (a short pause, a full restart): no failover
          lostOwner = null;
        }
        continue;
      }
      if (ev.equals("begin")) {
        if (ownerLostAt >= 0 && !node.equals(lostOwner)) {
          r.failoverMillis.add(e.path("ms").asLong() - ownerLostAt);
          r.failoverByCause.computeIfAbsent(lostBy, k -> new ArrayList<>()).add(e.path("ms").asLong() - ownerLostAt);
          ownerLostAt = -1;
        }
        lastRunOn = node;
      }
      String wfKey = e.path("wf").asText() + " " + e.path("key").asText();
      long seq = e.path("seq").asLong();
      String position = wfKey + " " + seq;
      if (ev.equals("begin")) {
        r.stepRuns++;
        if (!begun.add(position)) {
          r.reruns++;
        }
        Long ahead = furthest.get(wfKey);
        if (ahead != null && ahead > seq) {
          r.violate("committed_step_run_again", position + " on " + e.path("node").asText() + " after position " + ahead + " began");
        }
        furthest.merge(wfKey, seq, Math::max);
      } else if (ev.equals("end")) {
        endedWith.computeIfAbsent(position, k -> new HashSet<>()).add(e.path("value").asText());
      }
    }
    for (Map.Entry<String, List<JsonNode>> e : outcomes.entrySet()) {
      for (JsonNode answer : e.getValue()) {
        List<String> values = Workload.computeValues(answer.path("result"));
        for (int seq = 0; seq < values.size(); seq++) {
          String position = e.getKey() + " c " + seq;
          if (!endedWith.getOrDefault(position, Set.of()).contains(values.get(seq))) {
            r.violate("result_not_from_a_run", position + " = " + values.get(seq));
          }
        }
      }
    }
  }

  /** What a run did and every invariant's count. */
  static final class Report {
    final Map<String, Integer> violations = new LinkedHashMap<>();
    final Map<String, List<String>> examples = new LinkedHashMap<>();
    final Map<String, Integer> faults = new TreeMap<>();
    final Map<String, Integer> operations = new TreeMap<>();
    final List<Long> recoveryMillis = new ArrayList<>();
    // From the owner's loss (killed, paused, isolated, its packets dropped) to the first step begun by another node.
    final List<Long> failoverMillis = new ArrayList<>();
    final Map<String, List<Long>> failoverByCause = new TreeMap<>();
    // Each damaged data directory and what its node did at start.
    final List<String> damages = new ArrayList<>();
    int acknowledged;
    long stepRuns;
    long reruns;

    void violate(String invariant, String example) {
      violations.merge(invariant, 1, Integer::sum);
      List<String> ex = examples.computeIfAbsent(invariant, k -> new ArrayList<>());
      if (ex.size() < 5) {
        ex.add(example);
      }
    }

    boolean clean() {
      return violations.values().stream().allMatch(v -> v == 0);
    }

    long recoveryPercentile(double p) {
      return percentile(recoveryMillis, p);
    }

    static long percentile(List<Long> values, double p) {
      if (values.isEmpty()) {
        return -1;
      }
      List<Long> sorted = values.stream().sorted().toList();
      return sorted.get((int) Math.min(sorted.size() - 1, Math.ceil(p * sorted.size()) - 1));
    }

    /** The report as Markdown: faults, operations, invariants, recovery. */
    String markdown() {
      StringBuilder b = new StringBuilder();
      b.append("| fault | injected |\n|---|---:|\n");
      faults.forEach((k, v) -> b.append("| ").append(k).append(" | ").append(v).append(" |\n"));
      b.append("\n| operation:outcome | count |\n|---|---:|\n");
      operations.forEach((k, v) -> b.append("| ").append(k).append(" | ").append(v).append(" |\n"));
      b.append("\nacknowledged starts: ").append(acknowledged).append("; compute step runs: ").append(stepRuns)
          .append(" (runs again of a step cut short: ").append(reruns).append(")\n");
      b.append("\n| invariant | violations | examples |\n|---|---:|---|\n");
      violations.forEach((k, v) -> b.append("| ").append(k).append(" | ").append(v).append(" | ")
          .append(String.join("; ", examples.getOrDefault(k, List.of()))).append(" |\n"));
      if (!damages.isEmpty()) {
        b.append("\ndamaged data directories, and what each node did at its next start:\n\n");
        damages.forEach(d -> b.append(d.startsWith("  ") ? "  " + d.strip() : "- " + d).append('\n'));
      }
      b.append("\nrecovery after a fault healed (first workflow started and completed): p50 ")
          .append(recoveryPercentile(0.5)).append(" ms, max ").append(recoveryPercentile(1.0)).append(" ms over ")
          .append(recoveryMillis.size()).append(" faults\n");
      b.append("\nfailover (the owner killed, paused or cut off, to the next step begun by another node while it was gone): p50 ")
          .append(percentile(failoverMillis, 0.5)).append(" ms, p99 ").append(percentile(failoverMillis, 0.99)).append(" ms, max ")
          .append(percentile(failoverMillis, 1.0)).append(" ms over ").append(failoverMillis.size()).append(" owner losses\n");
      failoverByCause.forEach((cause, ms) -> b.append("- the owner's ").append(cause).append(": p50 ").append(percentile(ms, 0.5))
          .append(" ms, p99 ").append(percentile(ms, 0.99)).append(" ms, max ").append(percentile(ms, 1.0)).append(" ms over ")
          .append(ms.size()).append('\n'));
      return b.toString();
    }
  }
}
