import { workflow } from "raftoral";

function attempt(fn) {
  try {
    const r = fn();
    return r === undefined ? "undefined" : "allowed: " + String(r).slice(0, 40);
  } catch (e) {
    return "refused";
  }
}

export const sandbox = workflow("sandbox-js", 1, async (ctx, input) => {
  return {
    java: attempt(() => Java.type("java.lang.System")),
    polyglot: attempt(() => Polyglot.eval("js", "1")),
    load: attempt(() => load("/etc/hostname")),
    host: attempt(() => globalThis.__raftoralHost.install),
    process: attempt(() => process.env.PATH),
    require: attempt(() => require("fs")),
  };
});
