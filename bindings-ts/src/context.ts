import { AsyncLocalStorage } from "node:async_hooks";
import { CallFailedError, RaftoralError, RunCancelledError, type CancelReason } from "./errors";
import { decodeJson, encodeJson } from "./json";
import type { Logger } from "./log";
import { failureOf, isWellFormed } from "./text";
import type { Execute, Failure, WorkerMessage } from "./proto";

/** What a workflow function sees of its run; every call is made on the node's context of the run. */
export interface WorkflowContext {
  readonly workflowId: string;
  readonly type: string;
  readonly version: number;
  /** Whether the node owned the workflow when it handed out this run (informational). */
  readonly isOwner: boolean;
  /** Aborted (with the RunCancelledError as reason) when the run is cancelled or its stream lost. */
  readonly signal: AbortSignal;
  /** True once the node cancelled the run because a client terminated the workflow. */
  isTerminated(): boolean;
  /** Commits `value` as the next write of `key` and returns the committed value (a replay's value, if any). */
  checkpoint<T>(key: string, value: T): Promise<T>;
  /**
   * The next write of `key` is `fn`'s result: `fn` runs only when the node asks (the owner, the
   * position not committed yet); otherwise the committed value is returned and `fn` never runs.
   * If `fn` throws, the position stays free and its own error is raised here.
   */
  checkpointCompute<T>(key: string, fn: () => T | Promise<T>): Promise<T>;
  /** A value replicated through the writes of `key`, starting at `initial` (its first write). */
  var<T>(key: string, initial: T): Promise<ReplicatedVar<T>>;
}

/** A value replicated through checkpoints of one key: `get` is local, `set`/`update` commit. */
export class ReplicatedVar<T> {
  #ctx: WorkflowContext;
  #key: string;
  #value: T;
  // Updates run one after another, so concurrent updates of one var are not lost.
  #chain: Promise<unknown> = Promise.resolve();

  constructor(ctx: WorkflowContext, key: string, value: T) {
    this.#ctx = ctx;
    this.#key = key;
    this.#value = value;
  }

  get key(): string {
    return this.#key;
  }

  get(): T {
    return this.#value;
  }

  set(value: T): Promise<T> {
    return this.#serial(async () => {
      this.#value = await this.#ctx.checkpoint(this.#key, value);
      return this.#value;
    });
  }

  update(fn: (current: T) => T): Promise<T> {
    return this.#serial(async () => {
      this.#value = await this.#ctx.checkpoint(this.#key, fn(this.#value));
      return this.#value;
    });
  }

  #serial<R>(op: () => Promise<R>): Promise<R> {
    const next = this.#chain.then(op, op);
    this.#chain = next.catch(() => undefined);
    return next;
  }
}

/** One call of a run the node has not answered yet. */
interface PendingCall {
  key: string;
  seq: number;
  value?: Buffer;
  compute?: () => unknown;
  computing: boolean;
  /** The compute function's own error, re-raised when the node answers CallFailed for it. */
  computeError?: { error: unknown };
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** The compute function a call runs in, so that a ctx call from inside it can be refused. */
const computeScope = new AsyncLocalStorage<RunState>();

function slot(key: string, seq: number): string {
  return `${seq}\u0000${key}`;
}


/**
 * One run the node handed this worker (an Execute): its calls, numbered per key from 0 at call
 * time in call order, sent at most `maxCallsInFlight` at once, and matched to the node's answers
 * by (key, seq).
 */
export class RunState {
  readonly id: string;
  readonly context: WorkflowContext;
  readonly #exec: Execute;
  readonly #send: (msg: WorkerMessage) => void;
  readonly #log: Logger;
  readonly #maxInFlight: number;
  readonly #maxValueBytes: number;
  readonly #history = new Map<string, Buffer>();
  readonly #nextSeq = new Map<string, number>();
  readonly #pending = new Map<string, PendingCall>();
  readonly #queue: PendingCall[] = [];
  readonly #abort = new AbortController();
  #inFlight = 0;
  #cancelled?: RunCancelledError;
  #terminated = false;

  constructor(exec: Execute, send: (msg: WorkerMessage) => void, maxCallsInFlight: number, maxValueBytes: number,
    log: Logger) {
    this.id = exec.run;
    this.#exec = exec;
    this.#send = send;
    this.#log = log;
    this.#maxInFlight = Math.max(1, maxCallsInFlight);
    this.#maxValueBytes = maxValueBytes;
    for (const h of exec.history ?? []) {
      this.#history.set(slot(h.key, Number(h.seq)), h.value);
    }
    this.context = this.#makeContext();
  }

  get cancelled(): RunCancelledError | undefined {
    return this.#cancelled;
  }

  /** The node cancelled the run, or its stream is gone: every waiting and later call raises. */
  cancel(reason: CancelReason, message: string): void {
    if (this.#cancelled) {
      return;
    }
    const err = new RunCancelledError(reason, message);
    this.#cancelled = err;
    if (reason === "TERMINATED") {
      this.#terminated = true;
    }
    const waiting = [...this.#pending.values()];
    this.#pending.clear();
    this.#queue.length = 0;
    for (const call of waiting) {
      call.reject(err);
    }
    this.#abort.abort(err);
  }

  onCommitted(key: string, seq: number, value: Buffer): void {
    const call = this.#take(key, seq, "CheckpointCommitted");
    if (!call) {
      return;
    }
    let decoded: unknown;
    try {
      decoded = decodeJson(value, `the committed value of ${key}#${seq}`);
    } catch (e) {
      call.reject(e);
      return;
    }
    call.resolve(decoded);
  }

  onCallFailed(key: string, seq: number, code: string, message: string, failure?: Failure | null): void {
    const call = this.#take(key, seq, "CallFailed");
    if (!call) {
      return;
    }
    // The position stays free on the node, so the key's next write takes this seq again (writes
    // of the key sent after it are refused as well, and each brings the count back down).
    const next = this.#nextSeq.get(key) ?? 0;
    this.#nextSeq.set(key, Math.min(next, seq));
    if (code === "ERR_WORKFLOW_FAILED" && call.computeError) {
      call.reject(call.computeError.error);
      return;
    }
    call.reject(new CallFailedError(code, message || code, key, seq, failure?.type || undefined));
  }

  onRunCompute(key: string, seq: number): void {
    const call = this.#pending.get(slot(key, seq));
    if (!call || !call.compute || call.computing) {
      this.#log.warn(`run ${this.id}: RunCompute for ${key}#${seq}, which waits for no compute step here; ignored`);
      return;
    }
    call.computing = true;
    const fn = call.compute;
    const finish = (msg: WorkerMessage) => {
      // A run cancelled meanwhile sends nothing more; its call was rejected already.
      if (!this.#cancelled) {
        this.#send(msg);
      }
    };
    computeScope.run(this, async () => {
      let value: Buffer;
      try {
        const result = await fn();
        value = encodeJson(result, `the result of compute step ${key}#${seq}`, this.#maxValueBytes);
      } catch (error) {
        call.computeError = { error };
        finish({ compute_result: { run: this.id, key, seq, error: failureOf(error) } });
        return;
      }
      finish({ compute_result: { run: this.id, key, seq, value } });
    });
  }

  #take(key: string, seq: number, what: string): PendingCall | undefined {
    const id = slot(key, seq);
    const call = this.#pending.get(id);
    if (!call) {
      this.#log.warn(`run ${this.id}: ${what} for ${key}#${seq}, which no call waits for; ignored`);
      return undefined;
    }
    this.#pending.delete(id);
    this.#inFlight--;
    this.#pump();
    return call;
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const call = this.#queue.shift()!;
      this.#inFlight++;
      this.#send({
        checkpoint: {
          run: this.id,
          key: call.key,
          seq: call.seq,
          value: call.value ?? Buffer.alloc(0),
          compute: call.compute !== undefined,
        },
      });
    }
  }

  /** Checks a ctx call and numbers it; the answer from history when the position is in it. */
  #begin(method: string, key: unknown): { seq: number; replayed?: Buffer } {
    if (computeScope.getStore() === this) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT",
        `ctx.${method} called from inside a compute function; call it from the workflow function`);
    }
    if (this.#cancelled) {
      throw this.#cancelled;
    }
    if (typeof key !== "string" || key.length === 0) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT", `ctx.${method}: the key must be a non-empty string`);
    }
    if (!isWellFormed(key)) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT",
        `ctx.${method}: the key is not UTF-8 text (it has a lone surrogate, which has no UTF-8 form)`);
    }
    if (Buffer.byteLength(key, "utf8") > 1024) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT", `ctx.${method}: the key is over 1024 bytes`);
    }
    const seq = this.#nextSeq.get(key) ?? 0;
    this.#nextSeq.set(key, seq + 1);
    return { seq, replayed: this.#history.get(slot(key, seq)) };
  }

  #call<T>(key: string, seq: number, value: Buffer | undefined, compute: (() => unknown) | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call: PendingCall = {
        key, seq, value, compute, computing: false,
        resolve: resolve as (v: unknown) => void, reject,
      };
      this.#pending.set(slot(key, seq), call);
      this.#queue.push(call);
      this.#pump();
    });
  }

  async checkpoint<T>(key: string, value: T): Promise<T> {
    if (computeScope.getStore() === this) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT",
        "ctx.checkpoint called from inside a compute function; call it from the workflow function");
    }
    // Encoded before the call takes a seq: a value that cannot be sent uses no position.
    const bytes = encodeJson(value, `the value of checkpoint ${String(key)}`, this.#maxValueBytes);
    const { seq, replayed } = this.#begin("checkpoint", key);
    if (replayed !== undefined) {
      return decodeJson<T>(replayed, `the replayed value of ${key}#${seq}`);
    }
    return this.#call<T>(key, seq, bytes, undefined);
  }

  async checkpointCompute<T>(key: string, fn: () => T | Promise<T>): Promise<T> {
    if (typeof fn !== "function") {
      throw new RaftoralError("ERR_INVALID_ARGUMENT", "ctx.checkpointCompute: fn must be a function");
    }
    const { seq, replayed } = this.#begin("checkpointCompute", key);
    if (replayed !== undefined) {
      return decodeJson<T>(replayed, `the replayed value of ${key}#${seq}`);
    }
    return this.#call<T>(key, seq, undefined, fn);
  }

  #makeContext(): WorkflowContext {
    const run = this;
    const exec = this.#exec;
    const ctx: WorkflowContext = {
      workflowId: exec.workflow_id,
      type: exec.type,
      version: exec.version,
      isOwner: exec.is_owner,
      signal: this.#abort.signal,
      isTerminated: () => run.#terminated,
      checkpoint: (key, value) => run.checkpoint(key, value),
      checkpointCompute: (key, fn) => run.checkpointCompute(key, fn),
      var: async <T>(key: string, initial: T) => new ReplicatedVar<T>(ctx, key, await run.checkpoint(key, initial)),
    };
    return Object.freeze(ctx);
  }
}
