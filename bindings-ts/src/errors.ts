/** The ErrorCode names of client_api.proto (raftoral.client.v1.ErrorCode). */
export type ErrorCode =
  | "ERROR_CODE_UNSPECIFIED"
  | "ERR_INVALID_ARGUMENT"
  | "ERR_INVALID_HANDLE"
  | "ERR_NOT_INITIALIZED"
  | "ERR_SHUT_DOWN"
  | "ERR_BUFFER_TOO_SMALL"
  | "ERR_NOT_FOUND"
  | "ERR_ALREADY_EXISTS"
  | "ERR_NOT_REGISTERED"
  | "ERR_ALREADY_REGISTERED"
  | "ERR_TIMEOUT"
  | "ERR_WORKFLOW_FAILED"
  | "ERR_WORKFLOW_TERMINATED"
  | "ERR_PAYLOAD_TOO_LARGE"
  | "ERR_UNAVAILABLE"
  | "ERR_UNAUTHENTICATED"
  | "ERR_PERMISSION_DENIED"
  | (string & {});

/** Why a run was cancelled: a Cancel.Reason of worker.proto, or the worker's own loss of the stream. */
export type CancelReason =
  | "REASON_UNSPECIFIED"
  | "TERMINATED"
  | "ENDED_ELSEWHERE"
  | "OWNERSHIP_LOST"
  | "NODE_STOPPING"
  /** The stream to the node ended (or the worker stopped): the node executes the run again. */
  | "CONNECTION_LOST";

/** An error of the Raftoral worker library; `code` is an ErrorCode name of client_api.proto. */
export class RaftoralError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return "RaftoralError";
  }
}

/**
 * The node refused a call of the run (CallFailed): a bad key or wrong seq (ERR_INVALID_ARGUMENT),
 * a value over the payload limit (ERR_PAYLOAD_TOO_LARGE), or a compute step's failure that the
 * library could not re-raise as the original (ERR_WORKFLOW_FAILED, with `failureType`).
 * The position stays free: the workflow code may catch it and go on.
 */
export class CallFailedError extends RaftoralError {
  readonly key: string;
  readonly seq: number;
  /** For ERR_WORKFLOW_FAILED: the compute step's error type as the node echoed it. */
  readonly failureType?: string;

  constructor(code: ErrorCode, message: string, key: string, seq: number, failureType?: string) {
    super(code, message);
    this.key = key;
    this.seq = seq;
    this.failureType = failureType;
  }

  override get name(): string {
    return "CallFailedError";
  }
}

/**
 * The run was cancelled (Cancel from the node, or the stream was lost): every ctx call of the run
 * raises it, and the library sends nothing more for the run, so the workflow code should let it
 * propagate. `code` is ERR_WORKFLOW_TERMINATED for TERMINATED, ERR_UNAVAILABLE otherwise.
 */
export class RunCancelledError extends RaftoralError {
  readonly reason: CancelReason;

  constructor(reason: CancelReason, message: string) {
    super(reason === "TERMINATED" ? "ERR_WORKFLOW_TERMINATED" : "ERR_UNAVAILABLE",
      `run cancelled (${reason})${message ? ": " + message : ""}`);
    this.reason = reason;
  }

  override get name(): string {
    return "RunCancelledError";
  }
}

/**
 * The node refused this worker's credentials (gRPC UNAUTHENTICATED): no token or certificate where
 * the node requires one, or one it does not accept (unknown, wrong, expired, of another CA). The
 * worker stops: `run()` rejects with it. `reason` is the node's message.
 */
export class UnauthenticatedError extends RaftoralError {
  readonly reason: string;

  constructor(message: string, reason: string) {
    super("ERR_UNAUTHENTICATED", message);
    this.reason = reason;
  }

  override get name(): string {
    return "UnauthenticatedError";
  }
}

/**
 * The node accepted this worker's credentials but their role may not run workflows (gRPC
 * PERMISSION_DENIED): a worker needs a token or certificate of role `worker`. The worker stops:
 * `run()` rejects with it. `reason` is the node's message.
 */
export class PermissionDeniedError extends RaftoralError {
  readonly reason: string;

  constructor(message: string, reason: string) {
    super("ERR_PERMISSION_DENIED", message);
    this.reason = reason;
  }

  override get name(): string {
    return "PermissionDeniedError";
  }
}
