package io.raftoral.common;

/**
 * Root of every error Raftoral raises. Subclasses name what went wrong; callers catch this
 * type to handle them all.
 */
public class RaftoralException extends RuntimeException {
  public RaftoralException(String message) {
    super(message);
  }

  public RaftoralException(String message, Throwable cause) {
    super(message, cause);
  }
}
