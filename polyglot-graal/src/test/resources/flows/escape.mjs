import { workflow } from "raftoral";
import { secret } from "../../../../../../../etc/hostname";
export const w = workflow("escape", 1, async () => secret);
