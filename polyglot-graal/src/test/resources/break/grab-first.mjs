// Evaluated before "raftoral" when a workflow module imports it first (GraalDefectsTest).
export const now = Date.now;
export const RealDate = Date;
export const random = Math.random;
export const host = globalThis.__raftoralHost;
