package io.raftoral.ffi;

import static io.raftoral.api.WorkflowJson.integer;
import static io.raftoral.api.WorkflowJson.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.raftoral.api.RaftoralNode;
import io.raftoral.api.WorkflowJson;
import io.raftoral.common.Errors;
import io.raftoral.config.NodeOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The JSON node configuration of {@code raftoral_node_create}, applied to a {@link
 * RaftoralNode.Builder}: one key per {@link NodeOptions} option ({@link NodeOptions.Option#cKey},
 * e.g. {@code snapshot_threshold}, {@code retention_ms}), whose ranges NodeOptions checks, plus
 * the keys of the C ABI itself ({@link #ABI_KEYS}).
 */
final class NodeConfig {
  /** What the C ABI itself does with the node: how long a start and a close may wait. */
  static final List<String> ABI_KEYS = List.of("start_timeout_ms", "close_grace_ms");
  private static final String KEYS = String.join(", ",
      java.util.stream.Stream.concat(NodeOptions.OPTIONS.stream().map(NodeOptions.Option::cKey), ABI_KEYS.stream()).toList());

  /** The node's builder and what the C ABI itself does with the node: how long a start and a close may wait. */
  record Parsed(RaftoralNode.Builder builder, Duration startTimeout, Duration closeGrace) {}

  private NodeConfig() {}

  /**
   * @throws Errors.InvalidArgumentException for an unknown key, a value of the wrong type, or
   *     one out of its option's range (the message names the key)
   */
  static Parsed parse(String json) {
    JsonNode root = WorkflowJson.parseObject(json, "node configuration");
    RaftoralNode.Builder b = RaftoralNode.builder();
    Duration startTimeout = ForeignNode.DEFAULT_START_TIMEOUT;
    Duration closeGrace = ForeignNode.DEFAULT_CLOSE_GRACE;
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      String key = field.getKey();
      JsonNode v = field.getValue();
      switch (key) {
        case "node_id" -> b.nodeId(integer(v, key, 1, Long.MAX_VALUE));
        case "members" -> b.members(members(v));
        case "raft_address" -> b.raftAddress(text(v, key));
        case "api_address" -> b.apiAddress(text(v, key));
        case "worker_address" -> b.workerAddress(text(v, key));
        case "http_address" -> b.httpAddress(text(v, key));
        case "join" -> b.join(strings(v, key));
        case "data_dir" -> b.dataDir(optionalPath(v, key));
        case "tls_cert" -> b.tlsCert(optionalPath(v, key));
        case "tls_key" -> b.tlsKey(optionalPath(v, key));
        case "tls_ca" -> b.tlsCa(optionalPath(v, key));
        case "auth_tokens" -> b.authTokens(optionalPath(v, key));
        case "cluster_id" -> b.clusterId(text(v, key));
        case "execution_groups" -> b.executionGroups(count(v, key));
        case "election_timeout_ms" -> b.electionTimeout(millis(v, key));
        case "request_timeout_ms" -> b.requestTimeout(millis(v, key));
        case "max_in_flight_entries" -> b.maxInFlightEntries(count(v, key));
        case "batch_linger_us" -> b.batchLinger(Duration.ofNanos(1000 * integer(v, key, 0, Long.MAX_VALUE / 1000)));
        case "max_voters" -> b.maxVoters(count(v, key));
        case "min_group_size" -> b.minGroupSize(count(v, key));
        case "target_group_size" -> b.targetGroupSize(count(v, key));
        case "max_group_size" -> b.maxGroupSize(count(v, key));
        case "node_failure_timeout_ms" -> b.nodeFailureTimeout(millis(v, key));
        case "rejoin_after_removal" -> b.rejoinAfterRemoval(bool(v, key));
        case "retention_ms" -> b.retention(millis(v, key));
        case "snapshot_threshold" -> b.snapshotThreshold(integer(v, key, Long.MIN_VALUE, Long.MAX_VALUE));
        case "payload_limit_bytes" -> b.payloadLimitBytes(count(v, key));
        case "snapshot_transfer_rate" -> b.snapshotTransferRate(integer(v, key, Long.MIN_VALUE, Long.MAX_VALUE));
        case "snapshot_chunk_bytes" -> b.snapshotChunkBytes(count(v, key));
        case "start_timeout_ms" -> startTimeout = millis(v, key);
        case "close_grace_ms" -> closeGrace = Duration.ofMillis(integer(v, key, 0, Long.MAX_VALUE / 1_000_000));
        default -> throw new Errors.InvalidArgumentException("unknown node configuration key '" + key + "' (known: " + KEYS + ")");
      }
    }
    // The ranges are NodeOptions's; refused here already, named as the C ABI names them.
    NodeOptions.Problem problem = b.options().problem();
    if (problem != null) {
      throw new Errors.InvalidArgumentException(problem.message(problem.option().cKey()));
    }
    return new Parsed(b, startTimeout, closeGrace);
  }

  private static Path optionalPath(JsonNode v, String key) {
    return Optional.ofNullable(text(v, key)).map(NodeConfig::path).orElse(null);
  }

  private static int count(JsonNode v, String key) {
    return (int) integer(v, key, Integer.MIN_VALUE, Integer.MAX_VALUE);
  }

  private static boolean bool(JsonNode v, String key) {
    if (!v.isBoolean()) {
      throw new Errors.InvalidArgumentException(key + " must be true or false, got " + v);
    }
    return v.asBoolean();
  }

  private static Map<Long, String> members(JsonNode v) {
    if (!v.isObject()) {
      throw new Errors.InvalidArgumentException("members must be an object of node id to \"host:port\"");
    }
    Map<Long, String> members = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> m = it.next();
      long id;
      try {
        id = Long.parseLong(m.getKey());
      } catch (NumberFormatException e) {
        throw new Errors.InvalidArgumentException("members key '" + m.getKey() + "' is not a node id");
      }
      // Only the canonical decimal: "01", "+1" and "1" would be one member given twice.
      if (!Long.toString(id).equals(m.getKey())) {
        throw new Errors.InvalidArgumentException("members key '" + m.getKey() + "' is not a node id written as a decimal");
      }
      if (id < 1) {
        throw new Errors.InvalidArgumentException("members key " + id + " is not a node id >= 1");
      }
      String address = text(m.getValue(), "members[" + id + "]");
      if (address == null || address.isBlank()) {
        throw new Errors.InvalidArgumentException("members[" + id + "] must be \"host:port\"");
      }
      members.put(id, address);
    }
    return members;
  }

  private static List<String> strings(JsonNode v, String key) {
    if (!v.isArray()) {
      throw new Errors.InvalidArgumentException(key + " must be an array of strings");
    }
    List<String> out = new ArrayList<>();
    for (JsonNode e : v) {
      String s = text(e, key + "[]");
      if (s == null) {
        throw new Errors.InvalidArgumentException(key + " must not contain null");
      }
      out.add(s);
    }
    return out;
  }

  private static Path path(String dataDir) {
    try {
      return Path.of(dataDir);
    } catch (java.nio.file.InvalidPathException e) {
      throw new Errors.InvalidArgumentException("data_dir is not a valid path: " + e.getMessage());
    }
  }

  private static Duration millis(JsonNode v, String key) {
    return Duration.ofMillis(integer(v, key, 1, Long.MAX_VALUE / 1_000_000));
  }
}
