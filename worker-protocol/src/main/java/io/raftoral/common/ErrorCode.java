package io.raftoral.common;

import io.grpc.Status;

/**
 * The stable code of every error Raftoral reports, on every surface. Each code carries its
 * number, which is the C ABI's status ({@code RAFTORAL_ERR_<name>} of {@code raftoral.h}) and the
 * value of {@code ErrorCode} in {@code client_api.proto}, and the gRPC status a node answers
 * with. Numbers are ABI: never renumber or reuse one; add new codes at the end.
 *
 * <p>Every {@link RaftoralException} has one ({@link RaftoralException#code()}); the codes
 * marked "C ABI only" are raised by the C library or its Java entries, never by the engine.
 * The other tables (raftoral.h, the Python exceptions, the Go sentinels, the proto enum) are
 * checked against this enum by {@code ErrorCodeTablesTest}.
 */
public enum ErrorCode {
  /** An argument is invalid: NULL or blank where a value is needed, bad UTF-8 or JSON, an empty key. */
  INVALID_ARGUMENT(1, Status.Code.INVALID_ARGUMENT),
  /** C ABI only: a handle is NULL, closed, or of another kind. */
  INVALID_HANDLE(2, Status.Code.INVALID_ARGUMENT),
  /** C ABI only: {@code raftoral_init} has not been called (or failed). */
  NOT_INITIALIZED(3, Status.Code.FAILED_PRECONDITION),
  /** C ABI only: {@code raftoral_shutdown} has been called. */
  SHUT_DOWN(4, Status.Code.FAILED_PRECONDITION),
  /** C ABI only: a caller-provided buffer is too small. */
  BUFFER_TOO_SMALL(5, Status.Code.OUT_OF_RANGE),
  /** No workflow has this id ({@link Errors.WorkflowNotFoundException}). */
  NOT_FOUND(6, Status.Code.NOT_FOUND),
  /** A workflow with this id exists with another type, version or input ({@link Errors.AlreadyExistsException}). */
  ALREADY_EXISTS(7, Status.Code.ALREADY_EXISTS),
  /** No workflow of this type and version is registered ({@link Errors.NotRegisteredException}). */
  NOT_REGISTERED(8, Status.Code.FAILED_PRECONDITION),
  /** This type and version is registered already ({@link Errors.AlreadyRegisteredException}). */
  ALREADY_REGISTERED(9, Status.Code.FAILED_PRECONDITION),
  /** The deadline passed first ({@link Errors.TimeoutException}). */
  TIMEOUT(10, Status.Code.DEADLINE_EXCEEDED),
  /** The workflow ended FAILED ({@link Errors.WorkflowFailedException}). */
  WORKFLOW_FAILED(11, Status.Code.FAILED_PRECONDITION),
  /** The workflow was terminated ({@link Errors.WorkflowTerminatedException}). */
  WORKFLOW_TERMINATED(12, Status.Code.FAILED_PRECONDITION),
  /** A payload is above the node's payload limit ({@link Errors.PayloadTooLargeException}). */
  PAYLOAD_TOO_LARGE(13, Status.Code.INVALID_ARGUMENT),
  /** The cluster cannot answer now; retrying later may succeed ({@link Errors.UnavailableException}). */
  UNAVAILABLE(14, Status.Code.UNAVAILABLE),
  /** The node is closed or stopping ({@link Errors.NodeClosedException}). */
  NODE_CLOSED(15, Status.Code.UNAVAILABLE),
  /** C ABI only: this run of the workflow is no longer wanted. */
  ABORTED(16, Status.Code.ABORTED),
  /** C ABI only: a foreign compute function reported a failure. */
  CALLBACK_FAILED(17, Status.Code.INTERNAL),
  /** C ABI only: the JVM could not be found or started. */
  JVM(18, Status.Code.INTERNAL),
  /** An unexpected error, or a plain {@link RaftoralException}; the message says what happened. */
  INTERNAL(19, Status.Code.INTERNAL),
  /** C ABI only: the process forked after {@code raftoral_init} and this is the child. */
  FORKED(20, Status.Code.FAILED_PRECONDITION),
  /** The cluster removed this node ({@link Errors.NodeRemovedException}). */
  NODE_REMOVED(21, Status.Code.FAILED_PRECONDITION),
  /** A value cannot be encoded or decoded by the payload codec ({@link Errors.CodecException}). */
  CODEC(22, Status.Code.INVALID_ARGUMENT),
  /**
   * The caller presented no credentials, or ones the node does not accept: no token, a wrong or
   * unknown token, no or an untrusted client certificate ({@link Errors.UnauthenticatedException}).
   */
  UNAUTHENTICATED(23, Status.Code.UNAUTHENTICATED),
  /**
   * The caller is authenticated but its role does not allow the call, e.g. a reader token
   * terminating a workflow ({@link Errors.PermissionDeniedException}).
   */
  PERMISSION_DENIED(24, Status.Code.PERMISSION_DENIED);

  private static final ErrorCode[] BY_NUMBER = new ErrorCode[values().length + 1];

  static {
    for (ErrorCode c : values()) {
      BY_NUMBER[c.number] = c;
    }
  }

  private final int number;
  private final Status.Code grpcCode;

  ErrorCode(int number, Status.Code grpcCode) {
    this.number = number;
    this.grpcCode = grpcCode;
  }

  /** The C ABI status ({@code RAFTORAL_ERR_<name>}) and the {@code client_api.proto} enum value. */
  public int number() {
    return number;
  }

  /** The status code of a gRPC call that fails with this error. */
  public Status.Code grpcCode() {
    return grpcCode;
  }

  /** The name of the C ABI's status constant, e.g. {@code RAFTORAL_ERR_NOT_FOUND}. */
  public String abiName() {
    return "RAFTORAL_ERR_" + name();
  }

  /** The code numbered {@code number}, or null for 0 (success) and numbers this version does not know. */
  public static ErrorCode ofNumber(int number) {
    return number > 0 && number < BY_NUMBER.length ? BY_NUMBER[number] : null;
  }
}
