package io.raftoral.common;

import java.util.Objects;

/**
 * Root of every error Raftoral raises. Subclasses name what went wrong; callers catch this
 * type to handle them all. Every exception has a stable {@link #code()}, which is what crosses
 * a boundary (a gRPC error detail, a C status): its message is for people, never parsed.
 */
public class RaftoralException extends RuntimeException {
  private final ErrorCode code;

  /** A failure with no more specific type: {@link ErrorCode#INTERNAL}. */
  public RaftoralException(String message) {
    this(ErrorCode.INTERNAL, message, null);
  }

  /** A failure with no more specific type: {@link ErrorCode#INTERNAL}. */
  public RaftoralException(String message, Throwable cause) {
    this(ErrorCode.INTERNAL, message, cause);
  }

  protected RaftoralException(ErrorCode code, String message, Throwable cause) {
    super(message);
    this.code = Objects.requireNonNull(code, "code");
    if (cause != null) {
      initCause(cause); // without one, a caller that rebuilds the error may still attach its own
    }
  }

  /** What went wrong, as every surface reports it. */
  public ErrorCode code() {
    return code;
  }
}
