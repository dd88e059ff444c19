package io.raftoral.ffi;

/** An error of the ABI layer itself (bad handle, small buffer, aborted run) with its status code. */
final class AbiException extends RuntimeException {
  final int status;
  final String detail;

  AbiException(int status, String message) {
    this(status, message, null);
  }

  AbiException(int status, String message, String detail) {
    super(message, null, false, false);
    this.status = status;
    this.detail = detail;
  }
}
