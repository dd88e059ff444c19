package io.raftoral.cli;

import io.raftoral.common.Errors;

/** The exit codes of every command; docs/CLI.md lists them. */
final class ExitCode {
  private ExitCode() {}

  /** Success; for a workflow, COMPLETED. */
  static final int OK = 0;
  /** The workflow FAILED or was TERMINATED, or the node refused the request. */
  static final int FAILED = 1;
  /** Bad usage or input: unknown option, malformed value or JSON, an argument the node refused as invalid. */
  static final int USAGE = 2;
  /** The node is unreachable, shutting down, or has no quorum. */
  static final int UNAVAILABLE = 3;
  /** A timeout passed before the answer (the workflow may still finish later). */
  static final int TIMEOUT = 4;
  /** {@code replay}: the workflow's code diverges from its recorded history. */
  static final int DIVERGED = 5;
  /** Not authenticated, or the role does not allow the call. */
  static final int DENIED = 6;

  static int of(Throwable e) {
    return switch (e) {
      case Errors.TimeoutException t -> TIMEOUT;
      case Errors.UnavailableException u -> UNAVAILABLE;
      case Errors.NodeClosedException c -> UNAVAILABLE;
      case Errors.InvalidArgumentException i -> USAGE;
      case Errors.CodecException c -> USAGE;
      case Errors.UnauthenticatedException u -> DENIED;
      case Errors.PermissionDeniedException p -> DENIED;
      default -> FAILED;
    };
  }
}
