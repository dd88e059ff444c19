// The order workflow as a TypeScript/Node.js worker: the same steps as the Java example's `order`
// v1 (total, reserve, charge, ship, a replicated stage), run in this process beside a node that
// serves workers (`raftoral node ... --worker-address 127.0.0.1:9001`). The node keeps the
// workflow's state and its checkpoints; this process only runs the code, and may die at any time:
// its runs go to another worker of the type (or to this one, restarted) with the values already
// committed, and no committed step runs again.
//
//   (cd bindings-ts && npm ci && npm run build)
//   node examples/ts-worker/order_worker.mjs --target 127.0.0.1:9001
//   ./raftoral start order-ts --version 1 --input '{"orderId":"A-1","customer":"ada","items":[{"sku":"book","quantity":2,"unitPriceCents":1500}]}' --wait

import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { crc32 } from "node:zlib";

// @raftoral/worker from this source tree (CommonJS, built into bindings-ts/dist); an application
// that installed the package writes `import { Worker } from "@raftoral/worker"`.
const require = createRequire(import.meta.url);
const { Worker } = require("../../bindings-ts/dist/src/index.js");

/** An order the workflow cannot run: the workflow fails with this type and message. */
class InvalidOrderError extends Error {
  get name() {
    return "InvalidOrderError";
  }
}

/** order-ts v1: `order` is {orderId, customer, items: [{sku, quantity, unitPriceCents}]}. */
async function order(ctx, order) {
  const items = order?.items ?? [];
  if (items.length === 0) {
    throw new InvalidOrderError(`order ${order?.orderId} has no items`);
  }
  const stage = await ctx.var("stage", "received");
  // Each side effect is a compute step: it runs once, on the owner, even if a process dies.
  const total = await ctx.checkpointCompute("total",
    () => items.reduce((sum, i) => sum + i.unitPriceCents * i.quantity, 0));
  await ctx.checkpointCompute("reservation", () => `rsv-${order.orderId}`);
  await stage.set("reserved");
  const payment = await ctx.checkpointCompute("payment", () => `pay-${order.customer}-${total}`);
  await stage.set("paid");
  const tracking = await ctx.checkpointCompute("shipment", () => `TRK${crc32(order.orderId)}`);
  await stage.set("shipped");
  return { orderId: order.orderId, totalCents: total, paymentId: payment, trackingNumber: tracking, stage: stage.get() };
}

const { values: args } = parseArgs({ options: { target: { type: "string", default: "127.0.0.1:9001" } } });
const worker = new Worker({
  target: args.target,
  workerId: "order-ts",
  onRegistered: (r) => console.error(`registered with node ${r.node_id} at ${args.target}`),
});
worker.workflow("order-ts", 1, order);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    // The node executes this worker's runs again on another worker of the type (or this one, restarted).
    worker.stop().finally(() => process.exit(0));
  });
}

await worker.run(); // until SIGINT or SIGTERM; reconnects after a lost stream
