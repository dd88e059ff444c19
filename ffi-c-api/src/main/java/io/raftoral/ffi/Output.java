package io.raftoral.ffi;

import io.raftoral.workflow.ForeignException;

/** Where a C callback puts its outcome (raftoral_output_t): bytes, or a failure of a named type. */
final class Output {
  private byte[] value;
  private String errorType;
  private String errorMessage;

  synchronized void set(byte[] bytes) {
    value = bytes;
    errorType = null;
    errorMessage = null;
  }

  synchronized void fail(String type, String message) {
    value = null;
    errorType = type;
    errorMessage = message == null ? "" : message;
  }

  /** The bytes set, or throws the failure set (or that nothing was set) as a {@link ForeignException}. */
  synchronized byte[] valueOrThrow(String callback) {
    if (errorType != null) {
      throw new ForeignException(errorType, errorMessage);
    }
    if (value == null) {
      throw new ForeignException("raftoral.NoOutput",
          callback + " returned without calling raftoral_output_set or raftoral_output_fail");
    }
    return value;
  }
}
