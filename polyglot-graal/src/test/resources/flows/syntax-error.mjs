import { workflow } from "raftoral";

export const broken = workflow("broken", 1, async (ctx, input) => {
  return input +;
});
