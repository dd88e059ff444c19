package io.raftoral.conformance.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The result a program must have, worked out from the program alone: the expectation of
 * {@code "result_of_program": true} (conformance/README.md, "Steps"). It runs the program on
 * one thread, the branches of {@code parallel} one after the other; a key written by more than
 * one thread (a variable that every branch updates) has values whose order depends on how the
 * threads met, so its values compare as a multiset. Only programs whose result is determined
 * are accepted: no {@code $node} value, no failures, no {@code try}.
 */
final class ProgramModel {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private final Map<String, ArrayNode> values = new LinkedHashMap<>();
  private final Map<String, JsonNode> vars = new LinkedHashMap<>();
  /** Key → the threads (branch paths, "" for the function's own) that wrote it. */
  private final Map<String, Set<String>> writers = new HashMap<>();
  private final Deque<Integer> loops = new ArrayDeque<>();
  private long writes;

  private ProgramModel() {}

  /** Works out the result of {@code program}; throws IllegalArgumentException when it is not determined. */
  static ProgramModel of(JsonNode program) {
    ProgramModel m = new ProgramModel();
    m.block(program, "");
    return m;
  }

  /** The number of writes (checkpoints, compute results, variable writes): the workflow's checkpoint count. */
  long writes() {
    return writes;
  }

  /**
   * Compares a workflow's result with this model's; returns what differs first, or null. Keys
   * written by one thread compare in order, keys written by several as multisets.
   */
  String difference(int version, JsonNode result) {
    if (result == null || !result.isObject()) {
      return "the result is not an object: " + result;
    }
    if (!JsonCompare.equal(F.numberNode(version), result.get("version"))) {
      return "version: expected " + version + ", got " + result.get("version");
    }
    if (result.has("errors")) {
      return "errors: expected none, got " + result.get("errors");
    }
    JsonNode got = result.path("values");
    Set<String> gotKeys = new HashSet<>();
    got.fieldNames().forEachRemaining(gotKeys::add);
    if (!gotKeys.equals(values.keySet())) {
      Set<String> missing = new HashSet<>(values.keySet());
      missing.removeAll(gotKeys);
      Set<String> extra = new HashSet<>(gotKeys);
      extra.removeAll(values.keySet());
      return "values: " + values.size() + " keys expected, " + gotKeys.size() + " got; missing " + first(missing)
          + ", unexpected " + first(extra);
    }
    for (Map.Entry<String, ArrayNode> e : values.entrySet()) {
      JsonNode actual = got.get(e.getKey());
      if (writers.get(e.getKey()).size() > 1) {
        String unmatched = multisetDifference(e.getValue(), actual);
        if (unmatched != null) {
          return "values of '" + e.getKey() + "' (any order): " + unmatched;
        }
      } else if (!JsonCompare.equal(e.getValue(), actual)) {
        return "values of '" + e.getKey() + "': expected " + brief(e.getValue()) + ", got " + brief(actual);
      }
    }
    if (vars.isEmpty() ? result.has("vars") : !JsonCompare.equal(varsNode(), result.get("vars"))) {
      return "vars: expected " + (vars.isEmpty() ? "none" : varsNode()) + ", got " + result.get("vars");
    }
    return null;
  }

  private ObjectNode varsNode() {
    ObjectNode o = F.objectNode();
    vars.forEach(o::set);
    return o;
  }

  private void block(JsonNode ops, String thread) {
    if (ops == null || !ops.isArray()) {
      throw new IllegalArgumentException("a program or body must be an array");
    }
    for (JsonNode op : ops) {
      step(op, thread);
    }
  }

  private void step(JsonNode op, String thread) {
    String name = op.path("op").asText();
    switch (name) {
      case "checkpoint" -> wrote(key(op), eval(op.get("value")), thread);
      case "compute" -> {
        if (op.path("fail_always").asBoolean(false)) {
          throw new IllegalArgumentException("a compute with fail_always fails the workflow");
        }
        wrote(key(op), eval(op.get("value")), thread);
      }
      case "var" -> {
        String key = key(op);
        vars.put(key, eval(op.get("initial")));
        wrote(key, vars.get(key), thread);
      }
      case "var_set" -> {
        String key = var(op);
        vars.put(key, eval(op.get("value")));
        wrote(key, vars.get(key), thread);
      }
      case "var_add" -> {
        String key = var(op);
        vars.put(key, F.numberNode(vars.get(key).decimalValue().add(op.path("delta").decimalValue())));
        wrote(key, vars.get(key), thread);
      }
      case "loop" -> {
        for (int i = 0; i < op.path("times").asInt(); i++) {
          loops.push(i);
          block(op.get("body"), thread);
          loops.pop();
        }
      }
      case "parallel" -> {
        JsonNode branches = op.path("branches");
        for (int b = 0; b < branches.size(); b++) {
          // A branch starts with the loop indices of the instruction and leaves them as they were.
          Deque<Integer> saved = new ArrayDeque<>(loops);
          block(branches.get(b), thread + "/" + b);
          loops.clear();
          loops.addAll(saved);
        }
      }
      case "sleep" -> {}
      default -> throw new IllegalArgumentException("the result of '" + name + "' is not determined by the program");
    }
  }

  private void wrote(String key, JsonNode value, String thread) {
    values.computeIfAbsent(key, k -> F.arrayNode()).add(value);
    writers.computeIfAbsent(key, k -> new HashSet<>()).add(thread);
    writes++;
  }

  private String var(JsonNode op) {
    String key = key(op);
    if (!vars.containsKey(key)) {
      throw new IllegalArgumentException("no var '" + key + "' was created");
    }
    if (!vars.get(key).isNumber() && op.path("op").asText().equals("var_add")) {
      throw new IllegalArgumentException("var_add on a var that is not a number: " + key);
    }
    return key;
  }

  private String key(JsonNode op) {
    if (op.has("key_hex")) {
      throw new IllegalArgumentException("key_hex is not modelled");
    }
    return op.path("key").asText().replace("{i}", Integer.toString(index()));
  }

  private int index() {
    return loops.isEmpty() ? 0 : loops.peek();
  }

  private JsonNode eval(JsonNode e) {
    if (e == null) {
      return F.nullNode();
    }
    if (e.isObject() && e.has("$")) {
      return switch (e.get("$").asText()) {
        case "i" -> F.numberNode(index());
        case "pad" -> F.textNode("x".repeat(e.path("n").asInt()));
        default -> throw new IllegalArgumentException("the value " + e + " is not determined by the program");
      };
    }
    if (e.isArray()) {
      ArrayNode a = F.arrayNode();
      e.forEach(x -> a.add(eval(x)));
      return a;
    }
    if (e.isObject()) {
      ObjectNode o = F.objectNode();
      e.properties().forEach(p -> o.set(p.getKey(), eval(p.getValue())));
      return o;
    }
    return e;
  }

  /** What is left when each expected element takes one equal actual element (numbers by value), or null if nothing. */
  private static String multisetDifference(JsonNode expected, JsonNode actual) {
    if (actual == null || !actual.isArray()) {
      return "expected " + expected.size() + " values, got " + actual;
    }
    List<JsonNode> left = new ArrayList<>();
    actual.forEach(left::add);
    List<JsonNode> missing = new ArrayList<>();
    for (JsonNode x : expected) {
      boolean found = false;
      for (Iterator<JsonNode> it = left.iterator(); it.hasNext(); ) {
        if (JsonCompare.equal(x, it.next())) {
          it.remove();
          found = true;
          break;
        }
      }
      if (!found) {
        missing.add(x);
      }
    }
    if (missing.isEmpty() && left.isEmpty()) {
      return null;
    }
    return expected.size() + " values expected, " + actual.size() + " got; missing " + missing.size() + " "
        + missing.subList(0, Math.min(10, missing.size())) + ", unexpected " + left.size() + " "
        + left.subList(0, Math.min(10, left.size()));
  }

  private static String first(Set<String> keys) {
    return keys.isEmpty() ? "none" : keys.stream().sorted().limit(5).toList() + (keys.size() > 5 ? " ..." : "");
  }

  private static String brief(JsonNode values) {
    String s = String.valueOf(values);
    return s.length() > 300 ? s.substring(0, 300) + "... (" + values.size() + " values)" : s;
  }
}
