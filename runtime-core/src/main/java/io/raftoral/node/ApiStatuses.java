package io.raftoral.node;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.raftoral.client.GrpcErrors;
import io.raftoral.common.ErrorCode;
import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.client.ErrorDetail;
import java.nio.charset.StandardCharsets;

/**
 * The node's half of the error mapping: the gRPC status for an exception a call threw. The status
 * code is the exception's {@link ErrorCode#grpcCode()}, the description its message, and the
 * trailer {@link GrpcErrors#DETAIL} an {@link ErrorDetail} with its code and fields, from which
 * the client half ({@link GrpcErrors#fromStatus}) rebuilds the same exception.
 *
 * <p>Statuses travel in HTTP/2 headers, whose size clients cap (8 KiB in grpc-java, 16 KiB in
 * grpcio): a longer status fails as RESOURCE_EXHAUSTED or INTERNAL instead of its own code. So
 * the description and the detail's error message are cut to {@value #MAX_TEXT_BYTES} bytes of
 * UTF-8, ending "... (N characters)", and the error type to {@value #MAX_TYPE_BYTES}. A workflow's
 * whole error message is in its info (describe, await).
 */
final class ApiStatuses {
  /** The most UTF-8 bytes of a status's description or a detail's error message. */
  static final int MAX_TEXT_BYTES = 1024;
  /** The most UTF-8 bytes of a detail's error type. */
  static final int MAX_TYPE_BYTES = 256;

  private ApiStatuses() {}

  /** The status a node answers for {@code error}; never carries a stack trace. */
  static StatusRuntimeException toStatus(Throwable error) {
    if (error instanceof StatusRuntimeException sre) {
      return sre;
    }
    if (error instanceof StatusException se) {
      return new StatusRuntimeException(se.getStatus(), se.getTrailers());
    }
    ErrorCode code;
    String message;
    if (error instanceof RaftoralException e) {
      code = e.code();
      message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    } else {
      code = ErrorCode.INTERNAL; // a bug or an unexpected failure on the node: its stack trace stays in the log
      message = "internal error: " + error.getClass().getSimpleName() + (error.getMessage() == null ? "" : ": " + error.getMessage());
    }
    ErrorDetail.Builder detail = ErrorDetail.newBuilder().setCodeValue(code.number());
    switch (error) {
      case Errors.NotRegisteredException e -> type(detail, e.workflowType());
      case Errors.AlreadyRegisteredException e -> type(detail, e.workflowType());
      case Errors.AlreadyExistsException e -> detail.setWorkflowId(nullToEmpty(e.workflowId()));
      case Errors.WorkflowNotFoundException e -> detail.setWorkflowId(nullToEmpty(e.workflowId()));
      case Errors.WorkflowFailedException e -> detail.setWorkflowId(nullToEmpty(e.workflowId()))
          .setErrorType(bounded(String.valueOf(e.errorType()), MAX_TYPE_BYTES))
          .setErrorMessage(bounded(String.valueOf(e.errorMessage()), MAX_TEXT_BYTES));
      case Errors.WorkflowTerminatedException e -> detail.setWorkflowId(nullToEmpty(e.workflowId()))
          .setErrorMessage(bounded(String.valueOf(e.reason()), MAX_TEXT_BYTES));
      case Errors.PayloadTooLargeException e -> detail.setPayload(bounded(nullToEmpty(e.what()), MAX_TEXT_BYTES))
          .setSizeBytes(e.sizeBytes()).setLimitBytes(e.limitBytes());
      default -> { } // the message says it all
    }
    Metadata trailers = new Metadata();
    trailers.put(GrpcErrors.DETAIL, detail.build());
    return Status.fromCode(code.grpcCode()).withDescription(bounded(message, MAX_TEXT_BYTES)).asRuntimeException(trailers);
  }

  private static void type(ErrorDetail.Builder detail, WorkflowType type) {
    if (type != null) {
      // A type name is the caller's (a Start of an unknown type) and unbounded: trailers are not.
      detail.setType(bounded(type.name(), MAX_TYPE_BYTES)).setVersion(type.version());
    }
  }

  /** {@code text}, or when its UTF-8 is longer than {@code maxBytes} a prefix of it that fits with "... (N characters)". */
  static String bounded(String text, int maxBytes) {
    if (text.getBytes(StandardCharsets.UTF_8).length <= maxBytes) {
      return text;
    }
    String suffix = "... (" + text.length() + " characters)";
    int budget = maxBytes - suffix.length();
    int end = 0;
    int bytes = 0;
    while (end < text.length()) {
      int cp = text.codePointAt(end);
      int size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (bytes + size > budget) {
        break;
      }
      bytes += size;
      end += Character.charCount(cp);
    }
    return text.substring(0, end) + suffix;
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
