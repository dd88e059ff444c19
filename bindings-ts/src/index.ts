export { Worker, RegistrationError, LIBRARY, PROTOCOL_VERSION } from "./worker";
export type { WorkerOptions, WorkflowOptions, WorkflowFunction } from "./worker";
export { ReplicatedVar } from "./context";
export type { WorkflowContext } from "./context";
export { RaftoralError, CallFailedError, RunCancelledError, UnauthenticatedError, PermissionDeniedError } from "./errors";
export type { ErrorCode, CancelReason } from "./errors";
export type { Logger } from "./log";
export { PROTO_DIR } from "./proto";
