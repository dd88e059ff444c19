package io.raftoral.conformance.interp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.conformance.Canonical;
import io.raftoral.conformance.Strings;
import io.raftoral.workflow.WorkflowContext;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs one conformance program (conformance/README.md, "The instruction set") inside a Java
 * workflow, through {@link WorkflowContext} only. One instance per run, and one more per branch of
 * a {@code parallel} instruction: the branches share the run's results (under {@link #lock}),
 * each has its own loop indices.
 */
final class Interpreter {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;
  /** How long {@code wait_terminated} waits at most before it fails the workflow. */
  private static final long WAIT_TERMINATED_MILLIS = 120_000;

  private final WorkflowContext ctx;
  private final int version;
  private final EffectLog log;
  /** Guards values, vars, errors and seq, which the branches of a {@code parallel} share. */
  private final Object lock;
  private final Map<String, ArrayNode> values;
  private final Map<String, WorkflowContext.ReplicatedVar<JsonNode>> vars;
  private final ArrayNode errors;
  /** The next position of each key in this run: the n-th write of a key is position n. */
  private final Map<String, Long> seq;
  private final Deque<Integer> loops;

  Interpreter(WorkflowContext ctx, int version, EffectLog log) {
    this.ctx = ctx;
    this.version = version;
    this.log = log;
    this.lock = new Object();
    this.values = new LinkedHashMap<>();
    this.vars = new LinkedHashMap<>();
    this.errors = F.arrayNode();
    this.seq = new HashMap<>();
    this.loops = new ArrayDeque<>();
  }

  /** A branch of {@code parallel}: the run's shared results, and a copy of the loop indices where it starts. */
  private Interpreter(Interpreter parent) {
    this.ctx = parent.ctx;
    this.version = parent.version;
    this.log = parent.log;
    this.lock = parent.lock;
    this.values = parent.values;
    this.vars = parent.vars;
    this.errors = parent.errors;
    this.seq = parent.seq;
    this.loops = new ArrayDeque<>(parent.loops);
  }

  JsonNode run(JsonNode input) throws Exception {
    JsonNode program = input == null ? null : input.get("program");
    if (program == null || !program.isArray()) {
      throw new ConformanceError("the input has no program array");
    }
    block(program);
    ObjectNode result = F.objectNode();
    result.put("version", version);
    ObjectNode v = result.putObject("values");
    values.forEach(v::set);
    if (!vars.isEmpty()) {
      ObjectNode o = result.putObject("vars");
      vars.forEach((k, var) -> o.set(k, var.get()));
    }
    if (!errors.isEmpty()) {
      result.set("errors", errors);
    }
    return result;
  }

  private void block(JsonNode ops) throws Exception {
    for (JsonNode op : ops) {
      step(op);
    }
  }

  private void step(JsonNode op) throws Exception {
    String name = op.path("op").asText();
    switch (name) {
      case "checkpoint" -> {
        String key = key(op);
        long n = position(key);
        JsonNode committed = ctx.checkpoint(key, eval(op.get("value")), JsonNode.class);
        wrote(key, committed);
        if (op.path("observe").asBoolean(false)) {
          log.write(ctx.workflowId(), "observe", key, n, 0, committed);
        }
      }
      case "compute" -> compute(op);
      case "var" -> {
        String key = key(op);
        WorkflowContext.ReplicatedVar<JsonNode> var = ctx.var(key, JsonNode.class, eval(op.get("initial")));
        synchronized (lock) {
          vars.put(key, var);
        }
        wrote(key, var.get());
      }
      case "var_set" -> {
        String key = key(op);
        wrote(key, var(key).set(eval(op.get("value"))));
      }
      case "var_add" -> {
        String key = key(op);
        long delta = op.path("delta").asLong();
        wrote(key, var(key).update(v -> F.numberNode(v.asLong() + delta)));
      }
      case "fail" -> throw new ConformanceError(op.path("message").asText());
      case "panic" -> panic();
      case "wait_terminated" -> {
        long deadline = System.nanoTime() + WAIT_TERMINATED_MILLIS * 1_000_000;
        while (!ctx.isTerminated()) {
          if (System.nanoTime() > deadline) {
            throw new ConformanceError("not terminated within " + WAIT_TERMINATED_MILLIS + " ms");
          }
          Thread.sleep(20);
        }
        log.write(ctx.workflowId(), "terminated_seen", "", 0, 0, null);
      }
      case "loop" -> {
        int times = op.path("times").asInt();
        for (int i = 0; i < times; i++) {
          loops.push(i);
          try {
            block(op.get("body"));
          } finally {
            loops.pop();
          }
        }
      }
      case "parallel" -> parallel(op.get("branches"));
      case "sleep" -> Thread.sleep(op.path("ms").asLong());
      case "try" -> {
        try {
          block(op.get("body"));
        } catch (Errors.WorkflowTerminatedException e) {
          throw e; // the function must unwind
        } catch (RaftoralException e) {
          synchronized (lock) {
            errors.add(Canonical.code(e));
          }
        }
      }
      default -> throw new ConformanceError("unknown op '" + name + "'");
    }
  }

  /**
   * Runs each branch on a thread of its own, all at once, and returns when every one has ended;
   * then the first failed branch (in branch order) fails the instruction with its error.
   */
  private void parallel(JsonNode branches) throws Exception {
    List<Thread> threads = new ArrayList<>();
    Throwable[] failures = new Throwable[branches.size()];
    for (int b = 0; b < branches.size(); b++) {
      Interpreter branch = new Interpreter(this);
      JsonNode ops = branches.get(b);
      int index = b;
      threads.add(Thread.ofPlatform().name("conformance-branch-" + b).start(() -> {
        try {
          branch.block(ops);
        } catch (Throwable t) {
          failures[index] = t;
        }
      }));
    }
    boolean interrupted = false;
    for (Thread t : threads) {
      // Every branch ends before the function goes on: its calls must not outlive the instruction.
      while (true) {
        try {
          t.join();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    for (Throwable t : failures) {
      switch (t) {
        case null -> {}
        case Exception e -> throw e;
        case Error e -> throw e; // also the run's abort, which must unwind the function
        default -> throw new IllegalStateException(t);
      }
    }
  }

  private void compute(JsonNode op) {
    String key = key(op);
    long n = position(key);
    int failAttempts = op.path("fail_attempts").asInt(0);
    boolean failAlways = op.path("fail_always").asBoolean(false);
    long sleepMs = op.path("sleep_ms").asLong(0);
    int[] attempt = {0};
    while (true) {
      try {
        JsonNode committed = ctx.checkpointCompute(key, JsonNode.class, () -> {
          int a = ++attempt[0];
          log.write(ctx.workflowId(), "begin", key, n, a, null);
          if (sleepMs > 0) {
            Thread.sleep(sleepMs);
          }
          if (failAlways || a <= failAttempts) {
            log.write(ctx.workflowId(), "fail", key, n, a, null);
            throw new ConformanceError("compute " + key + " failed (attempt " + a + ")");
          }
          JsonNode value = eval(op.get("value"));
          log.write(ctx.workflowId(), "end", key, n, a, value);
          return value;
        });
        wrote(key, committed);
        return;
      } catch (ConformanceError e) {
        if (failAlways || attempt[0] > failAttempts) {
          throw e;
        }
        // The failed attempt consumed no position: retry the same key (SPEC §3).
      }
    }
  }

  private WorkflowContext.ReplicatedVar<JsonNode> var(String key) {
    WorkflowContext.ReplicatedVar<JsonNode> var;
    synchronized (lock) {
      var = vars.get(key);
    }
    if (var == null) {
      throw new ConformanceError("no var '" + key + "' was created");
    }
    return var;
  }

  private long position(String key) {
    synchronized (lock) {
      return seq.getOrDefault(key, 0L);
    }
  }

  private void wrote(String key, JsonNode committed) {
    synchronized (lock) {
      seq.merge(key, 1L, Long::sum);
      values.computeIfAbsent(valuesKey(key), k -> F.arrayNode()).add(committed);
    }
  }

  /** A key that is not valid Unicode is recorded under its hex form, so a result shows it. */
  private static String valuesKey(String key) {
    return Strings.isWellFormed(key) ? key : "hex:" + Strings.hex(key);
  }

  /** The op's key; {@code {i}} in it stands for the innermost loop's index. */
  private String key(JsonNode op) {
    if (op.has("key_hex")) {
      return Strings.fromHexEscaped(op.get("key_hex").asText());
    }
    return op.path("key").asText().replace("{i}", Integer.toString(loops.isEmpty() ? 0 : loops.peek()));
  }

  private JsonNode eval(JsonNode e) {
    if (e == null) {
      return F.nullNode();
    }
    if (e.isObject() && e.size() >= 1 && e.has("$")) {
      String what = e.get("$").asText();
      return switch (what) {
        case "i" -> F.numberNode(loops.isEmpty() ? 0 : loops.peek());
        case "node" -> F.textNode(log.node());
        case "pad" -> F.textNode("x".repeat(e.path("n").asInt()));
        default -> throw new ConformanceError("unknown expression " + e);
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

  @SuppressWarnings("null")
  private static void panic() {
    Object nothing = null;
    nothing.hashCode(); // a NullPointerException: Java's unplanned fault
  }
}
