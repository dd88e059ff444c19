import { workflow, RaftoralError } from "raftoral";
import { priceOf } from "./lib.mjs";

export const order = workflow("order-js", 1, async (ctx, input) => {
  if (!input.items?.length) {
    throw new RangeError(`order ${input.orderId} has no items`);
  }
  const stage = await ctx.var("stage", "received");
  const total = await ctx.checkpointCompute("total", () => input.items.reduce((s, i) => s + priceOf(i), 0));
  const reservation = await ctx.checkpointCompute("reservation", async () => `rsv-${input.orderId}`);
  await stage.set("reserved");
  return { orderId: input.orderId, total, reservation, stage: stage.get(), owner: typeof ctx.isOwner() };
});

export const steps = workflow("steps-js", 1, async (ctx, n) => {
  const seen = [];
  for (let i = 0; i < n; i++) {
    seen.push(await ctx.checkpoint(`step`, i));
  }
  return seen;
});

export const clock = workflow("clock-js", 1, async (ctx, where) => {
  if (where === "outside") {
    return Date.now();
  }
  if (where === "random") {
    return Math.random();
  }
  if (where === "new-date") {
    return new Date().getTime();
  }
  const t = await ctx.checkpointCompute("now", () => Date.now() + Math.random() * 0 + new Date(0).getTime());
  return typeof t;
});

export const spin = workflow("spin-js", 1, async (ctx, input) => {
  await ctx.checkpoint("before", 1);
  for (;;) {}
});

export const hang = workflow("hang-js", 1, async (ctx, input) => {
  await new Promise(() => {});
});

export const nested = workflow("nested-js", 1, async (ctx, input) => {
  try {
    await ctx.checkpointCompute("outer", async () => await ctx.checkpoint("inner", 1));
    return "no error";
  } catch (e) {
    return e instanceof RaftoralError ? e.code : String(e);
  }
});

export const timers = workflow("timers-js", 1, async (ctx, ms) => {
  const order = [];
  await Promise.all([
    new Promise((r) => setTimeout(() => { order.push("late"); r(); }, ms * 2)),
    new Promise((r) => setTimeout(() => { order.push("early"); r(); }, ms)),
  ]);
  const cancelled = setTimeout(() => order.push("never"), 1);
  clearTimeout(cancelled);
  await new Promise((r) => setTimeout(r, ms * 3));
  return order;
});

export const computeFails = workflow("compute-fails-js", 1, async (ctx, input) => {
  class Boom extends Error { get name() { return "Boom"; } }
  let attempts = 0;
  for (;;) {
    try {
      return await ctx.checkpointCompute("flaky", () => {
        attempts++;
        if (attempts < 3) throw new Boom(`attempt ${attempts}`);
        return attempts;
      });
    } catch (e) {
      if (!(e instanceof Boom)) throw e;
    }
  }
});

export const badKey = workflow("bad-key-js", 1, async (ctx, input) => {
  try {
    await ctx.checkpoint("", 1);
    return "accepted";
  } catch (e) {
    return e.code;
  }
});
