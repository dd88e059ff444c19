package io.raftoral.workflow;

/**
 * An error raised by workflow code written in another language (Python, Go, JavaScript). A
 * workflow that fails with it is recorded {@code FAILED} with {@link #errorType()} (e.g.
 * {@code ValueError}) instead of a Java class name.
 */
public class ForeignException extends RuntimeException {
  private final String errorType;

  public ForeignException(String errorType, String message) {
    super(message, null, false, false); // the foreign stack is the one that matters
    this.errorType = errorType == null || errorType.isEmpty() ? "Error" : errorType;
  }

  /** The error's type in its own language. */
  public String errorType() {
    return errorType;
  }
}
