package io.raftoral.runtime;

import io.raftoral.common.Errors;
import io.raftoral.common.Text;
import java.time.Duration;
import java.time.Instant;

/**
 * The checks of a context call's arguments, shared by a live run ({@link WorkflowRun}) and a
 * replay ({@link ReplayRun}): a replay must refuse exactly what the live run refused, or it takes
 * a step the recorded run never wrote.
 */
final class ContextArguments {
  // Keys of the runtime's own steps (WorkflowContext.SLEEP_KEY): a function may not write them.
  static final String RESERVED_KEY_PREFIX = "raftoral:";

  private ContextArguments() {}

  /** A key the function may write. */
  static String userKey(String key) {
    if (key == null || key.isEmpty()) {
      throw new Errors.InvalidArgumentException("checkpoint key must not be null or empty");
    }
    Text.requireWellFormed("checkpoint key", key);
    if (key.startsWith(RESERVED_KEY_PREFIX)) {
      throw new Errors.InvalidArgumentException("checkpoint key '" + key + "' is reserved: keys starting with '"
          + RESERVED_KEY_PREFIX + "' belong to the runtime's own steps (sleep)");
    }
    return key;
  }

  /** A sleep's length in milliseconds (a longer one than 64 bits hold sleeps for ever, in effect). */
  static long sleepMillis(Duration duration) {
    if (duration == null || duration.isNegative()) {
      throw new Errors.InvalidArgumentException("sleep duration must be zero or positive, not " + duration);
    }
    try {
      return duration.toMillis();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /** A wake-up time in epoch milliseconds. */
  static long wakeUpMillis(Instant wakeUp) {
    if (wakeUp == null) {
      throw new Errors.InvalidArgumentException("sleepUntil needs a wake-up time, not null");
    }
    try {
      return wakeUp.toEpochMilli();
    } catch (ArithmeticException e) {
      throw new Errors.InvalidArgumentException("wake-up time " + wakeUp + " is out of range (epoch milliseconds must fit 64 bits)");
    }
  }
}
