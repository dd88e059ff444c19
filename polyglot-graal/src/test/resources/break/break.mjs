// Workflows that try to break polyglot-graal (GraalBreakTest, GraalDefectsTest): one dispatcher
// type "b-js" whose input {"case": name} picks what to try, and a few types of their own.
import { workflow, hostModule, RaftoralError, DeterminismError } from "raftoral";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const HOUR = 3600 * 1000;

function outcome(fn) {
  try {
    const r = fn();
    return { ok: r === undefined ? "undefined" : typeof r === "string" ? r : typeof r };
  } catch (e) {
    return { threw: e?.name ?? String(e) };
  }
}

async function caught(promise) {
  try {
    const v = await promise;
    return { ok: v === undefined ? "undefined" : v };
  } catch (e) {
    if (e === null || e === undefined || typeof e !== "object") {
      return { threwValue: String(e), type: typeof e };
    }
    return { threw: e.name, code: e.code ?? null, message: String(e.message) };
  }
}

const cases = {
  // ---- the determinism guard ----
  "clock-proto-ctor": () => outcome(() => new Date.prototype.constructor().getTime()),
  "clock-instance-ctor": () => outcome(() => new (new Date(0).constructor)().getTime()),
  "clock-intl": () => outcome(() => new Intl.DateTimeFormat("en-US", { timeStyle: "medium", timeZone: "UTC" }).format()),
  "clock-intl-parts": () => outcome(() => Intl.DateTimeFormat().formatToParts().length),
  "clock-date-call": () => outcome(() => Date()),
  "clock-reflect": () => outcome(() => Reflect.construct(Date, [])),
  "clock-subclass": () => outcome(() => { class D extends Date {} return new D(); }),
  "clock-bound": () => outcome(() => new (Date.bind(null))()),
  "clock-undefined-arg": () => ({ ok: String(new Date(undefined).getTime()) }),
  "clock-fixed-arg": () => ({ ok: new Date(0).toISOString() }),
  "clock-inside-async-compute": async (ctx) => caught(ctx.checkpointCompute("t", async () => {
    await sleep(1);
    return typeof Date.now();
  })),
  // Code outside the compute function, run while a compute function awaits: on the owner the
  // guard lets it read the clock; on the other nodes the compute does not run and it throws.
  "clock-beside-compute": async (ctx) => {
    let started;
    const computeStarted = new Promise((r) => (started = r));
    const [, beside] = await Promise.all([
      ctx.checkpointCompute("slow", async () => {
        started();
        await sleep(20);
        return 1;
      }),
      computeStarted.then(() => outcome(() => Date.now())),
    ]);
    return beside;
  },
  "host-beside-compute": async (ctx) => {
    const world = hostModule("world");
    let started;
    const computeStarted = new Promise((r) => (started = r));
    const [, beside] = await Promise.all([
      ctx.checkpointCompute("slow", async () => {
        started();
        await sleep(20);
        return 1;
      }),
      computeStarted.then(() => caught(world.touch("beside"))),
    ]);
    return beside;
  },
  "host-outside-compute": async (ctx) => {
    const world = hostModule("world");
    return caught(world.touch("outside"));
  },
  "globals-list": () => Object.getOwnPropertyNames(globalThis).sort().join(","),
  "new-global-clock": () => outcome(() => loadWithNewGlobal({ script: "Date.now()", name: "clock.js" })),
  "new-global-random": () => outcome(() => loadWithNewGlobal({ script: "Math.random()", name: "random.js" })),
  "load-script-clock": () => outcome(() => load({ script: "new Date().getTime()", name: "clock.js" })),
  "packages": () => outcome(() => Packages.java.lang.Runtime.getRuntime()),
  "packages-system": () => outcome(() => java.lang.System.getProperty("user.home")),
  "java-keys": () => Object.getOwnPropertyNames(Java).sort().join(","),
  "performance-now": () => (typeof performance === "undefined" ? "absent" : outcome(() => performance.now())),
  "globals": () => {
    const names = ["Java", "Polyglot", "Packages", "java", "javax", "quit", "exit", "read", "readbuffer", "readline",
      "load", "loadWithNewGlobal", "print", "printErr", "performance", "Temporal", "crypto", "Graal", "Realm",
      "WebAssembly", "process", "require", "fetch", "__raftoralHost", "SharedArrayBuffer", "Atomics", "WeakRef",
      "FinalizationRegistry", "setInterval", "setImmediate", "queueMicrotask"];
    const out = {};
    for (const n of names) out[n] = typeof globalThis[n];
    return out;
  },
  "quit": () => {
    if (typeof quit === "function") quit(3);
    if (typeof exit === "function") exit(3);
    return "no quit";
  },
  "java-type": () => outcome(() => Java.type("java.lang.Runtime")),
  "java-host-members": (ctx) => outcome(() => Object.getOwnPropertyNames(ctx).join(",")),

  // ---- errors that are not Errors ----
  "throw-string": () => { throw "a plain string"; },
  "throw-null": () => { throw null; },
  "throw-undefined": () => { throw undefined; },
  "throw-number": async () => { throw 42; },
  "throw-null-proto": async () => { throw Object.create(null); },
  "throw-getter": async () => {
    throw { message: "m", get name() { throw new Error("the name getter throws"); } };
  },
  "compute-throw-string": async (ctx) => caught(ctx.checkpointCompute("c", () => { throw "plain"; })),
  "compute-throw-undefined": async (ctx) => caught(ctx.checkpointCompute("c", () => Promise.reject(undefined))),
  "compute-throw-null-proto": async (ctx) => {
    const thrown = Object.create(null);
    try {
      await ctx.checkpointCompute("c", () => { throw thrown; });
      return "no error";
    } catch (e) {
      return e === thrown ? "the same object" : "another error";
    }
  },
  "compute-throw-getter": async (ctx) => {
    const thrown = { message: "m", get name() { throw new Error("the name getter throws"); } };
    try {
      await ctx.checkpointCompute("c", () => { throw thrown; });
      return "no error";
    } catch (e) {
      return e === thrown ? "the same object" : "another error";
    }
  },
  "compute-never": async (ctx) => caught(ctx.checkpointCompute("never", () => new Promise(() => {}))),
  "compute-never-uncaught": async (ctx) => ctx.checkpointCompute("never", () => new Promise(() => {})),
  "compute-stack-overflow": async (ctx) => {
    const f = (n) => f(n + 1) + 1;
    return caught(ctx.checkpointCompute("deep", () => f(0)));
  },
  "compute-ctx-beside-timer": async (ctx) => {
    // A ctx call inside a compute function, with a timeout raced beside it (a common pattern).
    return caught(Promise.race([
      ctx.checkpointCompute("outer", async () => await ctx.checkpoint("inner", 1)),
      sleep(HOUR).then(() => "timed out"),
    ]));
  },

  // ---- results and values ----
  "ret-undefined": () => undefined,
  "ret-function": () => () => 1,
  "ret-bigint": () => 10n,
  "ret-cyclic": () => { const a = {}; a.a = a; return a; },
  "ret-symbol": () => Symbol("s"),
  "checkpoint-bigint": async (ctx) => caught(ctx.checkpoint("b", 1n)),
  "checkpoint-cyclic": async (ctx) => { const a = []; a.push(a); return caught(ctx.checkpoint("b", a)); },
  "checkpoint-huge": async (ctx) => caught(ctx.checkpoint("big", "x".repeat(5 * 1024 * 1024))),
  "compute-huge": async (ctx) => caught(ctx.checkpointCompute("big", () => "x".repeat(5 * 1024 * 1024))),
  "result-huge": () => "x".repeat(5 * 1024 * 1024),
  "result-deep": () => {
    let v = [];
    for (let i = 0; i < 200000; i++) v = [v];
    return v;
  },
  "keys": async (ctx) => {
    const codes = [];
    for (const k of [1, null, undefined, {}, Symbol("k")]) {
      codes.push((await caught(ctx.checkpoint(k, 1))).code);
      codes.push((await caught(ctx.checkpointCompute(k, () => 1))).code);
      codes.push((await caught(ctx.var(k, 1))).code);
    }
    codes.push((await caught(ctx.checkpoint("", 1))).code);
    codes.push((await caught(ctx.checkpoint("\uD800", 1))).code);
    codes.push((await caught(ctx.checkpointCompute("k", 5))).code);
    return codes;
  },

  // ---- timers ----
  "timer-odd-delays": async () => {
    const fired = [];
    await Promise.all([NaN, -5, Infinity, -Infinity, "abc", undefined, null, 2 ** 80].map((d, i) =>
      i === 7 ? Promise.resolve(clearTimeout(setTimeout(() => fired.push("never"), d)))
        : new Promise((r) => setTimeout(() => { fired.push(i); r(); }, d))));
    return fired.sort();
  },
  "timer-many": async () => {
    const fired = [];
    await Promise.all(Array.from({ length: 5000 }, (_, i) => new Promise((r) => setTimeout(() => { fired.push(i); r(); }, 0))));
    return { count: fired.length, inOrder: fired.every((v, i) => v === i) };
  },
  "timer-args": async () => new Promise((r) => setTimeout((a, b) => r([a, b]), 1, "x", 2)),
  "clear-foreign": () => {
    clearTimeout(12345);
    clearTimeout(-1);
    clearTimeout("abc");
    clearTimeout(undefined);
    clearTimeout({});
    return "ok";
  },
  "clear-fraction": () => outcome(() => { clearTimeout(1.5); return "no-op"; }),
  "clear-nan": () => outcome(() => { clearTimeout(NaN); return "no-op"; }),
  "clear-huge": () => outcome(() => { clearTimeout(2 ** 64); return "no-op"; }),
  "timer-throws": async () => {
    setTimeout(() => { throw new RangeError("from a timer"); }, 1);
    await sleep(HOUR);
  },
  "timer-throws-string": async () => {
    setTimeout(() => { throw "plain from a timer"; }, 1);
    await sleep(HOUR);
  },
  "unhandled-rejection": async () => {
    Promise.reject(new Error("nobody listens"));
    return 1;
  },
  "then-throws": async () => {
    await Promise.resolve().then(() => { throw new SyntaxError("in a then callback"); });
  },
  "stack-overflow": () => {
    const f = (n) => f(n + 1) + 1;
    return f(0);
  },
  "same-key-all": async (ctx) => {
    const writes = [];
    for (let i = 0; i < 50; i++) {
      writes.push(i % 5 === 0 ? ctx.checkpointCompute("k", async () => { await sleep(1); return i; }) : ctx.checkpoint("k", i));
    }
    const values = await Promise.all(writes);
    const v = await ctx.var("v", 0);
    await Promise.all(Array.from({ length: 20 }, () => v.update((x) => x + 1)));
    return { values, v: v.get() };
  },
  "after-return": async (ctx) => {
    ctx.checkpoint("x", 1).then(() => ctx.checkpoint("y", 2));
    return "returned";
  },
  "poison-json": () => {
    JSON.parse = () => { throw new Error("JSON.parse poisoned by an earlier run"); };
    return "poisoned";
  },
  "poison-promise": () => {
    const then = Promise.prototype.then;
    Promise.prototype.then = function (ok, fail) {
      return then.call(this, ok && ((v) => ok(v === 1 ? 666 : v)), fail);
    };
    return "poisoned";
  },
  "plain": async (ctx) => ctx.checkpoint("p", 1),
  "dynamic-import": async (ctx, input) => caught(import(input.path).then((m) => JSON.stringify(m))),
  "wait-hour": async (ctx) => {
    const woken = sleep(HOUR);
    ctx.checkpoint("sleeping", 1); // in the turn that set the timer: once committed, the run only waits
    await woken;
    return "woke";
  },
  "terminate-in-compute": async (ctx) => {
    return ctx.checkpointCompute("hold", async () => {
      await hostModule("probe").mark(ctx.workflowId);
      await sleep(HOUR);
      return 1;
    });
  },
  "spin-in-compute": async (ctx) => ctx.checkpointCompute("spin", () => { for (;;) {} }),
};

async function dispatch(ctx, input) {
  const c = cases[input.case];
  if (!c) throw new TypeError(`no case ${input.case}`);
  return c(ctx, input);
}

export const b = workflow("b-js", 1, dispatch);
// Types of their own for the runs that change the globals of their context (pools are per type).
export const poisonJson = workflow("poison-json-js", 1, dispatch);
export const poisonPromise = workflow("poison-promise-js", 1, dispatch);

export const syncReturn = workflow("sync-return-js", 1, (ctx, input) => 42);
export const syncThrow = workflow("sync-throw-js", 1, (ctx, input) => {
  throw new TypeError("thrown synchronously");
});
export const echo = workflow("echo-js", 1, async (ctx, input) => input);

export const conc = workflow("conc-js", 1, async (ctx, n) => {
  const a = await ctx.checkpoint("a", n);
  const [b, c] = await Promise.all([
    ctx.checkpointCompute("b", async () => { await sleep(n % 7); return a * 2; }),
    ctx.checkpoint("c", a + 1),
  ]);
  await sleep(n % 3);
  const v = await ctx.var("v", 0);
  for (let i = 0; i < 3; i++) await v.update((x) => x + c);
  return [a, b, c, v.get()];
});

export const det = workflow("det-js", 1, async (ctx, input) => {
  const values = await Promise.all([
    ctx.checkpoint("k", "a"),
    ctx.checkpointCompute("k", async () => { await sleep(5); return "b"; }),
    ctx.checkpoint("k", "c"),
    ctx.checkpoint("j", 1),
    ctx.checkpointCompute("k", () => "d"),
    ctx.checkpoint("j", 2),
  ]);
  const v = await ctx.var("v", 0);
  await Promise.all(Array.from({ length: 10 }, (_, i) => v.update((x) => x + i)));
  values.push(v.get());
  await hostModule("probe").record(ctx.workflowId, JSON.stringify(values));
  return values;
});
