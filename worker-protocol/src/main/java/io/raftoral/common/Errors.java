package io.raftoral.common;

/**
 * The typed errors of the embedding API, all under {@link RaftoralException}, each with one
 * {@link ErrorCode} of its own. The fields a caller may act on (a workflow id, a type, sizes)
 * are accessors, so that a surface carries them as fields rather than inside the message.
 */
public final class Errors {
  private Errors() {}

  /** Raised when a (type, version) is registered twice on one node; the first stays. */
  public static final class AlreadyRegisteredException extends RaftoralException {
    private final WorkflowType type;

    public AlreadyRegisteredException(WorkflowType type) {
      super(ErrorCode.ALREADY_REGISTERED, "workflow " + type + " is already registered on this node", null);
      this.type = type;
    }

    public WorkflowType workflowType() {
      return type;
    }
  }

  /** Raised by a start whose (type, version) is not registered on the node that would own it. */
  public static final class NotRegisteredException extends RaftoralException {
    private final WorkflowType type;

    public NotRegisteredException(WorkflowType type) {
      super(ErrorCode.NOT_REGISTERED, "workflow " + type + " is not registered", null);
      this.type = type;
    }

    public WorkflowType workflowType() {
      return type;
    }
  }

  /** Raised by a start of an existing workflow id with another type, version or input. */
  public static final class AlreadyExistsException extends RaftoralException {
    private final String workflowId;

    public AlreadyExistsException(String workflowId) {
      super(ErrorCode.ALREADY_EXISTS, "workflow " + workflowId + " already exists with another type, version or input", null);
      this.workflowId = workflowId;
    }

    public String workflowId() {
      return workflowId;
    }
  }

  /** Raised for a workflow id that no execution group knows. */
  public static final class WorkflowNotFoundException extends RaftoralException {
    private final String workflowId;

    public WorkflowNotFoundException(String workflowId) {
      super(ErrorCode.NOT_FOUND, "workflow " + workflowId + " not found", null);
      this.workflowId = workflowId;
    }

    public String workflowId() {
      return workflowId;
    }
  }

  /** Raised by {@code result()} of a workflow that ended {@code FAILED}. */
  public static final class WorkflowFailedException extends RaftoralException {
    private final String workflowId;
    private final String errorType;
    private final String errorMessage;

    public WorkflowFailedException(String workflowId, String errorType, String errorMessage) {
      super(ErrorCode.WORKFLOW_FAILED, "workflow " + workflowId + " failed: " + errorType + ": " + errorMessage, null);
      this.workflowId = workflowId;
      this.errorType = errorType;
      this.errorMessage = errorMessage;
    }

    public String workflowId() {
      return workflowId;
    }

    /** The type of the error the workflow function threw, e.g. a Java class name. */
    public String errorType() {
      return errorType;
    }

    public String errorMessage() {
      return errorMessage;
    }
  }

  /**
   * Raised by {@code result()} of a terminated workflow, and inside a terminated workflow by
   * every checkpoint call, so that the function unwinds.
   */
  public static final class WorkflowTerminatedException extends RaftoralException {
    private final String workflowId;
    private final String reason;

    public WorkflowTerminatedException(String workflowId, String reason) {
      super(ErrorCode.WORKFLOW_TERMINATED, "workflow " + workflowId + " was terminated: " + reason, null);
      this.workflowId = workflowId;
      this.reason = reason;
    }

    public String workflowId() {
      return workflowId;
    }

    public String reason() {
      return reason;
    }
  }

  /** Raised when a deadline passes before the awaited outcome. */
  public static final class TimeoutException extends RaftoralException {
    public TimeoutException(String message) {
      super(ErrorCode.TIMEOUT, message, null);
    }
  }

  /** Raised for an argument the API refuses: empty key, bad id, null value, and so on. */
  public static class InvalidArgumentException extends RaftoralException {
    public InvalidArgumentException(String message) {
      this(ErrorCode.INVALID_ARGUMENT, message);
    }

    /** For the refusals that have a code of their own. */
    protected InvalidArgumentException(ErrorCode code, String message) {
      super(code, message, null);
    }
  }

  /** Raised for an input, checkpoint value or result above the node's payload limit. */
  public static final class PayloadTooLargeException extends InvalidArgumentException {
    private final String what;
    private final long size;
    private final long limit;

    /** @param what the payload, e.g. "input of workflow w-1" */
    public PayloadTooLargeException(String what, long size, long limit) {
      super(ErrorCode.PAYLOAD_TOO_LARGE, what + " is " + size + " bytes, above the limit of " + limit + " bytes");
      this.what = what;
      this.size = size;
      this.limit = limit;
    }

    /** Which payload, e.g. "input of workflow w-1". */
    public String what() {
      return what;
    }

    public long sizeBytes() {
      return size;
    }

    public long limitBytes() {
      return limit;
    }
  }

  /** Raised when a value cannot be encoded or decoded by the payload codec. */
  public static final class CodecException extends RaftoralException {
    public CodecException(String message, Throwable cause) {
      super(ErrorCode.CODEC, message, cause);
    }
  }

  /** Raised by any call on a node that is closed (or not started yet). */
  public static final class NodeClosedException extends RaftoralException {
    public NodeClosedException(String message) {
      super(ErrorCode.NODE_CLOSED, message, null);
    }
  }

  /**
   * Raised by every call on a node its cluster removed (it was unreachable past the node failure
   * timeout): its replicas are stale. The message says when, why, and what happens or what to do.
   */
  public static final class NodeRemovedException extends RaftoralException {
    public NodeRemovedException(String message) {
      super(ErrorCode.NODE_REMOVED, message, null);
    }
  }

  /** Raised when the cluster cannot serve a request now (no leader, unreachable peers). */
  public static final class UnavailableException extends RaftoralException {
    public UnavailableException(String message, Throwable cause) {
      super(ErrorCode.UNAVAILABLE, message, cause);
    }
  }

  /**
   * Raised when the caller presented no credentials, or ones the node does not accept: no
   * token, a wrong or unknown token, no or an untrusted client certificate.
   */
  public static final class UnauthenticatedException extends RaftoralException {
    public UnauthenticatedException(String message) {
      super(ErrorCode.UNAUTHENTICATED, message, null);
    }
  }

  /**
   * Raised when the caller is authenticated but its role does not allow the call, e.g. a reader
   * token terminating a workflow.
   */
  public static final class PermissionDeniedException extends RaftoralException {
    public PermissionDeniedException(String message) {
      super(ErrorCode.PERMISSION_DENIED, message, null);
    }
  }
}
