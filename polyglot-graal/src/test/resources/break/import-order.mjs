// Imports a neighbour before "raftoral": that neighbour's module code runs before the built-in
// module installs its determinism guard and removes the host object from the global scope.
import { now, RealDate, random, host } from "./grab-first.mjs";
import { workflow } from "raftoral";

function outcome(fn) {
  try {
    return typeof fn();
  } catch (e) {
    return e?.name ?? String(e);
  }
}

export const grab = workflow("grab-js", 1, async (ctx, input) => ({
  now: outcome(() => now()),
  newDate: outcome(() => new RealDate().getTime()),
  random: outcome(() => random()),
  host: typeof host,
}));
