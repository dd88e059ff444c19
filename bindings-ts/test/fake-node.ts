// An in-process fake of the node's half of the worker protocol, for the library's unit tests: it
// hands the test every stream a worker opens, what the worker sends on it, and sends what the test
// scripts. Everything else about a node (Raft, storage, ownership) is out of this layer's scope.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { LOADER_OPTIONS, type NodeMessage, type WorkerMessage } from "../src/proto";

/** How long a test waits for something it expects before it fails (a guard against hangs). */
export const WAIT_MS = 5000;

class Inbox<T> {
  #items: T[] = [];
  #waiters: Array<(v: T) => void> = [];

  push(v: T): void {
    const w = this.#waiters.shift();
    if (w) {
      w(v);
    } else {
      this.#items.push(v);
    }
  }

  take(what: string, timeoutMs = WAIT_MS): Promise<T> {
    if (this.#items.length > 0) {
      return Promise.resolve(this.#items.shift()!);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error(`fake node: nothing (${what}) within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (v: T) => {
        clearTimeout(t);
        resolve(v);
      };
      this.#waiters.push(waiter);
    });
  }

  get size(): number {
    return this.#items.length;
  }

  drain(): T[] {
    return this.#items.splice(0);
  }
}

export const DEFAULT_REGISTERED = {
  protocol_version: 1,
  node_id: 7,
  cluster_id: "fake-cluster",
  heartbeat_interval_ms: 60000,
  heartbeat_timeout_ms: 600000,
  max_concurrent_runs: 256,
  max_calls_in_flight: 16,
  max_value_bytes: 1 << 20,
  max_queued_messages: 1024,
};

export class FakeStream {
  readonly call: grpc.ServerDuplexStream<WorkerMessage, NodeMessage>;
  /** Every message the worker sent, heartbeats included, in order. */
  readonly all: WorkerMessage[] = [];
  readonly #inbox = new Inbox<WorkerMessage>();
  readonly closed: Promise<void>;
  #open = true;

  constructor(call: grpc.ServerDuplexStream<WorkerMessage, NodeMessage>) {
    this.call = call;
    let closed!: () => void;
    this.closed = new Promise((r) => (closed = r));
    const close = () => {
      this.#open = false;
      closed();
    };
    call.on("data", (m: WorkerMessage) => {
      this.all.push(m);
      if (m.kind !== "heartbeat") {
        this.#inbox.push(m);
      }
    });
    call.on("end", close);
    call.on("cancelled", close);
    call.on("error", close);
    call.on("close", close);
  }

  get open(): boolean {
    return this.#open;
  }

  /** The worker's next message other than a heartbeat. */
  recv(timeoutMs = WAIT_MS): Promise<WorkerMessage> {
    return this.#inbox.take("a message from the worker", timeoutMs);
  }

  /** The messages received and not yet taken (heartbeats excluded). */
  pending(): WorkerMessage[] {
    return this.#inbox.drain();
  }

  send(msg: NodeMessage | Record<string, unknown>): void {
    this.call.write(msg as NodeMessage);
  }

  /** Reads Register and answers Registered (with `overrides`); returns the Register. */
  async register(overrides: Partial<typeof DEFAULT_REGISTERED> = {}): Promise<NonNullable<WorkerMessage["register"]>> {
    const m = await this.recv();
    if (m.kind !== "register" || !m.register) {
      throw new Error(`fake node: the first message is ${m.kind}, not register`);
    }
    this.send({ registered: { ...DEFAULT_REGISTERED, ...overrides } });
    return m.register;
  }

  /** Ends the stream with a gRPC status (as a node does on an error or when it stops). */
  fail(code: grpc.status, details: string): void {
    this.call.emit("error", { code, details });
    this.call.destroy({ code, details } as unknown as Error);
  }

  end(): void {
    this.call.end();
  }
}

export class FakeNode {
  readonly server: grpc.Server;
  readonly streams = new Inbox<FakeStream>();
  readonly opened: FakeStream[] = [];
  port = 0;

  private constructor() {
    this.server = new grpc.Server();
  }

  static async start(): Promise<FakeNode> {
    const node = new FakeNode();
    const def = protoLoader.loadSync("worker.proto", LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      raftoral: { worker: { v1: { WorkerService: grpc.ServiceClientConstructor } } };
    };
    node.server.addService(pkg.raftoral.worker.v1.WorkerService.service, {
      Connect: (call: grpc.ServerDuplexStream<WorkerMessage, NodeMessage>) => {
        const s = new FakeStream(call);
        node.opened.push(s);
        node.streams.push(s);
      },
    });
    node.port = await new Promise<number>((resolve, reject) => {
      node.server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err) {
          reject(err);
        } else {
          resolve(port);
        }
      });
    });
    return node;
  }

  get target(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The next stream a worker opens. */
  nextStream(timeoutMs = WAIT_MS): Promise<FakeStream> {
    return this.streams.take("a new stream", timeoutMs);
  }

  /** The next stream, registered with `overrides`. */
  async accept(overrides: Partial<typeof DEFAULT_REGISTERED> = {}): Promise<FakeStream> {
    const s = await this.nextStream();
    await s.register(overrides);
    return s;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

/** JSON bytes, as the node carries values. */
export function j(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), "utf8");
}

/** A JSON-decoded byte value of a worker message. */
export function dj(bytes: Uint8Array | undefined): unknown {
  return JSON.parse(Buffer.from(bytes ?? []).toString("utf8"));
}

export function execute(run: number, type: string, input: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    execute: {
      run, workflow_id: `wf-${run}`, type, version: 1, input: j(input), is_owner: true, history: [],
      mode: "HOT_STANDBY", ...extra,
    },
  };
}

/** A promise and its resolve, for a test to wait on what a workflow function reached. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
