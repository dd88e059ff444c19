package io.raftoral.conformance.driver;

/**
 * The node options of a cluster. Every cluster keeps a removed-node timeout far above a
 * scenario's kill-to-restart time, so that a killed node comes back as itself.
 *
 * @param retentionMillis how long finished workflows are kept (SPEC §6)
 */
record ClusterSettings(String name, long retentionMillis) {
  static final long NODE_FAILURE_TIMEOUT_MILLIS = 300_000;

  static ClusterSettings named(String profile) {
    return switch (profile) {
      case "default" -> new ClusterSettings("default", 7L * 24 * 3600 * 1000);
      // Long enough that a describe right after the await still finds the workflow on a loaded machine.
      case "short-retention" -> new ClusterSettings("short-retention", 6_000);
      default -> throw new IllegalArgumentException("unknown cluster profile '" + profile + "' (known: default, short-retention)");
    };
  }
}
