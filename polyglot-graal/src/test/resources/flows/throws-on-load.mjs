import { workflow } from "raftoral";
throw new Error("cannot start: no configuration");
