// The conformance suite's instruction-set interpreter in JavaScript (conformance/README.md), shared
// by the ts-worker entry point (conformance/ts/conformance_worker.mjs, Node.js over bindings-ts)
// and the js entry point (conformance.mjs, inside the node through polyglot-graal). Plain
// ECMAScript plus setTimeout: no Node.js API, no clock (GraalJS refuses it outside compute
// functions). What differs between the two comes in as hooks:
//   logEvent(wf, ev, key, seq, attempt, value, hasValue): the side-effect log (may return a promise)
//   apiErrorCode(e): the suite's name of an error of the API that `try` records, or undefined for
//     anything it must let through (cancellation, termination, JavaScript's own faults)
//
// JavaScript has no threads: the branches of `parallel` run as concurrent async tasks of the run,
// interleaving at their awaits, which is what the node sees of threads (concurrent ctx calls).

/** How long wait_terminated waits at most before it fails the workflow (the clock is refused: it counts polls). */
const WAIT_TERMINATED_POLLS = 120_000 / 20;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the `fail` instruction raises; a failed workflow records its name. */
export class ConformanceError extends Error {
  get name() {
    return "ConformanceError";
  }
}

/**
 * Raw bytes given as hex, as JavaScript text: the UTF-8 sequences decoded, every byte that is not
 * part of one a lone surrogate U+DC80..U+DCFF (Python's surrogateescape), which is no UTF-8 text.
 */
export function fromHex(hex) {
  const bytes = [];
  for (let i = 0; i + 1 < hex.length; i += 2) {
    bytes.push(parseInt(hex.slice(i, i + 2), 16));
  }
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    const cp = len > 0 && i + len <= bytes.length ? decodeSequence(bytes, i, len) : -1;
    if (cp >= 0) {
      out += String.fromCodePoint(cp);
      i += len;
    } else {
      out += String.fromCharCode(0xdc00 + b);
      i += 1;
    }
  }
  return out;
}

/** The code point of a well-formed UTF-8 sequence of `len` bytes at `i`, or -1. */
function decodeSequence(bytes, i, len) {
  if (len === 1) {
    return bytes[i];
  }
  let cp = bytes[i] & (0xff >> (len + 1));
  for (let k = 1; k < len; k++) {
    const c = bytes[i + k];
    if ((c & 0xc0) !== 0x80) {
      return -1;
    }
    cp = (cp << 6) | (c & 0x3f);
  }
  const min = [0, 0, 0x80, 0x800, 0x10000][len];
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return -1;
  }
  return cp;
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
  constructor(ctx, version, node, hooks, results = new RunResults(), loops = []) {
    this.ctx = ctx;
    this.version = version;
    this.node = node;
    this.hooks = hooks;
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
          await this.hooks.logEvent(this.ctx.workflowId, "observe", key, n, 0, committed, true);
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
        for (let polls = 0; !this.ctx.isTerminated(); polls++) {
          if (polls > WAIT_TERMINATED_POLLS) {
            throw new ConformanceError(`not terminated within ${WAIT_TERMINATED_POLLS} polls of 20 ms`);
          }
          await sleep(20);
        }
        await this.hooks.logEvent(this.ctx.workflowId, "terminated_seen", "", 0, 0);
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
          // JavaScript's own faults are not errors of the API.
          const code = this.hooks.apiErrorCode(e);
          if (code === undefined) {
            throw e;
          }
          this.results.errors.push(code);
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
      new Interpreter(this.ctx, this.version, this.node, this.hooks, this.results, [...this.loops]).block(ops)));
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
      await this.hooks.logEvent(wf, "begin", key, n, attempt);
      if (sleepMs) {
        await sleep(sleepMs);
      }
      if (failAlways || attempt <= failAttempts) {
        await this.hooks.logEvent(wf, "fail", key, n, attempt);
        throw new ConformanceError(`compute ${key} failed (attempt ${attempt})`);
      }
      const value = this.eval(op.value);
      await this.hooks.logEvent(wf, "end", key, n, attempt, value, true);
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
            return this.node;
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

/** Runs the program of `input` as workflow `version` on `ctx`; `node` is the node's label. */
export function runProgram(ctx, version, node, input, hooks) {
  return new Interpreter(ctx, version, node, hooks).run(input);
}
