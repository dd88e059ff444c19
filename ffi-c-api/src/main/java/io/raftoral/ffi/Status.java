package io.raftoral.ffi;

import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.workflow.ForeignException;

/** The status codes of raftoral.h ({@code raftoral_status_enum}) and the mapping from Java errors. */
final class Status {
  static final int OK = 0;
  static final int INVALID_ARGUMENT = 1;
  static final int INVALID_HANDLE = 2;
  static final int BUFFER_TOO_SMALL = 5;
  static final int NOT_FOUND = 6;
  static final int ALREADY_EXISTS = 7;
  static final int NOT_REGISTERED = 8;
  static final int ALREADY_REGISTERED = 9;
  static final int TIMEOUT = 10;
  static final int WORKFLOW_FAILED = 11;
  static final int WORKFLOW_TERMINATED = 12;
  static final int PAYLOAD_TOO_LARGE = 13;
  static final int UNAVAILABLE = 14;
  static final int NODE_CLOSED = 15;
  static final int ABORTED = 16;
  static final int CALLBACK_FAILED = 17;
  static final int INTERNAL = 19;
  static final int NODE_REMOVED = 21;

  private Status() {}

  /** A failed call's code, message and detail, as the caller's error object will hold them. */
  record Failure(int code, String message, String detail) {}

  static Failure of(Throwable t) {
    return switch (t) {
      case AbiException e -> new Failure(e.status, e.getMessage(), e.detail);
      case Errors.PayloadTooLargeException e -> new Failure(PAYLOAD_TOO_LARGE, e.getMessage(), null);
      case Errors.InvalidArgumentException e -> new Failure(INVALID_ARGUMENT, e.getMessage(), null);
      case Errors.CodecException e -> new Failure(INVALID_ARGUMENT, e.getMessage(), null);
      case Errors.WorkflowNotFoundException e -> new Failure(NOT_FOUND, e.getMessage(), null);
      case Errors.AlreadyExistsException e -> new Failure(ALREADY_EXISTS, e.getMessage(), null);
      case Errors.NotRegisteredException e -> new Failure(NOT_REGISTERED, e.getMessage(), null);
      case Errors.AlreadyRegisteredException e -> new Failure(ALREADY_REGISTERED, e.getMessage(), null);
      case Errors.TimeoutException e -> new Failure(TIMEOUT, e.getMessage(), null);
      // The workflow's own message and type, so that a binding can rebuild its exception.
      case Errors.WorkflowFailedException e -> new Failure(WORKFLOW_FAILED, e.errorMessage(), e.errorType());
      case Errors.WorkflowTerminatedException e -> new Failure(WORKFLOW_TERMINATED, e.reason(), null);
      case Errors.UnavailableException e -> new Failure(UNAVAILABLE, e.getMessage(), null);
      case Errors.NodeClosedException e -> new Failure(NODE_CLOSED, e.getMessage(), null);
      case Errors.NodeRemovedException e -> new Failure(NODE_REMOVED, e.getMessage(), null);
      case ForeignException e -> new Failure(CALLBACK_FAILED, e.getMessage(), e.errorType());
      case RaftoralException e -> new Failure(INTERNAL, e.getMessage(), null);
      default -> new Failure(INTERNAL, t.toString(), null);
    };
  }
}
