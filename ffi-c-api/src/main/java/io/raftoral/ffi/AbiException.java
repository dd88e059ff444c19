package io.raftoral.ffi;

import io.raftoral.common.ErrorCode;

/** An error of the ABI layer itself (bad handle, small buffer, aborted run) with its code. */
final class AbiException extends RuntimeException {
  final ErrorCode code;
  final String detail;

  AbiException(ErrorCode code, String message) {
    this(code, message, null);
  }

  AbiException(ErrorCode code, String message, String detail) {
    super(message, null, false, false);
    this.code = code;
    this.detail = detail;
  }
}
