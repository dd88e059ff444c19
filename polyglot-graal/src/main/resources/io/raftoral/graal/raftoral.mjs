// The built-in module "raftoral" of JavaScript workflows (polyglot-graal/README.md; its types are
// raftoral.d.ts). Every context evaluates it once, before the workflow module that imports it.
// It talks to the node through one host object, taken from the global scope here and removed
// from it, so that workflow code reaches the node only through `ctx` and `hostModule`.

const host = globalThis.__raftoralHost;
delete globalThis.__raftoralHost;

const WORKFLOW = Symbol("raftoral.workflow");
const MODES = new Set(["hot_standby", "owner_only"]);

/** An error of the node's API; `code` is a name of the error-code table (INVALID_ARGUMENT, ...). */
export class RaftoralError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }

  get name() {
    return "RaftoralError";
  }
}

/** Thrown by Date.now(), new Date(), Date() and Math.random() outside a checkpointCompute function. */
export class DeterminismError extends Error {
  get name() {
    return "DeterminismError";
  }
}

/**
 * Declares a workflow type; export what it returns from the module. `fn(ctx, input)` may be
 * async. Options: `mode` ("hot_standby", the default, or "owner_only"), `keepLastPerKey` (0).
 */
export function workflow(name, version, fn, options = {}) {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`workflow name must be a non-empty string, got ${String(name)}`);
  }
  if (!Number.isInteger(version) || version < 1 || version > 2147483647) {
    throw new TypeError(`workflow ${name}: version must be an integer >= 1, got ${String(version)}`);
  }
  if (typeof fn !== "function") {
    throw new TypeError(`workflow ${name} v${version}: the workflow function is not a function`);
  }
  const mode = options?.mode ?? "hot_standby";
  if (!MODES.has(mode)) {
    throw new TypeError(`workflow ${name} v${version}: mode must be "hot_standby" or "owner_only", got ${String(mode)}`);
  }
  const keepLastPerKey = options?.keepLastPerKey ?? 0;
  if (!Number.isSafeInteger(keepLastPerKey) || keepLastPerKey < 0) {
    throw new TypeError(`workflow ${name} v${version}: keepLastPerKey must be an integer >= 0, got ${String(keepLastPerKey)}`);
  }
  return Object.freeze({ [WORKFLOW]: true, name, version, fn, mode, keepLastPerKey });
}

/**
 * The functions a host module of the node gives workflows (HostModule in Java): each takes JSON
 * values and returns a Promise of a JSON value. Most may only be called inside a
 * checkpointCompute function (the module says which).
 */
export function hostModule(name) {
  const found = host.hostModule(String(name));
  if (found === null) {
    throw new RaftoralError("INVALID_ARGUMENT", `no host module named ${JSON.stringify(String(name))} is installed on this node`);
  }
  const { computeOnly, functions } = JSON.parse(found);
  const module = {};
  for (const fnName of functions) {
    module[fnName] = (...args) => callHost(String(name), fnName, args, computeOnly);
  }
  return Object.freeze(module);
}

function callHost(module, fn, args, computeOnly) {
  return new Promise((resolve, reject) => {
    if (computeOnly && !host.mayReadClock()) {
      throw new DeterminismError(`${module}.${fn}() acts on the world: call it inside a ctx.checkpointCompute `
        + "function, which runs on the owner only and commits its result");
    }
    host.callHostFunction(module, fn, encode(args), (json) => resolve(JSON.parse(json)), reject);
  });
}

/** JSON text of a value; undefined (and what JSON drops) is null. */
function encode(value) {
  const json = JSON.stringify(value === undefined ? null : value);
  return json === undefined ? "null" : json;
}

function refused(code, message) {
  return Promise.reject(new RaftoralError(code, message));
}

/** A value replicated through checkpoints of one key: `get` is local, `set` and `update` commit. */
class ReplicatedVar {
  #ctx;
  #key;
  #value;
  #chain = Promise.resolve(); // updates run one after another, so concurrent ones are not lost

  constructor(ctx, key, value) {
    this.#ctx = ctx;
    this.#key = key;
    this.#value = value;
  }

  get key() {
    return this.#key;
  }

  get() {
    return this.#value;
  }

  set(value) {
    return this.#serial(async () => (this.#value = await this.#ctx.checkpoint(this.#key, value)));
  }

  update(fn) {
    return this.#serial(async () => (this.#value = await this.#ctx.checkpoint(this.#key, fn(this.#value))));
  }

  #serial(op) {
    const next = this.#chain.then(op, op);
    this.#chain = next.catch(() => undefined);
    return next;
  }
}

function makeContext(run, type, version) {
  const ctx = {
    workflowId: run.workflowId(),
    type,
    version,
    isOwner: () => run.isOwner(),
    isTerminated: () => run.isTerminated(),
    checkpoint(key, value) {
      if (typeof key !== "string") {
        return refused("INVALID_ARGUMENT", `a checkpoint key must be a string, got ${typeof key}`);
      }
      let json;
      try {
        json = encode(value);
      } catch (e) {
        return refused("CODEC", `the value of ${key} is not JSON: ${e?.message ?? e}`);
      }
      return new Promise((resolve, reject) => run.checkpoint(key, json, (out) => resolve(JSON.parse(out)), reject));
    },
    checkpointCompute(key, fn) {
      if (typeof key !== "string") {
        return refused("INVALID_ARGUMENT", `a checkpoint key must be a string, got ${typeof key}`);
      }
      if (typeof fn !== "function") {
        return refused("INVALID_ARGUMENT", `checkpointCompute(${JSON.stringify(key)}, fn): fn is not a function`);
      }
      return new Promise((resolve, reject) => run.compute(key, fn, (out) => resolve(JSON.parse(out)), reject));
    },
    async var(key, initial) {
      return new ReplicatedVar(ctx, key, await ctx.checkpoint(key, initial));
    },
  };
  return Object.freeze(ctx);
}

// Determinism: the nodes that run a workflow must compute the same values between checkpoints,
// so the clock and the random generator are refused outside a checkpointCompute function (which
// runs on the owner only, its result committed).
const realNow = Date.now;
const realRandom = Math.random;
const RealDate = Date;

function guard(what) {
  if (!host.mayReadClock()) {
    throw new DeterminismError(`${what} differs between the nodes that run a workflow: call it inside a `
      + "ctx.checkpointCompute function, whose result is committed");
  }
}

Object.defineProperty(RealDate, "now", {
  value: function now() {
    guard("Date.now()");
    return realNow();
  },
  writable: true,
  configurable: true,
});
Math.random = function random() {
  guard("Math.random()");
  return realRandom();
};
const GuardedDate = new Proxy(RealDate, {
  construct(target, args, newTarget) {
    if (args.length === 0) {
      guard("new Date()");
    }
    return Reflect.construct(target, args, newTarget === GuardedDate ? target : newTarget);
  },
  apply(target, self, args) {
    guard("Date()");
    return Reflect.apply(target, self, args);
  },
});
Object.defineProperty(globalThis, "Date", { value: GuardedDate, writable: true, configurable: true });

// Timers of the run's event loop (not durable: a restarted run starts them again).
globalThis.setTimeout = (fn, ms = 0, ...args) => {
  if (typeof fn !== "function") {
    throw new TypeError("setTimeout needs a function");
  }
  return host.setTimeout(() => fn(...args), Number(ms) || 0);
};
globalThis.clearTimeout = (id) => {
  if (typeof id === "number") {
    host.clearTimeout(id);
  }
};

// What the node calls (io.raftoral.graal.ModuleHost).
host.install(
  // the workflows a module exports: [{exportName, name, version, mode, keepLastPerKey}] as JSON
  (namespace) => JSON.stringify(Object.keys(namespace).filter((k) => namespace[k]?.[WORKFLOW] === true).map((k) => {
    const w = namespace[k];
    return { exportName: k, name: w.name, version: w.version, mode: w.mode, keepLastPerKey: w.keepLastPerKey };
  })),
  // starts a run: calls run.finished(json) or run.failed(error) once the function settles
  (namespace, exportName, input, run) => {
    const w = namespace[exportName];
    let result;
    try {
      result = Promise.resolve(w.fn(makeContext(run, w.name, w.version), JSON.parse(input)));
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then((value) => {
      let json;
      try {
        json = encode(value);
      } catch (e) {
        run.failed(e);
        return;
      }
      run.finished(json);
    }, (e) => run.failed(e));
  },
  // runs a compute function: calls done(json) or failed(error) once it settles
  (fn, done, failed) => {
    let result;
    try {
      result = Promise.resolve(fn());
    } catch (e) {
      result = Promise.reject(e);
    }
    result.then((value) => {
      let json;
      try {
        json = encode(value);
      } catch (e) {
        failed(e);
        return;
      }
      done(json);
    }, failed);
  },
  // an error of the node's API, to reject a promise with
  (code, message) => new RaftoralError(code, message),
  // what an error is called: [name, message]
  (e) => {
    if (e instanceof Error || (e !== null && typeof e === "object" && "message" in e)) {
      return [String(e.name ?? "Error"), String(e.message ?? "")];
    }
    return ["Error", String(e)];
  },
);
