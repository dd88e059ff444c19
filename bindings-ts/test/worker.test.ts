import { test, describe, before, after, afterEach } from "node:test";
import * as assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import {
  Worker, RaftoralError, CallFailedError, RunCancelledError, RegistrationError, type WorkflowContext,
} from "../src/index";
import { FakeNode, FakeStream, j, dj, execute, deferred } from "./fake-node";

let node: FakeNode;
let workers: Worker[] = [];
let runs: Promise<void>[] = [];

before(async () => {
  node = await FakeNode.start();
});

after(() => {
  node.stop();
});

afterEach(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await Promise.allSettled(runs);
  workers = [];
  runs = [];
  // Streams a test left open must not leak into the next test.
  node.streams.drain();
});

function start(setup: (w: Worker) => void, options: Partial<ConstructorParameters<typeof Worker>[0]> = {}): Worker {
  const w = new Worker({ target: node.target, workerId: "test-worker", reconnect: { initialMs: 20, maxMs: 100 }, ...options });
  setup(w);
  workers.push(w);
  runs.push(w.run());
  return w;
}

async function expectResult(s: FakeStream, run: number): Promise<unknown> {
  const m = await s.recv();
  assert.equal(m.kind, "workflow_result", `expected a workflow_result, got ${JSON.stringify(m)}`);
  assert.equal(m.workflow_result!.run, String(run));
  assert.ok(m.workflow_result!.error === null || m.workflow_result!.error === undefined,
    `the run failed: ${JSON.stringify(m.workflow_result!.error)}`);
  s.send({ ack: { run } });
  return dj(m.workflow_result!.result);
}

describe("registration", () => {
  test("Register names the worker, the protocol version, the types and the run limit", async () => {
    const w = start((w) => {
      w.workflow("order", 1, async () => 1);
      w.workflow("order", 2, async () => 2, { mode: "owner_only", keepLastPerKey: 3 });
    }, { maxConcurrentRuns: 8 });
    const s = await node.nextStream();
    const reg = await s.register({ node_id: 42 });
    assert.equal(reg.worker_id, "test-worker");
    assert.deepEqual(reg.protocol_versions, [1]);
    assert.equal(reg.max_concurrent_runs, 8);
    assert.match(reg.library, /^raftoral-ts\//);
    assert.deepEqual(reg.types.map((t) => [t.name, t.version, t.mode, String(t.keep_last_per_key)]),
      [["order", 1, "HOT_STANDBY", "0"], ["order", 2, "OWNER_ONLY", "3"]]);
    // Registered is read: a run executes.
    s.send(execute(1, "order", null, { version: 2 }));
    assert.equal(await expectResult(s, 1), 2);
    assert.equal(w.registered?.node_id, "42");
  });

  test("a registration the node refuses ends run() with RegistrationError, without retrying", async () => {
    const w = new Worker({ target: node.target, reconnect: { initialMs: 20, maxMs: 100 } });
    w.workflow("order", 1, async () => 1);
    workers.push(w);
    const p = w.run();
    const s = await node.nextStream();
    await s.recv();
    s.fail(grpc.status.FAILED_PRECONDITION, "order v1 runs embedded on this node");
    await assert.rejects(p, (e: unknown) => e instanceof RegistrationError && e.code === "ERR_ALREADY_REGISTERED"
      && /embedded/.test(e.message));
    assert.equal(node.streams.size, 0);
  });

  test("registering the same (name, version) twice is refused with ERR_ALREADY_REGISTERED", () => {
    const w = new Worker({ target: node.target });
    w.workflow("order", 1, async () => 1);
    w.workflow("order", 2, async () => 1);
    assert.throws(() => w.workflow("order", 1, async () => 2),
      (e: unknown) => e instanceof RaftoralError && e.code === "ERR_ALREADY_REGISTERED");
  });

  test("bad registrations and options are refused with ERR_INVALID_ARGUMENT", () => {
    const w = new Worker({ target: node.target });
    const bad = (f: () => unknown) => assert.throws(f,
      (e: unknown) => e instanceof RaftoralError && e.code === "ERR_INVALID_ARGUMENT");
    bad(() => w.workflow("", 1, async () => 1));
    bad(() => w.workflow("order", 0, async () => 1));
    bad(() => w.workflow("order", 1.5, async () => 1));
    bad(() => w.workflow("order", 1, async () => 1, { mode: "eager" as "owner_only" }));
    bad(() => w.workflow("order", 1, async () => 1, { keepLastPerKey: -1 }));
    bad(() => w.workflow("order", 1, "nope" as unknown as () => number));
    bad(() => new Worker({ target: "" }));
    bad(() => new Worker({ target: node.target, maxConcurrentRuns: 70000 }));
    bad(() => new Worker({ target: node.target, workerId: " " }));
    bad(() => new Worker({ target: node.target, workerId: "w\uDCFF" }));
    bad(() => w.workflow("order\uD800", 1, async () => 1));
    bad(() => new Worker({ target: node.target, onRegistered: "yes" as unknown as () => void }));
  });

  test("run() without a workflow is refused", async () => {
    const w = new Worker({ target: node.target });
    await assert.rejects(w.run(), (e: unknown) => e instanceof RaftoralError && e.code === "ERR_INVALID_ARGUMENT");
  });
});

describe("runs", () => {
  test("execute, checkpoint, committed, result, ack", async () => {
    start((w) => w.workflow<{ n: number }, unknown>("order", 1, async (ctx, input) => {
      const a = await ctx.checkpoint("a", input.n + 1);
      return { a, id: ctx.workflowId, type: ctx.type, version: ctx.version, owner: ctx.isOwner };
    }));
    const s = await node.accept();
    s.send(execute(5, "order", { n: 1 }));
    const m = await s.recv();
    assert.equal(m.kind, "checkpoint");
    assert.deepEqual([m.checkpoint!.run, m.checkpoint!.key, String(m.checkpoint!.seq), m.checkpoint!.compute],
      ["5", "a", "0", false]);
    assert.equal(dj(m.checkpoint!.value), 2);
    // The function gets the committed value, whatever it proposed (a replayed position).
    s.send({ checkpoint_committed: { run: 5, key: "a", seq: 0, value: j(40) } });
    assert.deepEqual(await expectResult(s, 5), { a: 40, id: "wf-5", type: "order", version: 1, owner: true });
  });

  test("a workflow that returns nothing has the result null", async () => {
    start((w) => w.workflow("void", 1, async () => undefined));
    const s = await node.accept();
    s.send(execute(1, "void", null));
    assert.equal(await expectResult(s, 1), null);
  });

  test("compute: RunCompute runs the function once and its result is sent; the committed value returns", async () => {
    let calls = 0;
    start((w) => w.workflow("order", 1, async (ctx) => {
      const r = await ctx.checkpointCompute("reserve", async () => {
        calls++;
        return { reserved: true };
      });
      return r;
    }));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    const p = await s.recv();
    assert.deepEqual([p.checkpoint!.key, String(p.checkpoint!.seq), p.checkpoint!.compute, p.checkpoint!.value.length],
      ["reserve", "0", true, 0]);
    assert.equal(calls, 0, "no compute before RunCompute");
    s.send({ run_compute: { run: 1, key: "reserve", seq: 0 } });
    const r = await s.recv();
    assert.equal(r.kind, "compute_result");
    assert.deepEqual([r.compute_result!.run, r.compute_result!.key, String(r.compute_result!.seq)], ["1", "reserve", "0"]);
    assert.deepEqual(dj(r.compute_result!.value), { reserved: true });
    s.send({ checkpoint_committed: { run: 1, key: "reserve", seq: 0, value: j({ reserved: true }) } });
    assert.deepEqual(await expectResult(s, 1), { reserved: true });
    assert.equal(calls, 1);
  });

  test("compute replay: a CheckpointCommitted answer to a compute proposal never runs the function", async () => {
    let calls = 0;
    start((w) => w.workflow("order", 1, async (ctx) => ctx.checkpointCompute("reserve", () => {
      calls++;
      return "fresh";
    })));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    const p = await s.recv();
    assert.equal(p.checkpoint!.compute, true);
    s.send({ checkpoint_committed: { run: 1, key: "reserve", seq: 0, value: j("committed") } });
    assert.equal(await expectResult(s, 1), "committed");
    assert.equal(calls, 0);
  });

  test("a second RunCompute for the same position does not run the function again", async () => {
    let calls = 0;
    start((w) => w.workflow("order", 1, async (ctx) => ctx.checkpointCompute("k", () => ++calls)));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    await s.recv();
    s.send({ run_compute: { run: 1, key: "k", seq: 0 } });
    s.send({ run_compute: { run: 1, key: "k", seq: 0 } });
    const r = await s.recv();
    assert.equal(dj(r.compute_result!.value), 1);
    s.send({ checkpoint_committed: { run: 1, key: "k", seq: 0, value: j(1) } });
    assert.equal(await expectResult(s, 1), 1);
    assert.equal(calls, 1);
  });

  test("history: replayed positions are answered locally and the first call past them has the right seq", async () => {
    let computed = 0;
    start((w) => w.workflow("order", 1, async (ctx) => {
      const a0 = await ctx.checkpoint("a", "mine-0");
      const b0 = await ctx.checkpointCompute("b", () => {
        computed++;
        return "computed";
      });
      const a1 = await ctx.checkpoint("a", "mine-1");
      const a2 = await ctx.checkpoint("a", "mine-2");
      return [a0, b0, a1, a2];
    }));
    const s = await node.accept();
    s.send(execute(3, "order", null, {
      history: [
        { key: "a", seq: 0, value: j("hist-a0") },
        { key: "b", seq: 0, value: j("hist-b0") },
        { key: "a", seq: 1, value: j("hist-a1") },
      ],
    }));
    const m = await s.recv();
    assert.equal(m.kind, "checkpoint", "nothing is sent for the replayed positions");
    assert.deepEqual([m.checkpoint!.key, String(m.checkpoint!.seq), dj(m.checkpoint!.value)], ["a", "2", "mine-2"]);
    s.send({ checkpoint_committed: { run: 3, key: "a", seq: 2, value: j("mine-2") } });
    assert.deepEqual(await expectResult(s, 3), ["hist-a0", "hist-b0", "hist-a1", "mine-2"]);
    assert.equal(computed, 0);
  });

  test("seq counts per key from 0", async () => {
    start((w) => w.workflow("order", 1, async (ctx) => {
      await ctx.checkpoint("a", 1);
      await ctx.checkpoint("b", 1);
      await ctx.checkpoint("a", 2);
      await ctx.checkpointCompute("b", () => 2);
      await ctx.checkpoint("a", 3);
      return "ok";
    }));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await s.recv();
      const c = m.checkpoint!;
      seen.push(`${c.key}#${c.seq}`);
      s.send({ checkpoint_committed: { run: 1, key: c.key, seq: c.seq, value: j(0) } });
    }
    assert.deepEqual(seen, ["a#0", "b#0", "a#1", "b#1", "a#2"]);
    assert.equal(await expectResult(s, 1), "ok");
  });

  test("CallFailed raises a CallFailedError with its code; the position stays free for the next write", async () => {
    start((w) => w.workflow("order", 1, async (ctx) => {
      try {
        await ctx.checkpoint("a", "x".repeat(10));
        return "no error";
      } catch (e) {
        assert.ok(e instanceof CallFailedError);
        const again = await ctx.checkpoint("a", "small");
        return { code: e.code, message: e.message, key: e.key, seq: e.seq, again };
      }
    }));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    const m = await s.recv();
    s.send({ call_failed: { run: 1, key: "a", seq: 0, code: "ERR_PAYLOAD_TOO_LARGE", message: "value over 8 bytes" } });
    const retry = await s.recv();
    assert.deepEqual([retry.checkpoint!.key, String(retry.checkpoint!.seq)], ["a", "0"]);
    s.send({ checkpoint_committed: { run: 1, key: "a", seq: 0, value: j("small") } });
    assert.deepEqual(await expectResult(s, 1),
      { code: "ERR_PAYLOAD_TOO_LARGE", message: "value over 8 bytes", key: "a", seq: 0, again: "small" });
    assert.equal(m.checkpoint!.key, "a");
  });

  test("a compute function that throws: its error is sent, and CallFailed re-raises the original exception", async () => {
    class OutOfStock extends Error {
      override name = "OutOfStock";
    }
    const thrown = new OutOfStock("no widgets");
    start((w) => w.workflow("order", 1, async (ctx) => {
      try {
        await ctx.checkpointCompute("reserve", () => {
          throw thrown;
        });
        return "no error";
      } catch (e) {
        const same = e === thrown;
        // The position stays free: a retry takes the same seq.
        const r = await ctx.checkpointCompute("reserve", () => "second try");
        return { same, r };
      }
    }));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    await s.recv();
    s.send({ run_compute: { run: 1, key: "reserve", seq: 0 } });
    const r = await s.recv();
    assert.deepEqual(r.compute_result!.error, { type: "OutOfStock", message: "no widgets" });
    s.send({
      call_failed: {
        run: 1, key: "reserve", seq: 0, code: "ERR_WORKFLOW_FAILED", message: "no widgets",
        failure: { type: "OutOfStock", message: "no widgets" },
      },
    });
    const retry = await s.recv();
    assert.deepEqual([retry.checkpoint!.key, String(retry.checkpoint!.seq), retry.checkpoint!.compute], ["reserve", "0", true]);
    s.send({ run_compute: { run: 1, key: "reserve", seq: 0 } });
    const r2 = await s.recv();
    assert.equal(dj(r2.compute_result!.value), "second try");
    s.send({ checkpoint_committed: { run: 1, key: "reserve", seq: 0, value: j("second try") } });
    assert.deepEqual(await expectResult(s, 1), { same: true, r: "second try" });
  });

  test("a workflow function that throws sends WorkflowResult.error with err.name and message", async () => {
    start((w) => w.workflow("order", 1, async () => {
      throw new TypeError("bad order");
    }));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    const m = await s.recv();
    assert.equal(m.kind, "workflow_result");
    assert.deepEqual(m.workflow_result!.error, { type: "TypeError", message: "bad order" });
    assert.ok(m.workflow_result!.result === undefined || m.workflow_result!.result === null);
  });

  test("Cancel unwinds the function with RunCancelledError, aborts ctx.signal, and nothing more is sent for the run", async () => {
    const caught = deferred<unknown>();
    let ctxSeen!: WorkflowContext;
    let after: unknown;
    start((w) => {
      w.workflow("long", 1, async (ctx) => {
        ctxSeen = ctx;
        try {
          await ctx.checkpoint("wait", 1);
        } catch (e) {
          try {
            await ctx.checkpoint("after", 2);
          } catch (e2) {
            after = e2;
          }
          caught.resolve(e);
          throw e;
        }
        return "not cancelled";
      });
      w.workflow("next", 1, async (ctx) => ctx.checkpoint("n", 1));
    });
    const s = await node.accept();
    s.send(execute(1, "long", null));
    await s.recv();
    s.send({ cancel: { run: 1, reason: "TERMINATED", message: "by a client" } });
    const e = await caught.promise;
    assert.ok(e instanceof RunCancelledError);
    assert.equal(e.reason, "TERMINATED");
    assert.equal(e.code, "ERR_WORKFLOW_TERMINATED");
    assert.match(e.message, /by a client/);
    assert.ok(after instanceof RunCancelledError, "a later ctx call raises too");
    assert.ok(ctxSeen.signal.aborted);
    assert.equal(ctxSeen.signal.reason, e);
    assert.equal(ctxSeen.isTerminated(), true);
    // The next message on the stream is the next run's: run 1 sent nothing (no WorkflowResult).
    s.send(execute(2, "next", null));
    const m = await s.recv();
    assert.equal(m.kind, "checkpoint");
    assert.equal(m.checkpoint!.run, "2");
    s.send({ checkpoint_committed: { run: 2, key: "n", seq: 0, value: j(1) } });
    assert.equal(await expectResult(s, 2), 1);
    assert.deepEqual(s.pending(), []);
  });

  test("a Cancel during a compute step: the step's result is not sent", async () => {
    const inCompute = deferred();
    const release = deferred();
    const unwound = deferred<unknown>();
    let seen!: WorkflowContext;
    start((w) => {
      w.workflow("order", 1, async (ctx) => {
        seen = ctx;
        try {
          return await ctx.checkpointCompute("slow", async () => {
            inCompute.resolve();
            await release.promise;
            return "late";
          });
        } catch (e) {
          unwound.resolve(e);
          throw e;
        }
      });
      w.workflow("next", 1, async () => "next");
    });
    const s = await node.accept();
    s.send(execute(1, "order", null));
    await s.recv();
    s.send({ run_compute: { run: 1, key: "slow", seq: 0 } });
    await inCompute.promise;
    s.send({ cancel: { run: 1, reason: "OWNERSHIP_LOST", message: "" } });
    const e = await unwound.promise;
    assert.ok(e instanceof RunCancelledError && e.reason === "OWNERSHIP_LOST" && e.code === "ERR_UNAVAILABLE");
    assert.equal(seen.isTerminated(), false, "only TERMINATED marks the workflow terminated");
    release.resolve();
    await new Promise((r) => setImmediate(r));
    s.send(execute(2, "next", null));
    assert.equal(await expectResult(s, 2), "next");
    assert.deepEqual(s.all.filter((m) => m.kind === "compute_result"), []);
  });

  test("var: get is local, set and update commit the next write of the key; concurrent updates are not lost", async () => {
    start((w) => w.workflow("order", 1, async (ctx) => {
      const v = await ctx.var("count", 0);
      await Promise.all([v.update((n) => n + 1), v.update((n) => n + 10)]);
      const set = await v.set(100);
      return [v.key, v.get(), set];
    }));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    const seen: Array<[string, unknown]> = [];
    for (let i = 0; i < 4; i++) {
      const m = await s.recv();
      seen.push([`${m.checkpoint!.key}#${m.checkpoint!.seq}`, dj(m.checkpoint!.value)]);
      s.send({ checkpoint_committed: { run: 1, key: "count", seq: m.checkpoint!.seq, value: m.checkpoint!.value } });
    }
    assert.deepEqual(seen, [["count#0", 0], ["count#1", 1], ["count#2", 11], ["count#3", 100]]);
    assert.deepEqual(await expectResult(s, 1), ["count", 100, 100]);
  });

  test("an Execute of a type this worker lacks, or with an input that is not JSON, fails the run with a RaftoralError", async () => {
    start((w) => w.workflow("order", 1, async () => 1));
    const s = await node.accept();
    s.send(execute(1, "order", null, { version: 9 }));
    const a = await s.recv();
    assert.equal(a.workflow_result!.error?.type, "RaftoralError");
    assert.match(a.workflow_result!.error!.message, /no workflow order version 9/);
    s.send(execute(2, "order", null, { input: Buffer.from("{not json") }));
    const b = await s.recv();
    assert.equal(b.workflow_result!.error?.type, "RaftoralError");
    assert.match(b.workflow_result!.error!.message, /not valid JSON/);
  });

  test("a ctx call from inside a compute function raises ERR_INVALID_ARGUMENT", async () => {
    start((w) => w.workflow("order", 1, async (ctx) => {
      try {
        await ctx.checkpointCompute("outer", async () => ctx.checkpoint("inner", 1));
        return "no error";
      } catch (e) {
        return { name: (e as Error).name, code: (e as RaftoralError).code };
      }
    }));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    await s.recv();
    s.send({ run_compute: { run: 1, key: "outer", seq: 0 } });
    const r = await s.recv();
    assert.equal(r.compute_result!.error?.type, "RaftoralError");
    assert.match(r.compute_result!.error!.message, /inside a compute function/);
    s.send({ call_failed: { run: 1, key: "outer", seq: 0, code: "ERR_WORKFLOW_FAILED", message: "x",
      failure: r.compute_result!.error } });
    assert.deepEqual(await expectResult(s, 1), { name: "RaftoralError", code: "ERR_INVALID_ARGUMENT" });
  });
});


describe("text that is not UTF-8", () => {
  test("a key with a lone surrogate (no UTF-8 form) raises ERR_INVALID_ARGUMENT and sends nothing", async () => {
    start((w) => w.workflow("order", 1, async (ctx) => {
      const codes: string[] = [];
      for (const call of [() => ctx.checkpoint("k-\uDCFF", 1), () => ctx.checkpointCompute("\uD800", () => 1),
        () => ctx.var("v\uDC00x", 0)]) {
        try {
          await call();
          codes.push("no error");
        } catch (e) {
          codes.push((e as RaftoralError).code);
        }
      }
      return [codes, await ctx.checkpoint("ok", 2)];
    }));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    const m = await s.recv();
    assert.deepEqual([m.checkpoint?.key, String(m.checkpoint?.seq)], ["ok", "0"], JSON.stringify(m));
    s.send({ checkpoint_committed: { run: 1, key: "ok", seq: 0, value: j(2) } });
    assert.deepEqual(await expectResult(s, 1),
      [["ERR_INVALID_ARGUMENT", "ERR_INVALID_ARGUMENT", "ERR_INVALID_ARGUMENT"], 2]);
  });

  test("an error message or name with a lone surrogate is sent as UTF-8 (U+FFFD in its place)", async () => {
    start((w) => w.workflow("order", 1, async (ctx) => {
      await ctx.checkpointCompute("c", () => {
        throw new Error("compute k-\uDCFF failed");
      }).catch(() => undefined);
      throw new RangeError("order \uD800 failed");
    }));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    await s.recv();
    s.send({ run_compute: { run: 1, key: "c", seq: 0 } });
    const r = await s.recv();
    assert.deepEqual(r.compute_result!.error, { type: "Error", message: "compute k-\uFFFD failed" });
    s.send({ call_failed: { run: 1, key: "c", seq: 0, code: "ERR_WORKFLOW_FAILED", message: "x",
      failure: r.compute_result!.error } });
    const m = await s.recv();
    assert.deepEqual(m.workflow_result!.error, { type: "RangeError", message: "order \uFFFD failed" });
  });
});

describe("values that JSON cannot carry", () => {
  for (const [what, value] of [
    ["undefined", undefined],
    ["a BigInt", 10n],
    ["a cycle", (() => {
      const o: Record<string, unknown> = {};
      o.self = o;
      return o;
    })()],
    ["a function", () => 1],
  ] as Array<[string, unknown]>) {
    test(`checkpoint of ${what} raises ERR_INVALID_ARGUMENT and sends nothing (the seq stays free)`, async () => {
      start((w) => w.workflow("order", 1, async (ctx) => {
        let err: unknown;
        try {
          await ctx.checkpoint("v", value);
        } catch (e) {
          err = e;
        }
        assert.ok(err instanceof RaftoralError && err.code === "ERR_INVALID_ARGUMENT", String(err));
        return ctx.checkpoint("v", "ok");
      }));
      const s = await node.accept();
      s.send(execute(1, "order", null));
      const m = await s.recv();
      assert.deepEqual([m.checkpoint!.key, String(m.checkpoint!.seq), dj(m.checkpoint!.value)], ["v", "0", "ok"]);
      s.send({ checkpoint_committed: { run: 1, key: "v", seq: 0, value: j("ok") } });
      assert.equal(await expectResult(s, 1), "ok");
    });
  }

  test("a compute result JSON cannot carry is sent as the step's error and re-raised", async () => {
    start((w) => w.workflow("order", 1, async (ctx) => {
      try {
        await ctx.checkpointCompute("big", () => 1n);
        return "no error";
      } catch (e) {
        return (e as RaftoralError).code;
      }
    }));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    await s.recv();
    s.send({ run_compute: { run: 1, key: "big", seq: 0 } });
    const r = await s.recv();
    assert.equal(r.compute_result!.error?.type, "RaftoralError");
    s.send({ call_failed: { run: 1, key: "big", seq: 0, code: "ERR_WORKFLOW_FAILED", message: "m", failure: r.compute_result!.error } });
    assert.equal(await expectResult(s, 1), "ERR_INVALID_ARGUMENT");
  });

  test("a workflow result JSON cannot carry is sent as a RaftoralError", async () => {
    start((w) => w.workflow("order", 1, async () => 5n));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    const m = await s.recv();
    assert.equal(m.workflow_result!.error?.type, "RaftoralError");
    assert.match(m.workflow_result!.error!.message, /JSON/);
  });
});

describe("values over the node's max_value_bytes", () => {
  // Sent, such a value could exceed the node's gRPC message limit and end the stream, and the
  // re-executed run would send it again: the library refuses it before sending.
  test("a checkpoint value over the limit raises ERR_PAYLOAD_TOO_LARGE and sends nothing (the seq stays free)", async () => {
    start((w) => w.workflow("order", 1, async (ctx) => {
      let code = "";
      try {
        await ctx.checkpoint("v", "x".repeat(200));
      } catch (e) {
        code = (e as RaftoralError).code;
      }
      return [code, await ctx.checkpoint("v", "small")];
    }));
    const s = await node.accept({ max_value_bytes: 100 });
    s.send(execute(1, "order", null));
    const m = await s.recv();
    assert.deepEqual([m.checkpoint!.key, String(m.checkpoint!.seq), dj(m.checkpoint!.value)], ["v", "0", "small"]);
    s.send({ checkpoint_committed: { run: 1, key: "v", seq: 0, value: j("small") } });
    assert.deepEqual(await expectResult(s, 1), ["ERR_PAYLOAD_TOO_LARGE", "small"]);
  });

  test("a compute result over the limit is sent as the step's error and re-raised as ERR_PAYLOAD_TOO_LARGE", async () => {
    start((w) => w.workflow("order", 1, async (ctx) => {
      try {
        await ctx.checkpointCompute("c", () => "y".repeat(200));
        return "no error";
      } catch (e) {
        return (e as RaftoralError).code;
      }
    }));
    const s = await node.accept({ max_value_bytes: 100 });
    s.send(execute(1, "order", null));
    await s.recv();
    s.send({ run_compute: { run: 1, key: "c", seq: 0 } });
    const r = await s.recv();
    assert.equal(r.compute_result!.error?.type, "RaftoralError");
    assert.match(r.compute_result!.error!.message, /100/);
    s.send({ call_failed: { run: 1, key: "c", seq: 0, code: "ERR_WORKFLOW_FAILED", message: "m", failure: r.compute_result!.error } });
    assert.equal(await expectResult(s, 1), "ERR_PAYLOAD_TOO_LARGE");
  });

  test("a workflow result over the limit fails the workflow with a RaftoralError", async () => {
    start((w) => w.workflow("order", 1, async () => "z".repeat(200)));
    const s = await node.accept({ max_value_bytes: 100 });
    s.send(execute(1, "order", null));
    const m = await s.recv();
    assert.equal(m.workflow_result!.error?.type, "RaftoralError");
    assert.match(m.workflow_result!.error!.message, /ERR_PAYLOAD_TOO_LARGE|above the limit/);
  });
});

describe("concurrency", () => {
  test("concurrent ctx calls of one run are numbered in call order and sent up to max_calls_in_flight", async () => {
    const computed: string[] = [];
    start((w) => w.workflow("order", 1, async (ctx) => {
      const [x, y, z] = await Promise.all([
        ctx.checkpointCompute("k", () => {
          computed.push("x");
          return "x";
        }),
        ctx.checkpointCompute("k", () => {
          computed.push("y");
          return "y";
        }),
        ctx.checkpoint("k", "z"),
      ]);
      return [x, y, z];
    }));
    const s = await node.accept({ max_calls_in_flight: 2 });
    s.send(execute(1, "order", null));
    const first = await s.recv();
    const second = await s.recv();
    assert.deepEqual([first.checkpoint!.seq, second.checkpoint!.seq].map(String), ["0", "1"]);
    // The third call waits for an answer: two are in flight.
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(s.pending(), []);
    s.send({ run_compute: { run: 1, key: "k", seq: 0 } });
    const r0 = await s.recv();
    assert.equal(dj(r0.compute_result!.value), "x");
    s.send({ checkpoint_committed: { run: 1, key: "k", seq: 0, value: j("x") } });
    const third = await s.recv();
    assert.deepEqual([third.checkpoint!.seq, dj(third.checkpoint!.value)], ["2", "z"]);
    s.send({ checkpoint_committed: { run: 1, key: "k", seq: 1, value: j("y-committed") } });
    s.send({ checkpoint_committed: { run: 1, key: "k", seq: 2, value: j("z") } });
    assert.deepEqual(await expectResult(s, 1), ["x", "y-committed", "z"]);
    assert.deepEqual(computed, ["x"]);
  });

  test("runs interleave: two runs wait at once and finish in the order the node answers", async () => {
    start((w) => w.workflow<string, string>("order", 1, async (ctx, input) => ctx.checkpoint("a", input)));
    const s = await node.accept();
    s.send(execute(1, "order", "one"));
    s.send(execute(2, "order", "two"));
    const got = [await s.recv(), await s.recv()].map((m) => m.checkpoint!.run).sort();
    assert.deepEqual(got, ["1", "2"]);
    s.send({ checkpoint_committed: { run: 2, key: "a", seq: 0, value: j("two") } });
    assert.equal(await expectResult(s, 2), "two");
    s.send({ checkpoint_committed: { run: 1, key: "a", seq: 0, value: j("one") } });
    assert.equal(await expectResult(s, 1), "one");
  });

  test("at most max_concurrent_runs functions run at once, even if the node sends more", async () => {
    let running = 0;
    let most = 0;
    start((w) => w.workflow<number, number>("order", 1, async (ctx, n) => {
      running++;
      most = Math.max(most, running);
      try {
        return await ctx.checkpoint("a", n);
      } finally {
        running--;
      }
    }), { maxConcurrentRuns: 2 });
    const s = await node.nextStream();
    const reg = await s.register({ max_concurrent_runs: 2 });
    assert.equal(reg.max_concurrent_runs, 2);
    for (const run of [1, 2, 3]) {
      s.send(execute(run, "order", run));
    }
    const a = await s.recv();
    const b = await s.recv();
    assert.deepEqual([a.checkpoint!.run, b.checkpoint!.run].sort(), ["1", "2"]);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(s.pending(), [], "the third run waits for a free slot");
    s.send({ checkpoint_committed: { run: 1, key: "a", seq: 0, value: j(1) } });
    assert.equal(await expectResult(s, 1), 1);
    const c = await s.recv();
    assert.equal(c.checkpoint!.run, "3");
    s.send({ checkpoint_committed: { run: 2, key: "a", seq: 0, value: j(2) } });
    s.send({ checkpoint_committed: { run: 3, key: "a", seq: 0, value: j(3) } });
    const results = [await s.recv(), await s.recv()].map((m) => m.workflow_result!.run).sort();
    assert.deepEqual(results, ["2", "3"]);
    assert.equal(most, 2);
  });

  test("the node's smaller limit applies", async () => {
    let started = 0;
    start((w) => w.workflow("order", 1, async (ctx) => {
      started++;
      return ctx.checkpoint("a", 1);
    }), { maxConcurrentRuns: 10 });
    const s = await node.accept({ max_concurrent_runs: 1 });
    s.send(execute(1, "order", null));
    s.send(execute(2, "order", null));
    const a = await s.recv();
    assert.equal(a.checkpoint!.run, "1");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(started, 1);
  });
});

describe("connection", () => {
  test("heartbeats are sent while idle and acknowledged", async () => {
    start((w) => w.workflow("order", 1, async () => 1));
    const s = await node.accept({ heartbeat_interval_ms: 20, heartbeat_timeout_ms: 5000 });
    for (let i = 0; i < 3; i++) {
      const deadline = Date.now() + 5000;
      while (s.all.filter((m) => m.kind === "heartbeat").length <= i) {
        assert.ok(Date.now() < deadline, `heartbeat ${i + 1} did not come`);
        await new Promise((r) => setTimeout(r, 10));
      }
      s.send({ ack: { run: 0 } });
    }
    assert.ok(s.open, "a node that answers heartbeats keeps the stream");
    assert.equal(node.streams.size, 0);
  });

  test("a node silent past heartbeat_timeout_ms is treated as gone: the worker reconnects", async () => {
    const unwound = deferred<unknown>();
    start((w) => w.workflow("order", 1, async (ctx) => {
      try {
        return await ctx.checkpoint("a", 1);
      } catch (e) {
        unwound.resolve(e);
        throw e;
      }
    }));
    const s = await node.accept({ heartbeat_interval_ms: 20, heartbeat_timeout_ms: 200 });
    s.send(execute(1, "order", null));
    await s.recv();
    // The fake now answers nothing, heartbeats included.
    const s2 = await node.nextStream();
    await s2.register();
    const e = await unwound.promise;
    assert.ok(e instanceof RunCancelledError && e.reason === "CONNECTION_LOST");
    await s.closed;
    assert.ok(s.all.some((m) => m.kind === "heartbeat"));
  });

  test("after the stream ends the worker reconnects; its runs are dropped and executed again from history", async () => {
    const unwound = deferred<unknown>();
    let computed = 0;
    start((w) => w.workflow("order", 1, async (ctx) => {
      try {
        const a = await ctx.checkpointCompute("a", () => ++computed);
        const b = await ctx.checkpoint("b", a + 1);
        return [a, b];
      } catch (e) {
        unwound.resolve(e);
        throw e;
      }
    }));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    await s.recv();
    s.send({ run_compute: { run: 1, key: "a", seq: 0 } });
    await s.recv();
    s.send({ checkpoint_committed: { run: 1, key: "a", seq: 0, value: j(1) } });
    const b = await s.recv();
    assert.equal(b.checkpoint!.key, "b");
    s.fail(grpc.status.UNAVAILABLE, "node restarting");
    const e = await unwound.promise;
    assert.ok(e instanceof RunCancelledError && e.reason === "CONNECTION_LOST");
    const s2 = await node.nextStream();
    await s2.register();
    // The node executes the workflow again (a new run id) with what it has given out so far.
    s2.send(execute(9, "order", null, { history: [{ key: "a", seq: 0, value: j(1) }] }));
    const b2 = await s2.recv();
    assert.deepEqual([b2.checkpoint!.run, b2.checkpoint!.key, String(b2.checkpoint!.seq), dj(b2.checkpoint!.value)],
      ["9", "b", "0", 2]);
    s2.send({ checkpoint_committed: { run: 9, key: "b", seq: 0, value: j(2) } });
    assert.deepEqual(await expectResult(s2, 9), [1, 2]);
    assert.equal(computed, 1, "the committed compute step did not run again");
    // Late answers for the lost run change nothing.
    assert.deepEqual(s.pending(), []);
  });

  test("onRegistered is called with the node's Registered once per registered stream, also after a reconnection", async () => {
    const seen: string[] = [];
    start((w) => w.workflow("order", 1, async () => 1), { onRegistered: (r) => seen.push(r.node_id) });
    const s1 = await node.nextStream();
    await s1.register({ node_id: 7 });
    while (seen.length === 0) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(seen, ["7"]);
    s1.fail(grpc.status.UNAVAILABLE, "node restarting");
    // A stream that ends before Registered does not count.
    const s2 = await node.nextStream();
    await s2.recv();
    s2.fail(grpc.status.UNAVAILABLE, "not ready");
    const s3 = await node.nextStream();
    await s3.register({ node_id: 8 });
    s3.send(execute(2, "order", null));
    assert.equal(await expectResult(s3, 2), 1);
    assert.deepEqual(seen, ["7", "8"]);
  });

  test("an onRegistered that throws is logged and the stream serves on", async () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) };
    start((w) => w.workflow("order", 1, async () => 1), {
      logger, onRegistered: () => { throw new Error("callback broke"); },
    });
    const s = await node.nextStream();
    await s.register();
    s.send(execute(1, "order", null));
    assert.equal(await expectResult(s, 1), 1);
    assert.ok(warnings.some((m) => /onRegistered.*callback broke/.test(m)), JSON.stringify(warnings));
  });

  test("reconnect keeps trying with backoff while the node is away", async () => {
    start((w) => w.workflow("order", 1, async () => 1));
    const s1 = await node.nextStream();
    await s1.recv();
    s1.fail(grpc.status.UNAVAILABLE, "not ready");
    const s2 = await node.nextStream();
    await s2.recv();
    s2.fail(grpc.status.UNAVAILABLE, "not ready");
    const s3 = await node.nextStream();
    await s3.register();
    s3.send(execute(1, "order", null));
    assert.equal(await expectResult(s3, 1), 1);
  });

  test("stop() ends the stream and run() returns", async () => {
    const w = start((w) => w.workflow("order", 1, async () => 1));
    const s = await node.accept();
    await w.stop();
    await runs[runs.length - 1];
    await s.closed;
    assert.equal(s.open, false);
  });

  test("a node message over gRPC's default 4 MiB receive limit is read (a value at the node's 4 MiB payload limit)", async () => {
    const big = "x".repeat(4 << 20);
    start((w) => w.workflow("big", 1, async (ctx) => (await ctx.checkpoint("v", "small")).length));
    const s = await node.accept({ max_value_bytes: 5 << 20 });
    s.send(execute(1, "big", null));
    await s.recv();
    s.send({ checkpoint_committed: { run: 1, key: "v", seq: 0, value: j(big) } });
    assert.equal(await expectResult(s, 1), big.length);
    assert.ok(s.open, "the stream was kept");
  });

  test("stop() while a run waits: the function gets RunCancelledError CONNECTION_LOST and nothing is sent", async () => {
    const unwound = deferred<unknown>();
    const w = start((w) => w.workflow("order", 1, async (ctx) => {
      try {
        return await ctx.checkpoint("a", 1);
      } catch (e) {
        unwound.resolve(e);
        throw e;
      }
    }));
    const s = await node.accept();
    s.send(execute(1, "order", null));
    await s.recv();
    await w.stop();
    const e = await unwound.promise;
    assert.ok(e instanceof RunCancelledError && e.reason === "CONNECTION_LOST");
    await s.closed;
    assert.deepEqual(s.pending(), []);
  });

  test("messages for runs the worker does not hold are ignored", async () => {
    start((w) => w.workflow("order", 1, async (ctx) => ctx.checkpoint("a", 1)));
    const s = await node.accept();
    s.send({ checkpoint_committed: { run: 77, key: "a", seq: 0, value: j(1) } });
    s.send({ run_compute: { run: 77, key: "a", seq: 0 } });
    s.send({ cancel: { run: 77, reason: "ENDED_ELSEWHERE", message: "" } });
    s.send({ protocol_error: { run: 77, message: "unknown run", fatal: false } });
    s.send(execute(1, "order", null));
    const m = await s.recv();
    assert.equal(m.checkpoint!.run, "1");
    s.send({ checkpoint_committed: { run: 1, key: "a", seq: 0, value: j(1) } });
    assert.equal(await expectResult(s, 1), 1);
  });
});
