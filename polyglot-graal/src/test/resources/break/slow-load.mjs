// Module code that runs for 15 s while it loads (the clock may be read at load): longer than any
// turn limit a test gives (GraalDefectsTest), and finite so that a failing test does not leave a
// thread spinning.
import { workflow } from "raftoral";

const end = Date.now() + 15000;
while (Date.now() < end) {
  // busy
}

export const slow = workflow("slow-load-js", 1, async () => 1);
