package io.raftoral.ffi;

import io.raftoral.common.ErrorCode;
import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.workflow.ForeignException;

/**
 * The status a failed entry returns to C: the error's {@link ErrorCode}, whose number is the
 * {@code raftoral_status_enum} value of raftoral.h ({@code ErrorCodeTablesTest} checks the header).
 */
final class Status {
  /** RAFTORAL_OK. */
  static final int OK = 0;

  private Status() {}

  /** A failed call's code, message and detail, as the caller's error object will hold them. */
  record Failure(ErrorCode code, String message, String detail) {}

  static Failure of(Throwable t) {
    return switch (t) {
      case AbiException e -> new Failure(e.code, e.getMessage(), e.detail);
      // The workflow's own message and type, so that a binding can rebuild its exception.
      case Errors.WorkflowFailedException e -> new Failure(e.code(), e.errorMessage(), e.errorType());
      case Errors.WorkflowTerminatedException e -> new Failure(e.code(), e.reason(), null);
      case RaftoralException e -> new Failure(e.code(), e.getMessage(), null);
      case ForeignException e -> new Failure(ErrorCode.CALLBACK_FAILED, e.getMessage(), e.errorType());
      default -> new Failure(ErrorCode.INTERNAL, t.toString(), null);
    };
  }
}
