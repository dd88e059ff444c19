// Types of the built-in module "raftoral" of JavaScript workflows run inside a Raftoral node by
// polyglot-graal (README.md). Put this file beside your workflow modules (or in `typeRoots`) to
// type-check them with TypeScript; compile to ES modules (.mjs) and load them with
// `raftoral node ... --workflows flows/order.mjs`.

declare module "raftoral" {
  /** A JSON value: what inputs, checkpoints and results are (they cross the node as JSON text). */
  export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

  export interface WorkflowOptions {
    /** "hot_standby" (default): every member runs the function; "owner_only": only the owner does. */
    mode?: "hot_standby" | "owner_only";
    /** How many committed values of each key the history keeps once the workflow ended (0: all). */
    keepLastPerKey?: number;
  }

  /** What `workflow()` returns; export it from the module to register the type. */
  export interface Workflow<I extends Json = Json, O extends Json = Json> {
    readonly name: string;
    readonly version: number;
    readonly fn: (ctx: WorkflowContext, input: I) => O | Promise<O>;
    readonly mode: "hot_standby" | "owner_only";
    readonly keepLastPerKey: number;
  }

  /** Declares a workflow type (name, version >= 1) implemented by `fn`. */
  export function workflow<I extends Json = Json, O extends Json = Json>(
    name: string,
    version: number,
    fn: (ctx: WorkflowContext, input: I) => O | Promise<O>,
    options?: WorkflowOptions,
  ): Workflow<I, O>;

  /** What a workflow function sees of its run. Every call returns a Promise: await it. */
  export interface WorkflowContext {
    readonly workflowId: string;
    readonly type: string;
    readonly version: number;
    /** Whether this node owns the workflow now (it may change at any checkpoint). */
    isOwner(): boolean;
    /** Whether the workflow was terminated; a long loop checks it. */
    isTerminated(): boolean;
    /**
     * Records `value` as the next value of `key` and returns that position's committed value (a
     * replay returns the value committed before; only the owner's value is proposed).
     */
    checkpoint<T extends Json>(key: string, value: T): Promise<T>;
    /**
     * Runs `fn` only on the owner and only when the next value of `key` is not committed yet; its
     * result becomes that value. Put every side effect (calls to other services, the clock,
     * randomness) here. If `fn` throws, the position stays free and its own error is raised here.
     * `fn` must not use `ctx`.
     */
    checkpointCompute<T extends Json>(key: string, fn: () => T | Promise<T>): Promise<T>;
    /** A value replicated through the writes of `key`, starting at `initial` (its first write). */
    var<T extends Json>(key: string, initial: T): Promise<ReplicatedVar<T>>;
  }

  /** A value replicated through checkpoints of one key: `get` is local, `set` and `update` commit. */
  export interface ReplicatedVar<T extends Json> {
    readonly key: string;
    get(): T;
    set(value: T): Promise<T>;
    update(fn: (current: T) => T): Promise<T>;
  }

  /** An error of the node's API. `code` is a name of the error-code table, e.g. "INVALID_ARGUMENT",
   * "PAYLOAD_TOO_LARGE", "WORKFLOW_TERMINATED" (let that one propagate: the workflow was terminated). */
  export class RaftoralError extends Error {
    readonly code: string;
    constructor(code: string, message: string);
  }

  /** Thrown by Date.now(), new Date(), Date() and Math.random() outside a checkpointCompute function. */
  export class DeterminismError extends Error {}

  /**
   * The functions a host module of the node offers (installed by the application embedding the
   * node, or from a jar on `raftoral node`'s class path). Each returns a Promise of its JSON
   * result; most may only be called inside a checkpointCompute function.
   */
  export function hostModule(name: string): { readonly [fn: string]: (...args: Json[]) => Promise<Json> };
}

// The globals a workflow module has beyond ECMAScript's own: the run's timers (not durable: a
// replayed run starts them again) and console (to the node's log).
declare function setTimeout(fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): number;
declare function clearTimeout(id: number): void;
declare const console: {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
};
