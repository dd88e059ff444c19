package io.raftoral.ffi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.common.Errors;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Edge values of the C ABI's JSON node configuration: each is an InvalidArgumentException naming the key. */
class NodeConfigEdgeTest {
  private static void refused(String json, String key) {
    assertThatThrownBy(() -> NodeConfig.parse(json)).as(json)
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining(key);
  }

  // A key given twice: which one the node would get is a parser's accident; refuse it.
  @Test
  void aKeyGivenTwiceIsRefused() {
    refused("{\"max_voters\": 0, \"max_voters\": 3}", "max_voters");
    refused("{\"members\": {\"1\": \"127.0.0.1:7001\", \"1\": \"127.0.0.1:7002\"}}", "1");
  }

  @Test
  void wrongTypesAndEdgeValues() {
    refused("{\"execution_groups\": \"4\"}", "execution_groups");
    refused("{\"execution_groups\": 4.0}", "execution_groups");
    refused("{\"execution_groups\": 1e2}", "execution_groups");
    refused("{\"execution_groups\": true}", "execution_groups");
    refused("{\"execution_groups\": null}", "execution_groups");
    refused("{\"execution_groups\": {\"n\": 4}}", "execution_groups");
    refused("{\"execution_groups\": 4294967297}", "execution_groups"); // not silently 1 after an int cast
    refused("{\"snapshot_threshold\": 99999999999999999999}", "snapshot_threshold");
    refused("{\"snapshot_threshold\": -1}", "snapshot_threshold");
    refused("{\"snapshot_transfer_rate\": -1}", "snapshot_transfer_rate must be >= 0, got -1");
    refused("{\"snapshot_transfer_rate\": 99999999999999999999}", "snapshot_transfer_rate");
    refused("{\"snapshot_transfer_rate\": 1.5}", "snapshot_transfer_rate");
    refused("{\"snapshot_chunk_bytes\": 65535}", "snapshot_chunk_bytes must be between 65536 and 8388608, got 65535");
    refused("{\"snapshot_chunk_bytes\": 8388609}", "snapshot_chunk_bytes must be between 65536 and 8388608, got 8388609");
    refused("{\"snapshot_chunk_bytes\": 4294967297}", "snapshot_chunk_bytes"); // not silently 1 after an int cast
    refused("{\"snapshot_chunk_bytes\": \"1MB\"}", "snapshot_chunk_bytes");
    refused("{\"retention_ms\": -1}", "retention_ms");
    refused("{\"retention_ms\": 0}", "retention_ms");
    refused("{\"election_timeout_ms\": 9223372036854775807}", "election_timeout_ms");
    refused("{\"batch_linger_us\": 9223372036854775807}", "batch_linger_us");
    refused("{\"batch_linger_us\": 1000001}", "batch_linger_us");
    refused("{\"batch_linger_us\": -1}", "batch_linger_us");
    refused("{\"close_grace_ms\": -1}", "close_grace_ms");
    refused("{\"rejoin_after_removal\": \"false\"}", "rejoin_after_removal");
    refused("{\"rejoin_after_removal\": 0}", "rejoin_after_removal");
    refused("{\"raft_address\": \"\"}", "raft_address");
    refused("{\"api_address\": \" 127.0.0.1:8001\"}", "api_address");
    refused("{\"api_address\": 8001}", "api_address");
    refused("{\"join\": [\"\"]}", "join");
    refused("{\"join\": \"127.0.0.1:8001\"}", "join");
    refused("{\"join\": [null]}", "join");
    refused("{\"members\": {\"x\": \"127.0.0.1:7001\"}}", "members");
    refused("{\"members\": {\"0\": \"127.0.0.1:7001\"}}", "members");
    refused("{\"members\": {\"1\": \"localhost\"}}", "members");
    refused("{\"members\": [\"127.0.0.1:7001\"]}", "members");
    refused("{\"cluster_id\": \"  \"}", "cluster_id");
    refused("{\"node_id\": 0}", "node_id");
    refused("{\"Node_Id\": 1}", "Node_Id");
    refused("{\"node_id \": 1}", "node_id ");
    refused("[]", "node configuration");
    refused("{\"node_id\": 1", "node configuration");
    refused("", "node configuration");
  }

  // The three group sizes are checked together; the message names the key whose range the others bound.
  @Test
  void groupSizesThatContradictEachOtherAreRefusedNamingTheKey() {
    refused("{\"min_group_size\": 4, \"target_group_size\": 3, \"max_group_size\": 7}",
        "target_group_size must be between 4 and 99, got 3");
    refused("{\"target_group_size\": 6, \"max_group_size\": 5}", "max_group_size must be between 6 and 99, got 5");
    refused("{\"min_group_size\": 3, \"target_group_size\": 3, \"max_group_size\": 4}",
        "max_group_size must be between 5 and 99, got 4");
    refused("{\"min_group_size\": 0}", "min_group_size must be between 1 and 50");
    // 51 would need a maximum of 101: refused naming the minimum, not as an impossible maximum.
    refused("{\"min_group_size\": 51, \"target_group_size\": 99, \"max_group_size\": 99}", "min_group_size must be between 1 and 50");
    refused("{\"max_group_size\": 100}", "max_group_size must be between 5 and 99, got 100");
    var options = NodeConfig.parse("{\"min_group_size\": 2, \"target_group_size\": 3, \"max_group_size\": 3}").builder().options();
    assertThat(List.of(options.minGroupSize(), options.targetGroupSize(), options.maxGroupSize())).containsExactly(2, 3, 3);
    options = NodeConfig.parse("{\"min_group_size\": 50, \"target_group_size\": 50, \"max_group_size\": 99}").builder().options();
    assertThat(List.of(options.minGroupSize(), options.maxGroupSize())).containsExactly(50, 99);
  }

  @Test
  void theLargestValuesAllowedReachTheOptions() {
    var options = NodeConfig.parse("{\"retention_ms\": 9223372036854, \"snapshot_threshold\": 9223372036854775807,"
        + " \"batch_linger_us\": 1000000, \"payload_limit_bytes\": 2147483647,"
        + " \"snapshot_transfer_rate\": 9223372036854775807, \"snapshot_chunk_bytes\": 8388608}").builder().options();
    assertThat(options.retention().toMillis()).isEqualTo(9223372036854L);
    assertThat(options.snapshotThreshold()).isEqualTo(Long.MAX_VALUE);
    assertThat(options.batchLinger().toNanos()).isEqualTo(1_000_000_000L);
    assertThat(options.payloadLimitBytes()).isEqualTo(Integer.MAX_VALUE);
    assertThat(options.snapshotTransferRate()).isEqualTo(Long.MAX_VALUE);
    assertThat(options.snapshotChunkBytes()).isEqualTo(8 << 20);
    options = NodeConfig.parse("{\"snapshot_transfer_rate\": 0, \"snapshot_chunk_bytes\": 65536}").builder().options();
    assertThat(List.of(options.snapshotTransferRate(), (long) options.snapshotChunkBytes())).containsExactly(0L, 65536L);
  }

  // A path the JVM cannot represent is the caller's error, not an INTERNAL InvalidPathException.
  @Test
  void aDataDirWithANulCharacterIsRefusedNamingIt() {
    refused("{\"data_dir\": \"/tmp/a\\u0000b\"}", "data_dir");
  }

  // "01", "+1" and "1" are one node id: two of them would silently be one member.
  @Test
  void aMemberIdNotWrittenAsADecimalIsRefused() {
    refused("{\"members\": {\"1\": \"127.0.0.1:7001\", \"01\": \"127.0.0.1:7002\"}}", "01");
    refused("{\"members\": {\"+1\": \"127.0.0.1:7001\"}}", "+1");
    refused("{\"members\": {\"\u0661\": \"127.0.0.1:7001\"}}", "members"); // an Arabic-Indic one
  }

  @Test
  void textThatIsNotValidUnicodeIsRefused() {
    refused("{\"cluster_id\": \"\\ud800\"}", "cluster_id");
    refused("{\"raft_address\": \"h\\udc00:7001\"}", "raft_address");
  }

  // Only the first of two objects would be read: {"node_id": 1}{"node_id": 2} is not node 1.
  @Test
  void anythingAfterTheObjectIsRefused() {
    refused("{\"node_id\": 1}{\"node_id\": 2}", "node configuration");
    refused("{\"node_id\": 1} trailing", "node configuration");
    refused("{\"node_id\": 1}]", "node configuration");
    NodeConfig.parse("{\"node_id\": 1}\n  ");
  }
}
