import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** Where the package's copy of the protocol's .proto files lives (copied there at build time). */
export const PROTO_DIR = path.resolve(__dirname, "..", "..", "proto");

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  // Run ids and seqs are uint64: strings keep every bit (a run id is echoed back verbatim).
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

let cached: grpc.GrpcObject | undefined;

/** The loaded raftoral.worker.v1 package (WorkerService and its messages). */
export function workerPackage(): grpc.GrpcObject {
  if (!cached) {
    const def = protoLoader.loadSync("worker.proto", LOADER_OPTIONS);
    const root = grpc.loadPackageDefinition(def);
    cached = (root.raftoral as grpc.GrpcObject).worker as grpc.GrpcObject;
    cached = cached.v1 as grpc.GrpcObject;
  }
  return cached;
}

export function workerServiceClient(): grpc.ServiceClientConstructor {
  return workerPackage().WorkerService as grpc.ServiceClientConstructor;
}

// The wire shapes, as proto-loader gives and takes them with the options above.

export type ExecutionMode = "EXECUTION_MODE_UNSPECIFIED" | "HOT_STANDBY" | "OWNER_ONLY";

export interface Failure { type: string; message: string }

export interface WorkflowTypeSpec {
  name: string;
  version: number;
  mode: ExecutionMode;
  keep_last_per_key: number | string;
}

export interface WorkerMessage {
  register?: {
    worker_id: string;
    protocol_versions: number[];
    types: WorkflowTypeSpec[];
    max_concurrent_runs: number;
    library: string;
  };
  checkpoint?: { run: string; key: string; seq: number | string; value: Buffer; compute: boolean };
  compute_result?: { run: string; key: string; seq: number | string; value?: Buffer; error?: Failure };
  workflow_result?: { run: string; result?: Buffer; error?: Failure };
  heartbeat?: Record<string, never>;
  kind?: string;
}

export interface Registered {
  protocol_version: number;
  node_id: string;
  cluster_id: string;
  heartbeat_interval_ms: number;
  heartbeat_timeout_ms: number;
  max_concurrent_runs: number;
  max_calls_in_flight: number;
  max_value_bytes: number;
  max_queued_messages: number;
}

export interface CheckpointValue { key: string; seq: string; value: Buffer }

export interface Execute {
  run: string;
  workflow_id: string;
  type: string;
  version: number;
  input: Buffer;
  is_owner: boolean;
  history: CheckpointValue[];
  mode: ExecutionMode;
}

export interface NodeMessage {
  kind?: "registered" | "execute" | "checkpoint_committed" | "run_compute" | "cancel" | "ack"
    | "call_failed" | "protocol_error";
  registered?: Registered;
  execute?: Execute;
  checkpoint_committed?: { run: string; key: string; seq: string; value: Buffer };
  run_compute?: { run: string; key: string; seq: string };
  cancel?: { run: string; reason: string; message: string };
  ack?: { run: string };
  call_failed?: { run: string; key: string; seq: string; code: string; message: string; failure?: Failure | null };
  protocol_error?: { run: string; message: string; fatal: boolean };
}
