// The built-in module "raftoral" of JavaScript workflows (polyglot-graal/README.md; its types are
// raftoral.d.ts). Every context evaluates it once, before the workflow module that imports it.
// It talks to the node through one host object, taken from the global scope here and removed
// from it, so that workflow code reaches the node only through `ctx` and `hostModule`.

const host = globalThis.__raftoralHost;
delete globalThis.__raftoralHost;

// The built-ins this module uses at run time, taken now: a run that replaces one (JSON.parse,
// Promise.prototype.then, ...) must not change how later runs talk to the node. (Such a run's
// context is discarded afterwards anyway: see snapshotGlobals below.)
const { parse: jsonParse, stringify: jsonStringify } = JSON;
const PromiseCtor = Promise;
const promiseThen = Promise.prototype.then;
const promiseResolve = Promise.resolve.bind(Promise);
const promiseReject = Promise.reject.bind(Promise);
const freeze = Object.freeze;
const objectKeys = Object.keys;
const objectIs = Object.is;
const reflectOwnKeys = Reflect.ownKeys;
const getOwnDescriptor = Reflect.getOwnPropertyDescriptor;
const getOwnNames = Object.getOwnPropertyNames;
const arrayPush = Array.prototype.push;
const isSafeInteger = Number.isSafeInteger;
const then = (promise, ok, fail) => promiseThen.call(promise, ok, fail);

// Whether the code running now belongs to a checkpointCompute function: its synchronous part and
// every continuation of it (awaits, then-callbacks and timers it set up), whatever else of the run
// runs in the same turn. The clock may be read there and ctx may not be called (AsyncContext).
const inCompute = new AsyncContext.Variable({ name: "raftoral.compute", defaultValue: false });
const computing = () => inCompute.get() === true;
const AsyncSnapshot = AsyncContext.Snapshot;

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
    throw new RaftoralError("INVALID_ARGUMENT", `no host module named ${jsonStringify(String(name))} is installed on this node`);
  }
  const { computeOnly, functions } = jsonParse(found);
  const module = {};
  for (const fnName of functions) {
    module[fnName] = (...args) => callHost(String(name), fnName, args, computeOnly);
  }
  return freeze(module);
}

function callHost(module, fn, args, computeOnly) {
  return new PromiseCtor((resolve, reject) => {
    if (computeOnly && host.inRun() && !computing()) {
      throw new DeterminismError(`${module}.${fn}() acts on the world: call it inside a ctx.checkpointCompute `
        + "function, which runs on the owner only and commits its result");
    }
    host.callHostFunction(module, fn, encode(args), computing(), (json) => resolve(jsonParse(json)), reject);
  });
}

/** JSON text of a value; undefined (and what JSON drops) is null. */
function encode(value) {
  const json = jsonStringify(value === undefined ? null : value);
  return json === undefined ? "null" : json;
}

function refused(code, message) {
  return promiseReject(new RaftoralError(code, message));
}

/** A ctx call from inside a compute function: it would exist on the owner only, and wait for the function. */
function insideCompute(what) {
  return refused("INVALID_ARGUMENT", `ctx.${what} inside a checkpointCompute function: a compute function may not use ctx `
    + "(its calls would exist on the owner only)");
}

/** A value replicated through checkpoints of one key: `get` is local, `set` and `update` commit. */
class ReplicatedVar {
  #ctx;
  #key;
  #value;
  #chain = promiseResolve(); // updates run one after another, so concurrent ones are not lost

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
    const next = then(this.#chain, op, op);
    this.#chain = then(next, undefined, () => undefined);
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
      if (computing()) {
        return insideCompute("checkpoint");
      }
      if (typeof key !== "string") {
        return refused("INVALID_ARGUMENT", `a checkpoint key must be a string, got ${typeof key}`);
      }
      let json;
      try {
        json = encode(value);
      } catch (e) {
        return refused("CODEC", `the value of ${key} is not JSON: ${e?.message ?? e}`);
      }
      return new PromiseCtor((resolve, reject) => run.checkpoint(key, json, (out) => resolve(jsonParse(out)), reject));
    },
    checkpointCompute(key, fn) {
      if (computing()) {
        return insideCompute("checkpointCompute");
      }
      if (typeof key !== "string") {
        return refused("INVALID_ARGUMENT", `a checkpoint key must be a string, got ${typeof key}`);
      }
      if (typeof fn !== "function") {
        return refused("INVALID_ARGUMENT", `checkpointCompute(${jsonStringify(key)}, fn): fn is not a function`);
      }
      return new PromiseCtor((resolve, reject) => run.compute(key, fn, (out) => resolve(jsonParse(out)), reject));
    },
    async var(key, initial) {
      return new ReplicatedVar(ctx, key, await ctx.checkpoint(key, initial));
    },
  };
  return freeze(ctx);
}

// Determinism: the nodes that run a workflow must compute the same values between checkpoints,
// so the clock and the random generator are refused outside a checkpointCompute function (which
// runs on the owner only, its result committed).
const realNow = Date.now;
const realRandom = Math.random;
const RealDate = Date;

function guard(what) {
  if (!computing()) {
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
// new (new Date(0).constructor)() must not reach the real constructor either.
Object.defineProperty(RealDate.prototype, "constructor", { value: GuardedDate, writable: true, configurable: true });
// Intl.DateTimeFormat formats the current time when given no date.
for (const name of ["format", "formatToParts"]) {
  const proto = Intl.DateTimeFormat.prototype;
  const descriptor = getOwnDescriptor(proto, name);
  const real = descriptor.get ? descriptor.get : null;
  if (real) { // format is a getter returning a bound function
    Object.defineProperty(proto, name, {
      get() {
        const bound = real.call(this);
        return (date) => {
          if (date === undefined) {
            guard(`Intl.DateTimeFormat().${name}()`);
          }
          return bound(date);
        };
      },
      configurable: true,
    });
  } else {
    const fn = descriptor.value;
    Object.defineProperty(proto, name, {
      value: function (date) {
        if (date === undefined) {
          guard(`Intl.DateTimeFormat().${name}()`);
        }
        return fn.call(this, date);
      },
      writable: true,
      configurable: true,
    });
  }
}

// Timers of the run's event loop (not durable: a restarted run starts them again).
globalThis.setTimeout = (fn, ms = 0, ...args) => {
  if (typeof fn !== "function") {
    throw new TypeError("setTimeout needs a function");
  }
  const snapshot = new AsyncSnapshot(); // the callback runs in the context it was set up in
  return host.setTimeout(() => snapshot.run(() => fn(...args)), Number(ms) || 0);
};
globalThis.clearTimeout = (id) => {
  if (isSafeInteger(id)) {
    host.clearTimeout(id);
  }
};

/**
 * What a run may change without changing later runs of the same context: nothing of the global
 * scope and the built-ins (their own properties and their prototypes'). The node takes this
 * snapshot once the workflow module has loaded and asks `changed()` after every run; a context
 * whose globals changed is discarded (module-level state is the module's business: README).
 */
function snapshotGlobals() {
  const entries = [];
  const seen = new Set();
  const add = (object) => {
    if ((typeof object !== "object" && typeof object !== "function") || object === null || seen.has(object)) {
      return;
    }
    seen.add(object);
    for (const key of reflectOwnKeys(object)) {
      const d = getOwnDescriptor(object, key);
      arrayPush.call(entries, [object, key, "value" in d ? d.value : d.get]);
    }
  };
  add(globalThis);
  for (const name of getOwnNames(globalThis)) {
    const d = getOwnDescriptor(globalThis, name);
    if ("value" in d && d.value !== globalThis) {
      add(d.value);
      if (typeof d.value === "function") {
        add(d.value.prototype);
      }
    }
  }
  add(Object.getPrototypeOf(async function () {}));
  add(Object.getPrototypeOf(function* () {}));
  add(Object.getPrototypeOf([][Symbol.iterator]()));
  add(Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())));
  const count = entries.length;
  // What changed (for the node's log), or null.
  return () => {
    for (let i = 0; i < count; i++) {
      const [object, key, value] = entries[i];
      const d = getOwnDescriptor(object, key);
      if (d === undefined || !objectIs("value" in d ? d.value : d.get, value)) {
        const what = object === globalThis ? "the global object"
          : String(object?.[Symbol.toStringTag] ?? object?.name ?? object?.constructor?.name ?? typeof object);
        return `${String(key)} of ${what}`;
      }
    }
    let now = 0;
    for (const object of seen) {
      now += reflectOwnKeys(object).length;
    }
    return now === count ? null : "a property was added to the global object or a built-in";
  };
}

// What the node calls (io.raftoral.graal.ModuleHost).
host.install(
  // the workflows a module exports: [{exportName, name, version, mode, keepLastPerKey}] as JSON
  (namespace) => jsonStringify(objectKeys(namespace).filter((k) => namespace[k]?.[WORKFLOW] === true).map((k) => {
    const w = namespace[k];
    return { exportName: k, name: w.name, version: w.version, mode: w.mode, keepLastPerKey: w.keepLastPerKey };
  })),
  // starts a run: calls run.finished(json) or run.failed(error) once the function settles
  (namespace, exportName, input, run) => {
    const w = namespace[exportName];
    let result;
    try {
      result = promiseResolve(w.fn(makeContext(run, w.name, w.version), jsonParse(input)));
    } catch (e) {
      result = promiseReject(e);
    }
    then(result, (value) => {
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
  // runs a compute function: calls done(json) or failed(error) once it settles; its synchronous
  // part runs inside the compute (the clock may be read, ctx may not be called)
  (fn, done, failed) => {
    const result = inCompute.run(true, () => {
      try {
        return promiseResolve(fn());
      } catch (e) {
        return promiseReject(e);
      }
    });
    then(result, (value) => {
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
  // what an error is called: [name, message], whatever was thrown (getters that throw, no prototype)
  (e) => {
    const text = (read) => {
      try {
        const v = read();
        return v === undefined || v === null ? undefined : String(v);
      } catch {
        return undefined;
      }
    };
    if (e !== null && (typeof e === "object" || typeof e === "function")) {
      const name = text(() => e.name);
      const message = text(() => e.message);
      if (name !== undefined || message !== undefined) {
        return [name && name.length > 0 ? name : "Error", message ?? ""];
      }
      return ["Error", text(() => jsonStringify(e)) ?? "(an object that cannot be printed)"];
    }
    try {
      return ["Error", String(e)];
    } catch {
      return ["Error", "(a value that cannot be printed)"];
    }
  },
  // an Error named `name`, for the node's own failures of a run (DeadlockError)
  (name, message) => {
    const e = new Error(message);
    Object.defineProperty(e, "name", { value: name });
    return e;
  },
  snapshotGlobals,
);
