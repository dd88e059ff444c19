import * as fs from "node:fs";
import * as os from "node:os";
import * as grpc from "@grpc/grpc-js";
import { RunState, type WorkflowContext } from "./context";
import { PermissionDeniedError, RaftoralError, UnauthenticatedError, type CancelReason } from "./errors";
import { decodeJson, encodeJson } from "./json";
import { defaultLogger, type Logger } from "./log";
import { failureOf, isWellFormed } from "./text";
import {
  workerServiceClient, type Execute, type ExecutionMode, type NodeMessage, type Registered,
  type WorkerMessage, type WorkflowTypeSpec,
} from "./proto";

export const LIBRARY = "raftoral-ts/0.1.0";
export const PROTOCOL_VERSION = 1;

export type WorkflowFunction<I, O> = (ctx: WorkflowContext, input: I) => O | Promise<O>;

export interface WorkflowOptions {
  /** How the group's members run it (SPEC §3); every worker of the type must use the same. */
  mode?: "hot_standby" | "owner_only";
  /** History retention once a workflow ends: 0 keeps every value, n > 0 the last n of each key. */
  keepLastPerKey?: number;
}

export interface WorkerOptions {
  /** The node's worker address, e.g. "127.0.0.1:9001" (its --worker-listen). */
  target: string;
  /** Names this worker in the node's logs; defaults to "ts-worker@host:pid". */
  workerId?: string;
  /** At most this many runs at once (1..65536); unset: the node's default. */
  maxConcurrentRuns?: number;
  /**
   * PEM file of the CA that signed the node's certificate: the worker connects with TLS. Defaults to
   * the environment variable RAFTORAL_TLS_CA. With neither a CA nor a client certificate the worker
   * connects in plaintext.
   */
  tlsCa?: string;
  /** PEM file of this worker's client certificate (one of the cluster's CA, OU=worker); with tlsKey. */
  tlsCert?: string;
  /** PEM file of the client certificate's key; with tlsCert. */
  tlsKey?: string;
  /**
   * A token of role `worker` (rft_...), sent as `authorization: Bearer TOKEN` on the stream.
   * Defaults to the environment variable RAFTORAL_TOKEN.
   */
  token?: string;
  /** Channel credentials replacing those of tlsCa, tlsCert and tlsKey (the token is sent either way). */
  credentials?: grpc.ChannelCredentials;
  logger?: Logger;
  /** Reconnect backoff after a stream ends: doubles from initialMs up to maxMs (with jitter). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** How long to wait for Registered before giving up on a stream and reconnecting. */
  registerTimeoutMs?: number;
  /**
   * Called with the node's Registered each time a stream has registered (the first time and after
   * every reconnection), before any run of that stream starts. An error it throws is logged.
   */
  onRegistered?: (registered: Registered) => void;
}

/** The node refused the registration itself (a configuration error, not retried). */
export class RegistrationError extends RaftoralError {
  readonly grpcCode: grpc.status;

  constructor(grpcCode: grpc.status, message: string) {
    super(grpcCode === grpc.status.FAILED_PRECONDITION ? "ERR_ALREADY_REGISTERED" : "ERR_INVALID_ARGUMENT",
      `the node refused the registration (${grpc.status[grpcCode]}): ${message}`);
    this.grpcCode = grpcCode;
  }

  override get name(): string {
    return "RegistrationError";
  }
}

interface Definition {
  name: string;
  version: number;
  fn: WorkflowFunction<unknown, unknown>;
  mode: ExecutionMode;
  keepLastPerKey: number;
}

interface SessionEnd {
  registered: boolean;
  error?: grpc.ServiceError | Error;
}

/**
 * One stream to the node: Register, then the runs the node hands out over it. When the stream
 * ends, its runs are dropped here (the node executes them again from their committed history).
 */
class Session {
  readonly done: Promise<SessionEnd>;
  readonly #worker: Worker;
  readonly #call: grpc.ClientDuplexStream<WorkerMessage, NodeMessage>;
  readonly #log: Logger;
  readonly #runs = new Map<string, RunState>();
  readonly #waiting: Execute[] = [];
  #registered?: Registered;
  #finished = false;
  #resolve!: (end: SessionEnd) => void;
  #heartbeat?: NodeJS.Timeout;
  #silence?: NodeJS.Timeout;
  #registerTimer?: NodeJS.Timeout;
  #runLimit = 0;

  constructor(worker: Worker, client: grpc.Client, register: WorkerMessage, registerTimeoutMs: number, log: Logger,
    metadata: grpc.Metadata) {
    this.#worker = worker;
    this.#log = log;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    const connect = (client as unknown as Record<string,
      (metadata: grpc.Metadata) => grpc.ClientDuplexStream<WorkerMessage, NodeMessage>>).Connect;
    this.#call = connect.call(client, metadata);
    this.#call.on("data", (msg: NodeMessage) => this.#onMessage(msg));
    this.#call.on("error", (err: grpc.ServiceError) => this.#finish(err));
    this.#call.on("end", () => this.#finish(new Error("the node ended the stream")));
    this.#registerTimer = setTimeout(() => {
      this.#finish(new Error(`no Registered within ${registerTimeoutMs} ms`));
    }, registerTimeoutMs);
    this.#write(register);
  }

  get registered(): Registered | undefined {
    return this.#registered;
  }

  get runCount(): number {
    return this.#runs.size;
  }

  /** Ends the stream from this side (the worker stops). */
  close(): void {
    this.#finish(undefined);
  }

  #write(msg: WorkerMessage): void {
    if (this.#finished) {
      return;
    }
    try {
      this.#call.write(msg);
    } catch (e) {
      // The stream broke under the write (its end event may not have come yet): a lost stream.
      this.#finish(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    // A heartbeat is due only after heartbeat_interval_ms with nothing else sent.
    this.#heartbeat?.refresh();
  }

  #finish(error: grpc.ServiceError | Error | undefined): void {
    if (this.#finished) {
      return;
    }
    this.#finished = true;
    clearTimeout(this.#heartbeat);
    clearTimeout(this.#silence);
    clearTimeout(this.#registerTimer);
    for (const run of this.#runs.values()) {
      run.cancel("CONNECTION_LOST", error ? error.message : "the worker stopped");
    }
    this.#runs.clear();
    this.#waiting.length = 0;
    if (error) {
      this.#log.warn(`stream to the node ended: ${error.message}`);
    }
    this.#call.end();
    this.#call.cancel();
    this.#resolve({ registered: this.#registered !== undefined, error });
  }

  #onMessage(msg: NodeMessage): void {
    if (this.#finished) {
      return;
    }
    this.#silence?.refresh();
    if (!this.#registered) {
      if (msg.kind !== "registered" || !msg.registered) {
        this.#finish(new RaftoralError("ERR_INVALID_ARGUMENT",
          `the node's first message is ${msg.kind ?? "empty"}, not Registered`));
        return;
      }
      this.#onRegistered(msg.registered);
      return;
    }
    switch (msg.kind) {
      case "execute":
        this.#onExecute(msg.execute!);
        return;
      case "checkpoint_committed": {
        const m = msg.checkpoint_committed!;
        const run = this.#runs.get(m.run);
        if (run) {
          run.onCommitted(m.key, Number(m.seq), m.value);
        } else {
          this.#unknownRun(m.run, msg.kind);
        }
        return;
      }
      case "run_compute": {
        const m = msg.run_compute!;
        const run = this.#runs.get(m.run);
        if (run) {
          run.onRunCompute(m.key, Number(m.seq));
        } else {
          this.#unknownRun(m.run, msg.kind);
        }
        return;
      }
      case "call_failed": {
        const m = msg.call_failed!;
        const run = this.#runs.get(m.run);
        if (run) {
          run.onCallFailed(m.key, Number(m.seq), m.code, m.message, m.failure);
        } else {
          this.#unknownRun(m.run, msg.kind);
        }
        return;
      }
      case "cancel": {
        const m = msg.cancel!;
        const run = this.#runs.get(m.run);
        if (!run) {
          this.#unknownRun(m.run, msg.kind);
          return;
        }
        this.#log.info(`run ${m.run}: cancelled by the node (${m.reason}) ${m.message}`);
        // The node counts the run as over at Cancel: its slot is free now.
        this.#runs.delete(m.run);
        run.cancel(m.reason as CancelReason, m.message);
        this.#startWaiting();
        return;
      }
      case "ack":
        return;
      case "protocol_error": {
        const m = msg.protocol_error!;
        this.#log.warn(`the node reports a protocol error${m.fatal ? " (fatal)" : ""} for run ${m.run}: ${m.message}`);
        return;
      }
      case "registered":
        this.#log.warn("a second Registered from the node; ignored");
        return;
      default:
        this.#log.warn(`an unknown message from the node (${String(msg.kind)}); ignored`);
    }
  }

  #unknownRun(run: string, kind: string): void {
    // Late answers for a run cancelled or finished here: expected, nothing to do.
    this.#log.debug(`${kind} for run ${run}, which this worker does not hold; ignored`);
  }

  #onRegistered(r: Registered): void {
    clearTimeout(this.#registerTimer);
    this.#registered = r;
    const own = this.#worker.maxConcurrentRuns;
    this.#runLimit = Math.min(r.max_concurrent_runs || own || 256, own || Number.MAX_SAFE_INTEGER);
    this.#log.info(`registered with node ${r.node_id} of cluster ${r.cluster_id} (protocol ${r.protocol_version}, `
      + `${this.#runLimit} runs, heartbeat ${r.heartbeat_interval_ms}/${r.heartbeat_timeout_ms} ms)`);
    if (r.heartbeat_interval_ms > 0) {
      // #write refreshes it, which also re-arms it after it fired.
      this.#heartbeat = setTimeout(() => this.#write({ heartbeat: {} }), r.heartbeat_interval_ms);
      this.#heartbeat.unref();
    }
    if (r.heartbeat_timeout_ms > 0) {
      this.#silence = setTimeout(() => {
        this.#finish(new Error(`the node was silent for ${r.heartbeat_timeout_ms} ms`));
      }, r.heartbeat_timeout_ms);
      this.#silence.unref();
    }
    const callback = this.#worker.onRegistered;
    if (callback) {
      try {
        callback(r);
      } catch (e) {
        this.#log.warn(`onRegistered threw: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  #onExecute(exec: Execute): void {
    if (this.#runs.has(exec.run)) {
      this.#log.warn(`Execute for run ${exec.run}, which this worker already runs; ignored`);
      return;
    }
    if (this.#runs.size >= this.#runLimit) {
      // The node keeps to the limit; should it not, the run waits here for a free slot.
      this.#log.warn(`Execute for run ${exec.run} past the limit of ${this.#runLimit} runs; it waits`);
      this.#waiting.push(exec);
      return;
    }
    this.#start(exec);
  }

  #startWaiting(): void {
    while (!this.#finished && this.#waiting.length > 0 && this.#runs.size < this.#runLimit) {
      this.#start(this.#waiting.shift()!);
    }
  }

  #start(exec: Execute): void {
    const limits = this.#registered!;
    const run = new RunState(exec, (m) => this.#write(m), limits.max_calls_in_flight || 1, limits.max_value_bytes, this.#log);
    this.#runs.set(exec.run, run);
    const def = this.#worker.definition(exec.type, exec.version);
    this.#log.debug(`run ${exec.run}: ${exec.type} v${exec.version} ${exec.workflow_id}`
      + ` (${exec.history.length} replayed values)`);
    const body = async (): Promise<unknown> => {
      if (!def) {
        throw new RaftoralError("ERR_NOT_REGISTERED",
          `this worker has no workflow ${exec.type} version ${exec.version}`);
      }
      const input = decodeJson(exec.input, `the input of workflow ${exec.workflow_id}`);
      return def.fn(run.context, input);
    };
    body().then(
      (result) => {
        let bytes: Buffer;
        try {
          // A function that returns nothing has the result null.
          bytes = encodeJson(result === undefined ? null : result, `the result of workflow ${exec.workflow_id}`,
            limits.max_value_bytes);
        } catch (error) {
          this.#end(run, { error: failureOf(error) });
          return;
        }
        this.#end(run, { result: bytes });
      },
      (error) => this.#end(run, { error: failureOf(error) }),
    );
  }

  #end(run: RunState, outcome: { result?: Buffer; error?: { type: string; message: string } }): void {
    if (run.cancelled || this.#runs.get(run.id) !== run) {
      // Cancelled (by the node or a lost stream): the node expects nothing more for it.
      this.#log.debug(`run ${run.id}: ended after it was cancelled; nothing sent`);
      return;
    }
    this.#runs.delete(run.id);
    this.#write({ workflow_result: { run: run.id, ...outcome } });
    this.#startWaiting();
  }
}


function tlsCaOf(options: WorkerOptions): string | undefined {
  return options.tlsCa ?? (process.env.RAFTORAL_TLS_CA || undefined);
}

/** TLS when the options (or RAFTORAL_TLS_CA) name a CA or a client certificate, else plaintext. */
function channelCredentials(options: WorkerOptions): grpc.ChannelCredentials {
  const ca = tlsCaOf(options);
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new RaftoralError("ERR_INVALID_ARGUMENT", "Worker: tlsCert and tlsKey go together: give both or neither");
  }
  if (ca === undefined && options.tlsCert === undefined) {
    return grpc.credentials.createInsecure();
  }
  const read = (name: string, file: string | undefined): Buffer | null => {
    if (file === undefined) {
      return null;
    }
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT", `Worker: ${name} ${file} cannot be read: ${(e as Error).message}`);
    }
  };
  return grpc.credentials.createSsl(read("tlsCa", ca), read("tlsKey", options.tlsKey), read("tlsCert", options.tlsCert));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

/**
 * A worker process's connection to a node: register workflow functions with `workflow`, then
 * `run()` serves the runs the node hands out until `stop()`, reconnecting after a lost stream.
 */
export class Worker {
  readonly target: string;
  readonly workerId: string;
  readonly maxConcurrentRuns: number;
  readonly #options: WorkerOptions;
  readonly #log: Logger;
  readonly #definitions = new Map<string, Definition>();
  readonly #stop = new AbortController();
  readonly #credentials: grpc.ChannelCredentials;
  readonly #token?: string;
  #client?: grpc.Client;
  #session?: Session;
  #running = false;
  #runDone: Promise<void> = Promise.resolve();

  constructor(options: WorkerOptions) {
    if (!options || typeof options.target !== "string" || options.target.trim() === "") {
      throw new RaftoralError("ERR_INVALID_ARGUMENT", "Worker: target must be a non-empty address, e.g. 127.0.0.1:9001");
    }
    const max = options.maxConcurrentRuns ?? 0;
    if (!Number.isInteger(max) || max < 0 || max > 65536) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT", `Worker: maxConcurrentRuns must be an integer in 1..65536, not ${max}`);
    }
    const id = options.workerId ?? `ts-worker@${os.hostname()}:${process.pid}`;
    if (typeof id !== "string" || id.trim() === "" || id.length > 256 || !isWellFormed(id)) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT",
        "Worker: workerId must be a non-blank string of at most 256 characters, without lone surrogates");
    }
    if (options.onRegistered !== undefined && typeof options.onRegistered !== "function") {
      throw new RaftoralError("ERR_INVALID_ARGUMENT", "Worker: onRegistered must be a function");
    }
    this.#credentials = options.credentials ?? channelCredentials(options);
    const token = options.token ?? (process.env.RAFTORAL_TOKEN || undefined);
    if (token !== undefined && (typeof token !== "string" || token.trim() === "" || /[\r\n]/.test(token))) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT", "Worker: token must be a non-blank string on one line (rft_...)");
    }
    this.#token = token?.trim();
    this.#options = options;
    this.target = options.target;
    this.workerId = id;
    this.maxConcurrentRuns = max;
    this.#log = options.logger ?? defaultLogger;
  }

  /** Registers `fn` as version `version` of workflow type `name`; before `run()`. */
  workflow<I = unknown, O = unknown>(name: string, version: number, fn: WorkflowFunction<I, O>,
    options: WorkflowOptions = {}): this {
    if (this.#running) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT", "Worker.workflow: register every workflow before run()");
    }
    if (typeof name !== "string" || name.trim() === "" || !isWellFormed(name)) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT",
        "Worker.workflow: the name must be a non-blank string without lone surrogates");
    }
    if (!Number.isInteger(version) || version < 1 || version > 0x7fffffff) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT", `Worker.workflow: version must be an integer >= 1, not ${version}`);
    }
    if (typeof fn !== "function") {
      throw new RaftoralError("ERR_INVALID_ARGUMENT", "Worker.workflow: fn must be a function");
    }
    const modeName = options.mode ?? "hot_standby";
    if (modeName !== "hot_standby" && modeName !== "owner_only") {
      throw new RaftoralError("ERR_INVALID_ARGUMENT",
        `Worker.workflow: mode must be "hot_standby" or "owner_only", not ${String(modeName)}`);
    }
    const keep = options.keepLastPerKey ?? 0;
    if (!Number.isSafeInteger(keep) || keep < 0) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT", `Worker.workflow: keepLastPerKey must be an integer >= 0, not ${keep}`);
    }
    const k = `${version}\u0000${name}`;
    if (this.#definitions.has(k)) {
      throw new RaftoralError("ERR_ALREADY_REGISTERED", `Worker.workflow: ${name} version ${version} is registered already`);
    }
    this.#definitions.set(k, {
      name, version, fn: fn as WorkflowFunction<unknown, unknown>,
      mode: modeName === "owner_only" ? "OWNER_ONLY" : "HOT_STANDBY", keepLastPerKey: keep,
    });
    return this;
  }

  /** @internal */
  definition(name: string, version: number): Definition | undefined {
    return this.#definitions.get(`${version}\u0000${name}`);
  }

  /** @internal */
  get onRegistered(): ((registered: Registered) => void) | undefined {
    return this.#options.onRegistered;
  }

  /** The node's Registered of the current stream, once it is registered. */
  get registered(): Registered | undefined {
    return this.#session?.registered;
  }

  /** How many runs this worker holds now. */
  get activeRuns(): number {
    return this.#session?.runCount ?? 0;
  }

  /**
   * Serves the node until `stop()`: connects, registers, runs what the node hands out, and after a
   * lost stream reconnects with backoff. Rejects with RegistrationError when the node refuses the
   * registration itself (INVALID_ARGUMENT, FAILED_PRECONDITION): retrying would not help.
   */
  async run(): Promise<void> {
    if (this.#running) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT", "Worker.run: already running");
    }
    if (this.#definitions.size === 0) {
      throw new RaftoralError("ERR_INVALID_ARGUMENT", "Worker.run: no workflow registered");
    }
    this.#running = true;
    let done!: () => void;
    this.#runDone = new Promise((resolve) => (done = resolve));
    const Client = workerServiceClient();
    this.#client = new Client(this.target, this.#credentials, {
      // The node bounds what it sends (a value up to its payload limit, 4 MiB by default, plus the
      // envelope; an Execute's history up to 4 MiB): gRPC's default 4 MiB receive limit would end
      // the stream on such a message, again after every reconnect.
      "grpc.max_receive_message_length": -1,
      "grpc.max_send_message_length": -1,
    });
    const initial = this.#options.reconnect?.initialMs ?? 100;
    const maxDelay = this.#options.reconnect?.maxMs ?? 5000;
    let delay = initial;
    try {
      while (!this.#stop.signal.aborted) {
        const metadata = new grpc.Metadata();
        if (this.#token !== undefined) {
          metadata.set("authorization", `Bearer ${this.#token}`);
        }
        const session = new Session(this, this.#client, this.#registerMessage(),
          this.#options.registerTimeoutMs ?? 10000, this.#log, metadata);
        this.#session = session;
        const end = await session.done;
        if (this.#stop.signal.aborted) {
          break;
        }
        const code = (end.error as grpc.ServiceError | undefined)?.code;
        if (!end.registered && (code === grpc.status.INVALID_ARGUMENT || code === grpc.status.FAILED_PRECONDITION)) {
          throw new RegistrationError(code, (end.error as grpc.ServiceError).details ?? end.error!.message);
        }
        if (code === grpc.status.UNAUTHENTICATED) {
          const reason = (end.error as grpc.ServiceError).details ?? end.error!.message;
          throw new UnauthenticatedError(`the node at ${this.target} refused this worker's credentials `
            + `(UNAUTHENTICATED): ${reason}`
            + (this.#token === undefined && this.#options.tlsCert === undefined
              ? "; give a token of role worker (token or RAFTORAL_TOKEN) or a client certificate" : ""), reason);
        }
        if (code === grpc.status.PERMISSION_DENIED) {
          const reason = (end.error as grpc.ServiceError).details ?? end.error!.message;
          throw new PermissionDeniedError(`the node at ${this.target} does not let this worker's credentials run `
            + `workflows (PERMISSION_DENIED): ${reason}; a worker needs a token or certificate of role worker`, reason);
        }
        if (end.registered) {
          delay = initial;
        } else if (code === grpc.status.UNAVAILABLE) {
          this.#log.warn(this.#usesTls
            ? "is the certificate of the node's worker port one tlsCa trusts, for this address?"
            : "does the node's worker port speak TLS? then give tlsCa (or RAFTORAL_TLS_CA)");
        }
        const wait = delay / 2 + Math.random() * delay / 2;
        this.#log.info(`reconnecting to ${this.target} in ${Math.round(wait)} ms`);
        await sleep(wait, this.#stop.signal);
        delay = Math.min(delay * 2, maxDelay);
      }
    } finally {
      this.#client.close();
      done();
    }
  }

  get #usesTls(): boolean {
    return this.#options.credentials === undefined
      && (tlsCaOf(this.#options) !== undefined || this.#options.tlsCert !== undefined);
  }

  /** Ends the stream (the node executes this worker's runs again elsewhere) and makes run() return. */
  stop(): Promise<void> {
    this.#stop.abort();
    this.#session?.close();
    return this.#runDone;
  }

  #registerMessage(): WorkerMessage {
    const types: WorkflowTypeSpec[] = [...this.#definitions.values()].map((d) => ({
      name: d.name, version: d.version, mode: d.mode, keep_last_per_key: d.keepLastPerKey,
    }));
    return {
      register: {
        worker_id: this.workerId,
        protocol_versions: [PROTOCOL_VERSION],
        types,
        max_concurrent_runs: this.maxConcurrentRuns,
        library: LIBRARY,
      },
    };
  }
}
