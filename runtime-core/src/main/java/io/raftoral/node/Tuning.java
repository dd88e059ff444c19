package io.raftoral.node;

import io.raftoral.common.Errors;
import io.raftoral.config.NodeOptions;
import java.time.Duration;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code raftoral.proposer.*} system properties of tuning experiments (docs/ARCHITECTURE.md,
 * "Proposer"): set, they replace the node options' values, with a warning in the log.
 */
final class Tuning {
  private static final Logger LOG = LoggerFactory.getLogger(Tuning.class);
  static final String MAX_IN_FLIGHT = "raftoral.proposer.max-in-flight";
  static final String LINGER_MICROS = "raftoral.proposer.linger-micros";

  private Tuning() {}

  /** {@code options} with the tuning properties set in {@code system} applied. */
  static NodeOptions apply(NodeOptions options, Properties system) {
    int maxInFlight = property(system, MAX_IN_FLIGHT, options.maxInFlightEntries(), 1, NodeOptions.MAX_IN_FLIGHT_ENTRIES);
    int lingerMicros = property(system, LINGER_MICROS, (int) (options.batchLinger().toNanos() / 1000), 0,
        (int) (NodeOptions.MAX_BATCH_LINGER.toNanos() / 1000));
    return options.toBuilder().maxInFlightEntries(maxInFlight).batchLinger(Duration.ofNanos(1000L * lingerMicros)).build();
  }

  /** A whole number from {@code min} to {@code max} from a system property when it is set (logged as a warning), else {@code value}. */
  static int property(Properties system, String property, int value, int min, int max) {
    String set = system.getProperty(property);
    if (set == null) {
      return value;
    }
    int parsed;
    try {
      parsed = Integer.parseInt(set.strip());
    } catch (NumberFormatException e) {
      parsed = Integer.MIN_VALUE;
    }
    if (parsed < min || parsed > max) {
      throw new Errors.InvalidArgumentException(
          "system property " + property + " = '" + set + "': expected a whole number from " + min + " to " + max);
    }
    LOG.warn("{} = {} from a system property (tuning)", property, parsed);
    return parsed;
  }
}
