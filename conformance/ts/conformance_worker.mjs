// The ts-worker entry point of the conformance suite: a worker process beside one `raftoral node`,
// running the instruction-set interpreter (conformance/README.md) as worker-hosted workflows
// through @raftoral/worker (bindings-ts, built into bindings-ts/dist by `npm ci && npm run build`).
//
// Usage: node conformance/ts/conformance_worker.mjs --target HOST:PORT (the node's worker address).
// $CONFORMANCE_LOG names the side-effect log, $CONFORMANCE_NODE the node's label. Prints
// {"event":"registered","node_id":N} on stdout each time the worker has registered with its node
// (nothing else goes to stdout); exits on SIGTERM.
//
// JavaScript has no threads: the branches of `parallel` run as concurrent async tasks of the run,
// interleaving at their awaits, which is what the node sees of threads (concurrent ctx calls).

import { openSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

// The library is CommonJS (bindings-ts/dist/src); require it relative to this file.
const require = createRequire(import.meta.url);
const { Worker, RaftoralError, RunCancelledError } = require("../../bindings-ts/dist/src/index.js");

const NODE = process.env.CONFORMANCE_NODE ?? "?";
if (!process.env.CONFORMANCE_LOG) {
  process.stderr.write("conformance_worker: CONFORMANCE_LOG is not set\n");
  process.exit(2);
}
// "a": O_WRONLY | O_APPEND | O_CREAT. Each line is one write(2), so lines of concurrent processes never interleave.
const logFd = openSync(process.env.CONFORMANCE_LOG, "a", 0o644);

/** How long wait_terminated waits at most before it fails the workflow. */
const WAIT_TERMINATED_MS = 120_000;

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function logEvent(wf, ev, key, seq, attempt, value, hasValue = false) {
  const line = { wf, node: NODE, ev, key, seq, attempt };
  if (hasValue) {
    line.value = value;
  }
  writeSync(logFd, Buffer.from(JSON.stringify(line) + "\n", "utf8"));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the `fail` instruction raises; a failed workflow records its name. */
class ConformanceError extends Error {
  get name() {
    return "ConformanceError";
  }
}

/** The suite's name of an error of this library: its ErrorCode name without the ERR_ prefix. */
function canonical(error) {
  if (error instanceof RaftoralError && typeof error.code === "string" && error.code.startsWith("ERR_")) {
    return error.code.slice("ERR_".length);
  }
  return "INTERNAL";
}

/**
 * Raw bytes given as hex, as JavaScript text: the UTF-8 sequences decoded, every byte that is not
 * part of one a lone surrogate U+DC80..U+DCFF (Python's surrogateescape), which is no UTF-8 text.
 */
function fromHex(hex) {
  const bytes = Buffer.from(hex, "hex");
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len > 0 && i + len <= bytes.length) {
      const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
      try {
        out += text.decode(bytes.subarray(i, i + len));
        i += len;
        continue;
      } catch {
        // not a valid sequence: escape its first byte
      }
    }
    out += String.fromCharCode(0xdc00 + b);
    i += 1;
  }
  return out;
}

/** The results one run's tasks share: the run's and every branch's of `parallel`. */
class RunResults {
  values = {};
  vars = new Map();
  errors = [];
  seq = new Map();
}

/** One task of the interpreter: the run's, or a branch of `parallel`, with its own loop indices. */
class Interpreter {
  constructor(ctx, version, results = new RunResults(), loops = []) {
    this.ctx = ctx;
    this.version = version;
    this.results = results;
    this.loops = loops;
  }

  async run(input) {
    const program = input !== null && typeof input === "object" ? input.program : undefined;
    if (!Array.isArray(program)) {
      throw new ConformanceError("the input has no program array");
    }
    await this.block(program);
    const r = this.results;
    const result = { version: this.version, values: r.values };
    if (r.vars.size > 0) {
      result.vars = Object.fromEntries([...r.vars].map(([k, v]) => [k, v.get()]));
    }
    if (r.errors.length > 0) {
      result.errors = r.errors;
    }
    return result;
  }

  async block(ops) {
    for (const op of ops ?? []) {
      await this.step(op);
    }
  }

  async step(op) {
    switch (op?.op) {
      case "checkpoint": {
        const key = this.key(op);
        const n = this.position(key);
        const committed = await this.ctx.checkpoint(key, this.eval(op.value));
        this.wrote(op, key, committed);
        if (op.observe) {
          logEvent(this.ctx.workflowId, "observe", key, n, 0, committed, true);
        }
        return;
      }
      case "compute":
        return this.compute(op);
      case "var": {
        const key = this.key(op);
        const v = await this.ctx.var(key, this.eval(op.initial));
        this.results.vars.set(key, v);
        this.wrote(op, key, v.get());
        return;
      }
      case "var_set": {
        const key = this.key(op);
        this.wrote(op, key, await this.variable(key).set(this.eval(op.value)));
        return;
      }
      case "var_add": {
        const key = this.key(op);
        const delta = op.delta ?? 0;
        this.wrote(op, key, await this.variable(key).update((v) => v + delta));
        return;
      }
      case "fail":
        throw new ConformanceError(op.message ?? "");
      case "panic": {
        const missing = undefined;
        missing(); // a TypeError: JavaScript's unplanned fault
        return;
      }
      case "wait_terminated": {
        const deadline = Date.now() + WAIT_TERMINATED_MS;
        while (!this.ctx.isTerminated()) {
          if (Date.now() > deadline) {
            throw new ConformanceError(`not terminated within ${WAIT_TERMINATED_MS} ms`);
          }
          await sleep(20);
        }
        logEvent(this.ctx.workflowId, "terminated_seen", "", 0, 0);
        return;
      }
      case "loop":
        for (let i = 0; i < (op.times ?? 0); i++) {
          this.loops.push(i);
          try {
            await this.block(op.body);
          } finally {
            this.loops.pop();
          }
        }
        return;
      case "parallel":
        return this.parallel(op.branches ?? []);
      case "sleep":
        await sleep(op.ms ?? 0);
        return;
      case "try":
        try {
          await this.block(op.body);
        } catch (e) {
          // Cancellation (termination, a lost run) must unwind the function; ConformanceError and
          // JavaScript's own faults are not errors of the library's API.
          if (e instanceof RunCancelledError || !(e instanceof RaftoralError)) {
            throw e;
          }
          this.results.errors.push(canonical(e));
        }
        return;
      default:
        throw new ConformanceError(`unknown op ${JSON.stringify(op?.op)}`);
    }
  }

  /**
   * Runs every branch as a task of its own, all at once, and returns when every one has ended;
   * then the first failed branch (in branch order) fails the instruction with its error.
   */
  async parallel(branches) {
    const outcomes = await Promise.allSettled(branches.map((ops) =>
      new Interpreter(this.ctx, this.version, this.results, [...this.loops]).block(ops)));
    for (const o of outcomes) {
      if (o.status === "rejected") {
        throw o.reason;
      }
    }
  }

  async compute(op) {
    const key = this.key(op);
    const n = this.position(key);
    const failAttempts = op.fail_attempts ?? 0;
    const failAlways = op.fail_always ?? false;
    const sleepMs = op.sleep_ms ?? 0;
    const wf = this.ctx.workflowId;
    let attempt = 0;
    const effect = async () => {
      attempt++;
      logEvent(wf, "begin", key, n, attempt);
      if (sleepMs) {
        await sleep(sleepMs);
      }
      if (failAlways || attempt <= failAttempts) {
        logEvent(wf, "fail", key, n, attempt);
        throw new ConformanceError(`compute ${key} failed (attempt ${attempt})`);
      }
      const value = this.eval(op.value);
      logEvent(wf, "end", key, n, attempt, value, true);
      return value;
    };
    for (;;) {
      let committed;
      try {
        committed = await this.ctx.checkpointCompute(key, effect);
      } catch (e) {
        if (e instanceof ConformanceError && !failAlways && attempt <= failAttempts) {
          continue; // the failed attempt consumed no position: retry the same key (SPEC §3)
        }
        throw e;
      }
      this.wrote(op, key, committed);
      return;
    }
  }

  variable(key) {
    const v = this.results.vars.get(key);
    if (!v) {
      throw new ConformanceError(`no var ${JSON.stringify(key)} was created`);
    }
    return v;
  }

  position(key) {
    return this.results.seq.get(key) ?? 0;
  }

  wrote(op, key, committed) {
    const r = this.results;
    r.seq.set(key, (r.seq.get(key) ?? 0) + 1);
    // A key that is no UTF-8 text (key_hex) is named by its bytes, as the other interpreters do.
    const name = key.isWellFormed() ? key : `hex:${String(op.key_hex).toLowerCase()}`;
    (r.values[name] ??= []).push(committed);
  }

  /** The op's key; `{i}` in it stands for the innermost loop's index. */
  key(op) {
    if (op.key_hex !== undefined) {
      return fromHex(op.key_hex);
    }
    return String(op.key ?? "").replaceAll("{i}", String(this.innermost()));
  }

  innermost() {
    return this.loops.length > 0 ? this.loops[this.loops.length - 1] : 0;
  }

  eval(e) {
    if (Array.isArray(e)) {
      return e.map((x) => this.eval(x));
    }
    if (e !== null && typeof e === "object") {
      if ("$" in e) {
        switch (e.$) {
          case "i":
            return this.innermost();
          case "node":
            return NODE;
          case "pad":
            return "x".repeat(e.n ?? 0);
          default:
            throw new ConformanceError(`unknown expression ${JSON.stringify(e)}`);
        }
      }
      return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, this.eval(v)]));
    }
    return e;
  }
}

function workflow(version) {
  return (ctx, input) => new Interpreter(ctx, version).run(input);
}

const { values: args } = parseArgs({ options: { target: { type: "string" } } });
if (!args.target) {
  process.stderr.write("usage: conformance_worker.mjs --target HOST:PORT\n");
  process.exit(2);
}

const worker = new Worker({
  target: args.target,
  workerId: `conformance-ts-${NODE}`,
  reconnect: { initialMs: 100, maxMs: 1000 },
  onRegistered: (r) => send({ event: "registered", node_id: Number(r.node_id) }),
  logger: {
    debug: () => {},
    info: (m) => process.stderr.write(`${new Date().toISOString()} INFO ${m}\n`),
    warn: (m) => process.stderr.write(`${new Date().toISOString()} WARN ${m}\n`),
    error: (m) => process.stderr.write(`${new Date().toISOString()} ERROR ${m}\n`),
  },
});
worker.workflow("conformance", 1, workflow(1));
worker.workflow("conformance", 2, workflow(2));
worker.workflow("conformance_owner_only", 1, workflow(1), { mode: "owner_only" });
worker.workflow("conformance_keep_last", 1, workflow(1), { keepLastPerKey: 2 });

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    worker.stop().finally(() => process.exit(0));
  });
}

worker.run().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`conformance_worker: ${e?.stack ?? e}\n`);
    process.exit(1);
  },
);
