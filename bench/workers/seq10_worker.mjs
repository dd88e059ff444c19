// The seq10 workload as a TypeScript/Node.js worker (bench/run --workers ts): type seq10-worker v1,
// input n, ten sequential compute steps of key "step", step i returning the previous value + i;
// the result is n + 55, as the embedded seq10. Prints {"event":"registered"} each time it has
// registered with its node. Needs bindings-ts built (npm ci && npm run build; bench/run does it).
//
//   node bench/workers/seq10_worker.mjs --target 127.0.0.1:9001

import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const require = createRequire(import.meta.url);
const { Worker } = require("../../bindings-ts/dist/src/index.js");

const { values: args } = parseArgs({ options: {
  target: { type: "string", default: "127.0.0.1:9001" },
  "max-concurrent-runs": { type: "string", default: "1024" },
} });
const worker = new Worker({
  target: args.target,
  workerId: `bench-seq10-ts-${process.pid}`,
  maxConcurrentRuns: Number(args["max-concurrent-runs"]),
  onRegistered: () => process.stdout.write('{"event":"registered"}\n'),
});
worker.workflow("seq10-worker", 1, async (ctx, n) => {
  let value = n;
  for (let i = 1; i <= 10; i++) {
    const previous = value;
    value = await ctx.checkpointCompute("step", () => previous + i);
  }
  return value;
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => worker.stop().finally(() => process.exit(0)));
}
await worker.run();
