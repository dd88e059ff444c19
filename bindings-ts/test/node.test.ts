// The library against a real node: `./raftoral node --worker-listen` of this checkout, workflows
// started and read through the CLI. Skipped, saying why, when the CLI's build is missing (build it
// with `mvn -q install -DskipTests` and `mvn -q -pl examples dependency:build-classpath
// -Dmdep.outputFile=target/classpath.txt`) or the node has no worker listener.
import { test, describe, before, after } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync, execFile, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Worker, RaftoralError, RegistrationError, RunCancelledError, type WorkflowContext } from "../src/index";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const CLI = path.join(ROOT, "raftoral");
const FIXTURE = path.join(__dirname, "fixtures", "worker-process.js");

function whyNot(): string | undefined {
  if (!fs.existsSync(path.join(ROOT, "examples", "target", "classes"))
    || !fs.existsSync(path.join(ROOT, "examples", "target", "classpath.txt"))) {
    return "the node is not built (examples/target/classes and classpath.txt are missing; see test/node.test.ts)";
  }
  const help = spawnSync(CLI, ["node", "--help"], { encoding: "utf8", timeout: 60000 });
  if (!`${help.stdout}${help.stderr}`.includes("--worker-listen")) {
    return "this node has no worker listener (raftoral node --help names no --worker-listen)";
  }
  return undefined;
}

const skip = whyNot();

function deferredSignal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function cli(...args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(CLI, [...args, "--output", "json"], { timeout: 120000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`raftoral ${args.join(" ")}: ${err?.message ?? ""} ${stdout} ${stderr}`));
      }
    });
  });
}

describe("against a real node", () => {
  let nodeProc: ChildProcess;
  let api = "";
  let workers = "";
  let dataDir = "";
  let nodeArgs: string[] = [];
  const running: Worker[] = [];

  before(async () => {
    if (skip) {
      return;
    }
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "raftoral-ts-"));
    const [raft, apiPort, workerPort] = [await freePort(), await freePort(), await freePort()];
    nodeArgs = ["node", "--bootstrap", "--data-dir", path.join(dataDir, "node"),
      "--raft-address", `127.0.0.1:${raft}`, "--api-address", `127.0.0.1:${apiPort}`,
      "--worker-listen", `127.0.0.1:${workerPort}`];
    await startNode();
  });

  /** Starts the node (again: the same command restarts the same node from its data directory). */
  async function startNode(): Promise<void> {
    nodeProc = spawn(CLI, nodeArgs, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RAFTORAL_JAVA_OPTS: "-Dorg.slf4j.simpleLogger.log.io.raftoral=warn" },
    });
    let err = "";
    nodeProc.stderr!.on("data", (d) => (err += d));
    const serving = await new Promise<string>((resolve, reject) => {
      let out = "";
      const t = setTimeout(() => reject(new Error(`the node did not serve within 120 s: ${err}`)), 120000);
      nodeProc.stdout!.on("data", (d) => {
        out += d;
        const line = out.split("\n").find((l) => l.includes(" serving "));
        if (line) {
          clearTimeout(t);
          resolve(line);
        }
      });
      nodeProc.once("exit", (code) => reject(new Error(`the node exited ${code}: ${err}`)));
    });
    api = /api (\S+)/.exec(serving)![1];
    workers = /workers (\S+)/.exec(serving)![1];
  }

  after(async () => {
    await Promise.all(running.map((w) => w.stop()));
    if (skip) {
      return;
    }
    if (nodeProc && nodeProc.exitCode === null) {
      const exited = new Promise((r) => nodeProc.once("exit", r));
      nodeProc.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function worker(setup: (w: Worker) => void): Worker {
    const w = new Worker({ target: workers, workerId: "ts-node-test" });
    setup(w);
    running.push(w);
    void w.run();
    return w;
  }

  test("a workflow runs through the worker: checkpoints, concurrent compute steps, a var, the result", { skip }, async () => {
    let computed = 0;
    worker((w) => {
      w.workflow<{ n: number }, unknown>("ts_order", 1, async (ctx: WorkflowContext, input) => {
        const a = await ctx.checkpoint("a", input.n + 1);
        const [x, y] = await Promise.all([
          ctx.checkpointCompute("c", () => ++computed),
          ctx.checkpointCompute("c", () => ++computed),
        ]);
        const v = await ctx.var("v", 10);
        await v.update((n) => n + 5);
        let refused = "";
        try {
          await ctx.checkpoint("bad", undefined);
        } catch (e) {
          refused = (e as RaftoralError).code;
        }
        return { a, x, y, v: v.get(), id: ctx.workflowId, refused };
      });
      w.workflow("ts_fail", 1, async () => {
        throw new RangeError("out of range");
      });
    });
    const info = await cli("start", "ts_order", "--version", "1", "--input", '{"n":1}', "--id", "ts-1",
      "--wait", "--timeout", "60s", "--api", api);
    assert.equal(info.status, "COMPLETED", JSON.stringify(info));
    assert.deepEqual(info.result, { a: 2, x: 1, y: 2, v: 15, id: "ts-1", refused: "ERR_INVALID_ARGUMENT" });
    assert.equal(computed, 2);
    const history = await cli("history", "ts-1", "--api", api);
    assert.ok(JSON.stringify(history).includes('"c"'), JSON.stringify(history));

    const failed = await cli("start", "ts_fail", "--version", "1", "--input", "null", "--wait", "--timeout", "60s",
      "--api", api);
    assert.equal(failed.status, "FAILED", JSON.stringify(failed));
    assert.equal(failed.errorType, "RangeError");
    assert.equal(failed.errorMessage, "out of range");
  });

  test("values at the node's payload limit: the largest is committed and read back, one byte more is refused locally", { skip }, async () => {
    const w = worker((w) => w.workflow("ts_big", 1, async (ctx) => {
      const limit = w.registered!.max_value_bytes;
      let over = "";
      try {
        await ctx.checkpoint("v", "x".repeat(limit - 1)); // + 2 quotes: one byte over
      } catch (e) {
        over = (e as RaftoralError).code;
      }
      const at = await ctx.checkpoint("v", "y".repeat(limit - 2));
      return { over, length: at.length, limit };
    }));
    void w;
    const info = await cli("start", "ts_big", "--version", "1", "--input", "null", "--wait", "--timeout", "60s", "--api", api);
    assert.equal(info.status, "COMPLETED", JSON.stringify(info).slice(0, 500));
    const r = info.result as { over: string; length: number; limit: number };
    assert.equal(r.over, "ERR_PAYLOAD_TOO_LARGE");
    assert.equal(r.length, r.limit - 2);
  });

  test("a type the node runs embedded is refused: run() rejects with RegistrationError", { skip }, async () => {
    const w = new Worker({ target: workers, workerId: "ts-conflict" });
    w.workflow("order", 1, async () => 1); // the examples' embedded order v1
    await assert.rejects(w.run(), (e: unknown) => e instanceof RegistrationError && e.code === "ERR_ALREADY_REGISTERED"
      && /embedded/.test(e.message));
  });

  test("a client's terminate cancels the run: ctx.signal aborts, the next call raises TERMINATED, nothing more is sent", { skip }, async () => {
    const seen: Array<{ name: string; reason: string; terminated: boolean }> = [];
    const waiting = deferredSignal();
    worker((w) => w.workflow("ts_wait", 1, async (ctx) => {
      await ctx.checkpoint("before", 1);
      // Waits for the cancel in a plain await (no ctx call is waiting): the signal wakes it.
      await new Promise<void>((resolve) => {
        ctx.signal.addEventListener("abort", () => resolve());
        waiting.resolve();
      });
      try {
        await ctx.checkpoint("after", 2);
      } catch (e) {
        seen.push({ name: (e as Error).name, reason: (e as RunCancelledError).reason, terminated: ctx.isTerminated() });
        throw e;
      }
      return "not cancelled";
    }));
    await cli("start", "ts_wait", "--version", "1", "--input", "null", "--id", "ts-wait-1", "--api", api);
    await waiting.promise;
    const info = await cli("terminate", "ts-wait-1", "--reason", "test", "--api", api);
    assert.equal(info.status, "TERMINATED", JSON.stringify(info));
    const deadline = Date.now() + 60000;
    while (seen.length === 0) {
      assert.ok(Date.now() < deadline, "the run was never cancelled");
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(seen, [{ name: "RunCancelledError", reason: "TERMINATED", terminated: true }]);
    const after = await cli("describe", "ts-wait-1", "--api", api);
    assert.equal(after.status, "TERMINATED");
    assert.equal(after.checkpointCount, 1, JSON.stringify(after));
  });

  test("a worker killed in the middle of a compute step: another worker finishes the run, the committed step does not run again", { skip }, async () => {
    const log = path.join(dataDir, "steps.log");
    fs.writeFileSync(log, "");
    const first = spawn(process.execPath, [FIXTURE, workers, log, "block"], { stdio: ["ignore", "ignore", "inherit"] });
    try {
      await cli("start", "ts_resume", "--version", "1", "--input", '{"n":4}', "--id", "ts-resume-1", "--api", api);
      const deadline = Date.now() + 60000;
      while (!fs.readFileSync(log, "utf8").includes("b ")) {
        assert.ok(Date.now() < deadline, "the first worker never reached step b");
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      first.kill("SIGKILL");
    }
    const second = spawn(process.execPath, [FIXTURE, workers, log], { stdio: ["ignore", "ignore", "inherit"] });
    try {
      const info = await cli("result", "ts-resume-1", "--timeout", "60s", "--api", api);
      assert.equal(info.status, "COMPLETED", JSON.stringify(info));
      assert.deepEqual(info.result, { a: 40, b: 41 });
      const lines = fs.readFileSync(log, "utf8").trim().split("\n");
      assert.deepEqual(lines.map((l) => l.split(" ")[0]), ["a", "b", "b"],
        "step a (committed) ran once; step b (never committed) ran again on the second worker");
      assert.notEqual(lines[1].split(" ")[1], lines[2].split(" ")[1]);
    } finally {
      const exited = new Promise((r) => second.once("exit", r));
      second.kill("SIGTERM");
      await exited;
    }
  });

  // Last: it kills the node.
  test("the node SIGKILLed under a running workflow: the worker reconnects to the restarted node, which runs it on from its history", { skip }, async () => {
    let aRuns = 0;
    let bRuns = 0;
    const inB = deferredSignal();
    const release = deferredSignal();
    const w = new Worker({ target: workers, workerId: "ts-survivor", reconnect: { initialMs: 100, maxMs: 500 } });
    w.workflow<{ n: number }, unknown>("ts_survive", 1, async (ctx, input) => {
      const a = await ctx.checkpointCompute("a", () => {
        aRuns++;
        return input.n;
      });
      const b = await ctx.checkpointCompute("b", async () => {
        bRuns++;
        if (bRuns === 1) {
          inB.resolve();
          await release.promise;
        }
        return a * 2;
      });
      return { a, b };
    });
    running.push(w);
    void w.run();
    await cli("start", "ts_survive", "--version", "1", "--input", '{"n":21}', "--id", "ts-survive-1", "--api", api);
    await inB.promise;
    const exited = new Promise((r) => nodeProc.once("exit", r));
    nodeProc.kill("SIGKILL");
    await exited;
    release.resolve(); // the lost run's step ends; its result goes nowhere
    await startNode();
    const info = await cli("result", "ts-survive-1", "--timeout", "90s", "--api", api);
    assert.equal(info.status, "COMPLETED", JSON.stringify(info));
    assert.deepEqual(info.result, { a: 21, b: 42 });
    assert.equal(aRuns, 1, "the committed step a did not run again");
    assert.equal(bRuns, 2, "step b, never committed, ran again on the restarted node's request");
  });
});
