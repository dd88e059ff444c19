package io.raftoral.storage;

import java.io.IOException;

/**
 * A replica's stored state (its RocksDB or one of its snapshots) cannot be read as written. The
 * message names the path and says what to do; the node refuses to start rather than use it.
 */
public final class CorruptStateException extends IOException {
  public CorruptStateException(String message, Throwable cause) {
    super(message, cause);
  }

  public CorruptStateException(String message) {
    super(message);
  }
}
