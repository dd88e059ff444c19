// Workers against a secured node: `./raftoral node` with TLS (certificates of `raftoral certs init`)
// and a tokens file (`raftoral token create`). Skipped, saying why, when the CLI's build is missing
// (see test/node.test.ts).
import { test, describe, before, after } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync, execFile, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Worker, RaftoralError, UnauthenticatedError, PermissionDeniedError, type Logger } from "../src/index";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const CLI = path.join(ROOT, "raftoral");

const skip = !fs.existsSync(path.join(ROOT, "examples", "target", "classes"))
  || !fs.existsSync(path.join(ROOT, "examples", "target", "classpath.txt"))
  ? "the node is not built (examples/target/classes and classpath.txt are missing; see test/node.test.ts)"
  : undefined;

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

function raftoral(...args: string[]): string {
  const r = spawnSync(CLI, args, { encoding: "utf8", timeout: 180000 });
  if (r.status !== 0) {
    throw new Error(`raftoral ${args.join(" ")}: ${r.status} ${r.stderr}`);
  }
  return r.stdout.trim();
}

function quietLogger(lines: string[]): Logger {
  const keep = (m: string) => lines.push(m);
  return { debug: () => {}, info: keep, warn: keep, error: keep } as unknown as Logger;
}

describe("options without a node", () => {
  test("tlsCert without tlsKey, a blank token and an unreadable CA are refused", () => {
    assert.throws(() => new Worker({ target: "127.0.0.1:1", tlsCert: "c.pem" }),
      (e: unknown) => e instanceof RaftoralError && /tlsCert and tlsKey/.test(e.message));
    assert.throws(() => new Worker({ target: "127.0.0.1:1", token: " " }),
      (e: unknown) => e instanceof RaftoralError && /token/.test(e.message));
    assert.throws(() => new Worker({ target: "127.0.0.1:1", tlsCa: "/nonexistent/ca.pem" }),
      (e: unknown) => e instanceof RaftoralError && /cannot be read/.test(e.message));
  });
});

describe("against a secured node", () => {
  let nodeProc: ChildProcess;
  let api = "";
  let workers = "";
  let dir = "";
  let ca = "";
  const tokens: Record<string, string> = {};
  const saved = { ca: process.env.RAFTORAL_TLS_CA, token: process.env.RAFTORAL_TOKEN };

  before(async () => {
    delete process.env.RAFTORAL_TLS_CA;
    delete process.env.RAFTORAL_TOKEN;
    if (skip) {
      return;
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "raftoral-ts-sec-"));
    const certs = path.join(dir, "certs");
    raftoral("certs", "init", certs);
    ca = path.join(certs, "ca.pem");
    const tokensFile = path.join(dir, "tokens");
    for (const role of ["worker", "reader", "operator"]) {
      tokens[role] = raftoral("token", "create", "--role", role, "--file", tokensFile).split("\n").pop()!.trim();
    }
    const [raft, apiPort, workerPort] = [await freePort(), await freePort(), await freePort()];
    nodeProc = spawn(CLI, ["node", "--bootstrap", "--in-memory",
      "--raft-address", `127.0.0.1:${raft}`, "--api-address", `127.0.0.1:${apiPort}`,
      "--worker-listen", `127.0.0.1:${workerPort}`,
      "--tls-cert", path.join(certs, "node.pem"), "--tls-key", path.join(certs, "node-key.pem"),
      "--tls-ca", ca, "--auth-tokens", tokensFile], {
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
  });

  after(async () => {
    if (saved.ca !== undefined) process.env.RAFTORAL_TLS_CA = saved.ca;
    if (saved.token !== undefined) process.env.RAFTORAL_TOKEN = saved.token;
    if (skip) {
      return;
    }
    if (nodeProc && nodeProc.exitCode === null) {
      const exited = new Promise((r) => nodeProc.once("exit", r));
      nodeProc.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function greeter(options: Partial<ConstructorParameters<typeof Worker>[0]>): Worker {
    const lines: string[] = [];
    const w = new Worker({ target: workers, workerId: "ts-secure", logger: quietLogger(lines),
      reconnect: { initialMs: 50, maxMs: 300 }, ...options });
    w.workflow<string, string>("ts_secure_greet", 1, async (ctx, name) => ctx.checkpoint("greeting", `hello ${name}`));
    return w;
  }

  async function rejection(w: Worker): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        w.run().then(() => new Error("run() resolved"), (e: unknown) => e),
        new Promise((resolve) => (timer = setTimeout(() => resolve(new Error("the refused worker kept retrying")), 30000))),
      ]);
    } finally {
      clearTimeout(timer);
      await w.stop();
    }
  }

  test("a worker with the CA and a worker token runs a workflow to COMPLETED", { skip }, async () => {
    const w = greeter({ tlsCa: ca, token: tokens.worker });
    const running = w.run();
    try {
      const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
        execFile(CLI, ["start", "ts_secure_greet", "--version", "1", "--input", '"ada"', "--id", "ts-secure-1",
          "--wait", "--timeout", "60s", "--api", api, "--tls-ca", ca, "--token", tokens.operator, "--output", "json"],
        { timeout: 120000 }, (err, stdout, stderr) => {
          try {
            resolve(JSON.parse(stdout.trim().split("\n").pop() ?? ""));
          } catch {
            reject(new Error(`raftoral start: ${err?.message ?? ""} ${stdout} ${stderr}`));
          }
        });
      });
      assert.equal(info.status, "COMPLETED", JSON.stringify(info));
      assert.equal(info.result, "hello ada");
    } finally {
      await w.stop();
      await running;
    }
  });

  test("without a token: run() rejects with UnauthenticatedError", { skip }, async () => {
    const e = await rejection(greeter({ tlsCa: ca }));
    assert.ok(e instanceof UnauthenticatedError, String(e));
    assert.equal(e.code, "ERR_UNAUTHENTICATED");
    assert.match(e.message, /UNAUTHENTICATED.*token/);
  });

  test("the CA and the token come from RAFTORAL_TLS_CA and RAFTORAL_TOKEN: a reader token is PermissionDeniedError", { skip }, async () => {
    process.env.RAFTORAL_TLS_CA = ca;
    process.env.RAFTORAL_TOKEN = tokens.reader;
    try {
      const e = await rejection(greeter({}));
      assert.ok(e instanceof PermissionDeniedError, String(e));
      assert.equal(e.code, "ERR_PERMISSION_DENIED");
      assert.match(e.message, /PERMISSION_DENIED.*role worker/);
    } finally {
      delete process.env.RAFTORAL_TLS_CA;
      delete process.env.RAFTORAL_TOKEN;
    }
  });

  test("a client certificate of another role (certs init's operator): PermissionDeniedError", { skip }, async () => {
    const certs = path.dirname(ca);
    const e = await rejection(greeter({ tlsCa: ca, tlsCert: path.join(certs, "client.pem"),
      tlsKey: path.join(certs, "client-key.pem") }));
    assert.ok(e instanceof PermissionDeniedError, String(e));
  });

  test("plaintext against the TLS port never registers and the log says why", { skip }, async () => {
    const lines: string[] = [];
    const w = greeter({ token: tokens.worker, logger: quietLogger(lines) });
    const running = w.run();
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(w.registered, undefined);
    await w.stop();
    await running;
    assert.ok(lines.some((l) => /TLS/.test(l)), lines.join("\n"));
  });
});
