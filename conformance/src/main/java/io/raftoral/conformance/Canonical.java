package io.raftoral.conformance;

import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;

/**
 * The canonical error names of the suite: the C ABI's status names without their prefix
 * ({@code RAFTORAL_ERR_NOT_FOUND} is {@code NOT_FOUND}). Every entry point maps the errors of
 * its surface onto them; this is the Java surface's map.
 */
public final class Canonical {
  private Canonical() {}

  /** The canonical name of a Java API exception. */
  public static String code(RaftoralException e) {
    return switch (e) {
      case Errors.PayloadTooLargeException x -> "PAYLOAD_TOO_LARGE";
      case Errors.InvalidArgumentException x -> "INVALID_ARGUMENT";
      case Errors.CodecException x -> "INVALID_ARGUMENT";
      case Errors.WorkflowNotFoundException x -> "NOT_FOUND";
      case Errors.AlreadyExistsException x -> "ALREADY_EXISTS";
      case Errors.NotRegisteredException x -> "NOT_REGISTERED";
      case Errors.AlreadyRegisteredException x -> "ALREADY_REGISTERED";
      case Errors.TimeoutException x -> "TIMEOUT";
      case Errors.WorkflowFailedException x -> "WORKFLOW_FAILED";
      case Errors.WorkflowTerminatedException x -> "WORKFLOW_TERMINATED";
      case Errors.UnavailableException x -> "UNAVAILABLE";
      case Errors.NodeClosedException x -> "NODE_CLOSED";
      default -> "INTERNAL";
    };
  }
}
