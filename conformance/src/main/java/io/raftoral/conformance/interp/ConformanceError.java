package io.raftoral.conformance.interp;

/** The error the {@code fail} instruction raises; a failed workflow records its simple name. */
public final class ConformanceError extends RuntimeException {
  public ConformanceError(String message) {
    super(message);
  }
}
