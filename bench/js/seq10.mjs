// seq10 with its steps in JavaScript (bench/run --js), the same workflow as the Java seq10
// (bench/src/main/java/io/raftoral/bench/Workloads.java): input n; 10 sequential compute steps
// on the key "step", step i returns previous + i; the result is n + 55.
import { workflow } from "raftoral";

export const seq10 = workflow("seq10-js", 1, async (ctx, n) => {
  let value = n;
  for (let i = 1; i <= 10; i++) {
    const previous = value;
    value = await ctx.checkpointCompute("step", () => previous + i);
  }
  return value;
});
