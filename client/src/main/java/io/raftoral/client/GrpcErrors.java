package io.raftoral.client;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoUtils;
import io.raftoral.common.ErrorCode;
import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.client.ErrorDetail;

/**
 * The client half of the error mapping: the exception for a gRPC status a node answered, of the
 * same type and with the same message and fields as the one the node threw. (The node's half,
 * exception to status, is {@code io.raftoral.node.ApiStatuses} in runtime-core.)
 *
 * <p>Every error status of a node carries an {@link ErrorDetail} in the trailer {@link #DETAIL}
 * ({@code raftoral-error-bin}, see {@code client_api.proto}): its {@link ErrorCode} names the
 * exception type and its fields hold the exception's fields. A status without one (another
 * server, a proxy that drops trailers, gRPC's own deadline or transport errors), or with a code
 * this version does not know, is mapped by its status code alone; the message is never parsed.
 */
public final class GrpcErrors {
  private GrpcErrors() {}

  /** The trailer that carries an error status's {@link ErrorDetail}. */
  public static final Metadata.Key<ErrorDetail> DETAIL =
      Metadata.Key.of("raftoral-error-bin", ProtoUtils.metadataMarshaller(ErrorDetail.getDefaultInstance()));

  /**
   * The exception for a status a call to {@code address} ended with.
   *
   * @param workflowId the id the call was about, or null; used when the status does not name one
   */
  public static RaftoralException fromStatus(StatusRuntimeException e, String address, String workflowId) {
    Status status = e.getStatus();
    String description = status.getDescription() == null ? "" : status.getDescription();
    ErrorDetail detail = detailOf(e);
    ErrorCode code = detail == null ? null : ErrorCode.ofNumber(detail.getCodeValue());
    RaftoralException error = null;
    if (code != null) {
      try {
        error = fromDetail(code, detail, description, address, workflowId);
      } catch (RuntimeException malformed) {
        error = null; // e.g. a type the server should not have sent: map the status code instead
      }
    }
    if (error == null) {
      error = fromCode(e, description, address, workflowId);
    }
    return withCause(error, e);
  }

  private static ErrorDetail detailOf(StatusRuntimeException e) {
    Metadata trailers = e.getTrailers();
    try {
      return trailers == null ? null : trailers.get(DETAIL);
    } catch (RuntimeException malformed) {
      return null; // not an ErrorDetail: as if there were none
    }
  }

  private static RaftoralException fromDetail(ErrorCode code, ErrorDetail d, String description, String address, String workflowId) {
    String id = d.getWorkflowId().isEmpty() ? workflowId : d.getWorkflowId();
    return switch (code) {
      case NOT_REGISTERED -> new Errors.NotRegisteredException(new WorkflowType(d.getType(), d.getVersion()));
      case ALREADY_REGISTERED -> new Errors.AlreadyRegisteredException(new WorkflowType(d.getType(), d.getVersion()));
      case ALREADY_EXISTS -> id == null ? null : new Errors.AlreadyExistsException(id);
      case NOT_FOUND -> id == null ? null : new Errors.WorkflowNotFoundException(id);
      case WORKFLOW_FAILED -> new Errors.WorkflowFailedException(id, d.getErrorType(), d.getErrorMessage());
      case WORKFLOW_TERMINATED -> new Errors.WorkflowTerminatedException(id, d.getErrorMessage());
      case PAYLOAD_TOO_LARGE -> new Errors.PayloadTooLargeException(d.getPayload(), d.getSizeBytes(), d.getLimitBytes());
      case TIMEOUT -> description.isEmpty() ? null : new Errors.TimeoutException(description);
      case INVALID_ARGUMENT -> new Errors.InvalidArgumentException(description);
      case CODEC -> new Errors.CodecException(description, null);
      case NODE_CLOSED -> new Errors.NodeClosedException(description);
      case NODE_REMOVED -> new Errors.NodeRemovedException(description);
      case UNAVAILABLE -> new Errors.UnavailableException(description, null);
      // Which node failed unexpectedly is what an operator needs first.
      case INTERNAL -> new RaftoralException("node " + address + ": " + description);
      // Which node refused the caller, too: its credentials or roles may differ from the others'.
      case UNAUTHENTICATED -> new Errors.UnauthenticatedException(refused(address, Status.Code.UNAUTHENTICATED, description));
      case PERMISSION_DENIED -> new Errors.PermissionDeniedException(refused(address, Status.Code.PERMISSION_DENIED, description));
      // Codes of the C ABI only: a node does not send them.
      case INVALID_HANDLE, NOT_INITIALIZED, SHUT_DOWN, BUFFER_TOO_SMALL, ABORTED, CALLBACK_FAILED, JVM, FORKED -> null;
    };
  }

  /** A status without a (known) detail, by its code; the call's workflow id, when it has one, names the workflow. */
  private static RaftoralException fromCode(StatusRuntimeException e, String description, String address, String workflowId) {
    Status.Code code = e.getStatus().getCode();
    return switch (code) {
      case NOT_FOUND -> workflowId == null ? answered(address, code, description) : new Errors.WorkflowNotFoundException(workflowId);
      case ALREADY_EXISTS -> workflowId == null ? answered(address, code, description) : new Errors.AlreadyExistsException(workflowId);
      case INVALID_ARGUMENT -> new Errors.InvalidArgumentException(description);
      case DEADLINE_EXCEEDED -> new Errors.TimeoutException(description.isEmpty() ? "call to node " + address + " timed out" : description);
      case UNAVAILABLE -> new Errors.UnavailableException("node " + address + " is unreachable: " + transportReason(e), null);
      case UNAUTHENTICATED -> new Errors.UnauthenticatedException(refused(address, code, description));
      case PERMISSION_DENIED -> new Errors.PermissionDeniedException(refused(address, code, description));
      default -> answered(address, code, description);
    };
  }

  private static RaftoralException answered(String address, Status.Code code, String description) {
    return new RaftoralException("node " + address + " answered " + code + (description.isEmpty() ? "" : ": " + description));
  }

  /** "node ADDRESS: DESCRIPTION", the status code standing in for an empty description. */
  private static String refused(String address, Status.Code code, String description) {
    return "node " + address + ": " + (description.isEmpty() ? code.toString() : description);
  }

  /** Why the transport failed, e.g. "Connection refused", without gRPC's wrapping. */
  private static String transportReason(StatusRuntimeException e) {
    Throwable root = e.getStatus().getCause();
    while (root != null && root.getCause() != null) {
      root = root.getCause();
    }
    String reason = root != null && root.getMessage() != null ? root.getMessage() : e.getStatus().getDescription();
    if (reason == null || reason.isBlank()) {
      return "UNAVAILABLE";
    }
    // Only shortens text for people: Netty's "finishConnect(..) failed with error(-111):
    // Connection refused: /127.0.0.1:8001" wraps the reason in syscall details and repeats the
    // address we already name.
    int at = reason.indexOf(": /");
    if (at > 0) {
      reason = reason.substring(0, at);
    }
    int detail = reason.lastIndexOf("): ");
    return detail > 0 ? reason.substring(detail + 3) : reason;
  }

  private static RaftoralException withCause(RaftoralException error, Throwable cause) {
    if (error.getCause() == null) {
      error.initCause(cause);
    }
    return error;
  }
}
