package io.raftoral.common;

/** The typed errors of the embedding API, all under {@link RaftoralException}. */
public final class Errors {
  private Errors() {}

  /** Raised when a (type, version) is registered twice on one node; the first stays. */
  public static final class AlreadyRegisteredException extends RaftoralException {
    public AlreadyRegisteredException(WorkflowType type) {
      super("workflow " + type + " is already registered on this node");
    }
  }

  /** Raised by a start whose (type, version) is not registered on the node that would own it. */
  public static final class NotRegisteredException extends RaftoralException {
    private final WorkflowType type;

    public NotRegisteredException(WorkflowType type) {
      super("workflow " + type + " is not registered");
      this.type = type;
    }

    public WorkflowType workflowType() {
      return type;
    }
  }

  /** Raised by a start of an existing workflow id with another type, version or input. */
  public static final class AlreadyExistsException extends RaftoralException {
    public AlreadyExistsException(String workflowId) {
      super("workflow " + workflowId + " already exists with another type, version or input");
    }
  }

  /** Raised for a workflow id that no execution group knows. */
  public static final class WorkflowNotFoundException extends RaftoralException {
    public WorkflowNotFoundException(String workflowId) {
      super("workflow " + workflowId + " not found");
    }
  }

  /** Raised by {@code result()} of a workflow that ended {@code FAILED}. */
  public static final class WorkflowFailedException extends RaftoralException {
    private final String errorType;
    private final String errorMessage;

    public WorkflowFailedException(String workflowId, String errorType, String errorMessage) {
      super("workflow " + workflowId + " failed: " + errorType + ": " + errorMessage);
      this.errorType = errorType;
      this.errorMessage = errorMessage;
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
    private final String reason;

    public WorkflowTerminatedException(String workflowId, String reason) {
      super("workflow " + workflowId + " was terminated: " + reason);
      this.reason = reason;
    }

    public String reason() {
      return reason;
    }
  }

  /** Raised when a deadline passes before the awaited outcome. */
  public static final class TimeoutException extends RaftoralException {
    public TimeoutException(String message) {
      super(message);
    }
  }

  /** Raised for an argument the API refuses: empty key, bad id, null value, and so on. */
  public static class InvalidArgumentException extends RaftoralException {
    public InvalidArgumentException(String message) {
      super(message);
    }
  }

  /** Raised for an input, checkpoint value or result above the node's payload limit. */
  public static final class PayloadTooLargeException extends InvalidArgumentException {
    public PayloadTooLargeException(String what, long size, long limit) {
      super(what + " is " + size + " bytes, above the limit of " + limit + " bytes");
    }
  }

  /** Raised when a value cannot be encoded or decoded by the payload codec. */
  public static final class CodecException extends RaftoralException {
    public CodecException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** Raised by any call on a node that is closed (or not started yet). */
  public static final class NodeClosedException extends RaftoralException {
    public NodeClosedException(String message) {
      super(message);
    }
  }

  /**
   * Raised by every call on a node its cluster removed (it was unreachable past the node failure
   * timeout): its replicas are stale. The message says when, why, and what happens or what to do.
   */
  public static final class NodeRemovedException extends RaftoralException {
    public NodeRemovedException(String message) {
      super(message);
    }
  }

  /** Raised when the cluster cannot serve a request now (no leader, unreachable peers). */
  public static final class UnavailableException extends RaftoralException {
    public UnavailableException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
