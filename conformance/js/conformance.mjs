// The js entry point of the conformance suite: the instruction-set interpreter (interp.mjs,
// shared with ts-worker) as JavaScript workflows run inside `raftoral node` by polyglot-graal:
//
//   raftoral node ... --workflows conformance/js/conformance.mjs
//
// with the conformance module's classes on the node's class path: they give this module its
// side-effect log as the host module "conformance" (EffectLogModule), the only way a sandboxed
// workflow reaches a file. Its calls return promises, so effects are awaited in order.

import { hostModule, RaftoralError, workflow } from "raftoral";
import { runProgram } from "./interp.mjs";

const effects = hostModule("conformance");

const hooks = {
  logEvent: (wf, ev, key, seq, attempt, value, hasValue = false) =>
    hasValue ? effects.log(wf, ev, key, seq, attempt, value) : effects.log(wf, ev, key, seq, attempt),
  // An error of the node's API carries its code; termination must unwind the function.
  apiErrorCode: (e) => e instanceof RaftoralError && e.code !== "WORKFLOW_TERMINATED" ? e.code : undefined,
};

function conformance(name, version, options) {
  return workflow(name, version, async (ctx, input) => runProgram(ctx, version, await effects.node(), input, hooks), options);
}

export const v1 = conformance("conformance", 1);
export const v2 = conformance("conformance", 2);
export const ownerOnly = conformance("conformance_owner_only", 1, { mode: "owner_only" });
export const keepLast = conformance("conformance_keep_last", 1, { keepLastPerKey: 2 });
