import { workflow } from "raftoral";

export const hog = workflow("hog-js", 1, async (ctx) => {
  await ctx.checkpoint("start", 1);
  const kept = [];
  for (;;) {
    kept.push(new Array(10000).fill(kept.length));
  }
});

export const small = workflow("small-js", 1, async (ctx, n) => ctx.checkpoint("n", n + 1));
