// The ts-worker entry point of the conformance suite: a worker process beside one `raftoral node`,
// running the instruction-set interpreter (conformance/js/interp.mjs, shared with the js entry
// point) as worker-hosted workflows through @raftoral/worker (bindings-ts, built into
// bindings-ts/dist by `npm ci && npm run build`).
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
import { runProgram } from "../js/interp.mjs";

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

const hooks = {
  logEvent,
  // The suite's name of an error of this library: its ErrorCode name without the ERR_ prefix.
  // Cancellation (termination, a lost run) must unwind the function.
  apiErrorCode: (e) => {
    if (e instanceof RunCancelledError || !(e instanceof RaftoralError)) {
      return undefined;
    }
    return typeof e.code === "string" && e.code.startsWith("ERR_") ? e.code.slice("ERR_".length) : "INTERNAL";
  },
};

function workflow(version) {
  return (ctx, input) => runProgram(ctx, version, NODE, input, hooks);
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
