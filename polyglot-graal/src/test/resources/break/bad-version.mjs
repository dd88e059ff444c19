import { workflow } from "raftoral";

// line 4: the version is not an integer; the load error should name this file and line.
export const bad = workflow("bad-version-js", 1.5, async () => 1);
