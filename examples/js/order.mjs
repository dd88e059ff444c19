// The order workflow in JavaScript, run inside the node itself by polyglot-graal (GraalVM
// Polyglot): the same steps and result as the Java example's `order` v1 and the workers'
// `order-python`/`order-ts` v1 (total, reserve, charge, ship, a replicated stage). No worker
// process: the node loads this file and runs it where the workflow's state is replicated.
//
//   ./raftoral node --raft-addr 127.0.0.1:7001 --api-addr 127.0.0.1:8001 --bootstrap --workflows examples/js/order.mjs
//   ./raftoral start order-js --version 1 --api 127.0.0.1:8001 --wait \
//     --input '{"orderId":"A-1","customer":"ada","items":[{"sku":"book","quantity":2,"unitPriceCents":1500}]}'
//
// Plain ECMAScript: the sandbox has no Buffer, TextEncoder or zlib, so the tracking number's CRC-32
// is computed below. TypeScript users: polyglot-graal/raftoral.d.ts types the "raftoral" module.

import { workflow } from "raftoral";

/** An order the workflow cannot run: the workflow fails with this type and message. */
class InvalidOrderError extends Error {
  get name() {
    return "InvalidOrderError";
  }
}

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) of a string's UTF-8 bytes: the value of
// Python's zlib.crc32, Go's crc32.ChecksumIEEE and Node's zlib.crc32, so an order ships with the
// same tracking number whichever language ran it. The table is built once per context and frozen
// (module-level state lives on from run to run, so it must never change).
const CRC_TABLE = Object.freeze(Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) {
    c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return c >>> 0;
}));

/** The UTF-8 bytes of `s` (surrogate pairs as one 4-byte code point; a lone surrogate as U+FFFD, as TextEncoder). */
function utf8(s) {
  const bytes = [];
  for (const ch of s) {
    let cp = ch.codePointAt(0);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      cp = 0xfffd;
    }
    if (cp < 0x80) {
      bytes.push(cp);
    } else if (cp < 0x800) {
      bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    } else {
      bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    }
  }
  return bytes;
}

function crc32(s) {
  let c = 0xffffffff;
  for (const b of utf8(s)) {
    c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** order-js v1: `order` is {orderId, customer, items: [{sku, quantity, unitPriceCents}]}. */
export const order = workflow("order-js", 1, async (ctx, order) => {
  const items = order?.items ?? [];
  if (items.length === 0) {
    throw new InvalidOrderError(`order ${order?.orderId} has no items`);
  }
  const stage = await ctx.var("stage", "received");
  // Each side effect is a compute step: it runs once, on the owner, even if the node dies.
  const total = await ctx.checkpointCompute("total",
    () => items.reduce((sum, i) => sum + i.unitPriceCents * i.quantity, 0));
  await ctx.checkpointCompute("reservation", () => `rsv-${order.orderId}`);
  await stage.set("reserved");
  const payment = await ctx.checkpointCompute("payment", () => `pay-${order.customer}-${total}`);
  await stage.set("paid");
  const tracking = await ctx.checkpointCompute("shipment", () => `TRK${crc32(String(order.orderId))}`);
  await stage.set("shipped");
  return { orderId: order.orderId, totalCents: total, paymentId: payment, trackingNumber: tracking, stage: stage.get() };
});
