package io.raftoral.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.RaftoralNode;
import io.raftoral.common.Errors;
import io.raftoral.raft.RaftSettings;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Edge values of the node options: each is refused with an InvalidArgumentException naming the option, never another exception. */
class NodeOptionsEdgeTest {
  private static void refused(UnaryOperator<NodeOptions.Builder> set, String option) {
    assertThatThrownBy(() -> set.apply(NodeOptions.builder().raftAddress("127.0.0.1:7001")).build())
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageStartingWith(option + " ");
  }

  @Test
  void aDurationTooLargeForMillisecondsIsRefusedNamingItNotAnArithmeticException() {
    Duration huge = Duration.ofSeconds(Long.MAX_VALUE);
    refused(b -> b.electionTimeout(huge), "electionTimeout");
    refused(b -> b.requestTimeout(huge), "requestTimeout");
    refused(b -> b.nodeFailureTimeout(huge), "nodeFailureTimeout");
    refused(b -> b.retention(huge), "retention");
    refused(b -> b.batchLinger(huge), "batchLinger");
    refused(b -> b.retention(Duration.ofMillis(-1)), "retention");
    refused(b -> b.electionTimeout(Duration.ofNanos(999_999)), "electionTimeout");
    // The largest the C ABI can say (Long.MAX_VALUE / 10^6 ms) is accepted.
    assertThat(NodeOptions.builder().retention(Duration.ofMillis(Long.MAX_VALUE / 1_000_000)).build().retention())
        .isEqualTo(Duration.ofMillis(Long.MAX_VALUE / 1_000_000));
  }

  @Test
  void anAddressThatIsNotHostColonPortIsRefusedNamingTheOption() {
    for (String bad : List.of("", "   ", "localhost", ":7001", "localhost:", "localhost:port", "localhost:65536",
        "localhost:-1", " 127.0.0.1:7001", "127.0.0.1:7001 ", "::1:7001", "local host:7001")) {
      refused(b -> b.raftAddress(bad), "raftAddress");
      refused(b -> b.apiAddress(bad), "apiAddress");
      refused(b -> b.join(List.of(bad)), "join");
      refused(b -> b.members(Map.of(1L, bad)), "members");
    }
    Map<Long, String> nullAddress = new LinkedHashMap<>();
    nullAddress.put(1L, null);
    refused(b -> b.members(nullAddress), "members");
    refused(b -> b.members(Map.of(0L, "127.0.0.1:7001")), "members");
    refused(b -> b.members(Map.of(-5L, "127.0.0.1:7001")), "members");
    // What is allowed stays allowed: IPv6 in brackets, a name, port 0 for the API (any free port).
    NodeOptions ok = NodeOptions.builder().raftAddress("[::1]:7001").apiAddress("127.0.0.1:0")
        .members(Map.of(1L, "node-1.example:7001")).join(List.of("seed:8001")).build();
    assertThat(ok.apiAddress()).isEqualTo("127.0.0.1:0");
  }

  @Test
  void countsAtTheirLimits() {
    refused(b -> b.executionGroups(Integer.MIN_VALUE), "executionGroups");
    refused(b -> b.maxInFlightEntries(0), "maxInFlightEntries");
    refused(b -> b.snapshotThreshold(Long.MIN_VALUE), "snapshotThreshold");
    refused(b -> b.payloadLimitBytes(0), "payloadLimitBytes");
    refused(b -> b.nodeId(-1), "nodeId");
    refused(b -> b.clusterId(" \t"), "clusterId");
    refused(b -> b.clusterId("blue\uD800"), "clusterId");
    refused(b -> b.raftAddress("h\uDC00:7001"), "raftAddress");
    assertThat(NodeOptions.builder().snapshotThreshold(Long.MAX_VALUE).executionGroups(1024).maxVoters(99).build().snapshotThreshold())
        .isEqualTo(Long.MAX_VALUE);
  }

  // The snapshot transfer's bounds are RaftSettings's: NodeOptions refuses what RaftSettings would,
  // naming the option, before the node builds its Raft settings.
  @Test
  void snapshotTransferRateAndChunkSizeAtTheirLimits() {
    assertThat(List.of(NodeOptions.DEFAULT_SNAPSHOT_TRANSFER_RATE, (long) NodeOptions.DEFAULT_SNAPSHOT_CHUNK_BYTES,
        (long) NodeOptions.MIN_SNAPSHOT_CHUNK_BYTES, (long) NodeOptions.MAX_SNAPSHOT_CHUNK_BYTES))
        .as("NodeOptions's bounds are RaftSettings's").containsExactly(RaftSettings.DEFAULT_SNAPSHOT_TRANSFER_RATE,
            (long) RaftSettings.DEFAULT_SNAPSHOT_CHUNK_BYTES, (long) RaftSettings.MIN_SNAPSHOT_CHUNK_BYTES,
            (long) RaftSettings.MAX_SNAPSHOT_CHUNK_BYTES);
    refused(b -> b.snapshotTransferRate(-1), "snapshotTransferRate");
    refused(b -> b.snapshotTransferRate(Long.MIN_VALUE), "snapshotTransferRate");
    refused(b -> b.snapshotChunkBytes(RaftSettings.MIN_SNAPSHOT_CHUNK_BYTES - 1), "snapshotChunkBytes");
    refused(b -> b.snapshotChunkBytes(RaftSettings.MAX_SNAPSHOT_CHUNK_BYTES + 1), "snapshotChunkBytes");
    refused(b -> b.snapshotChunkBytes(0), "snapshotChunkBytes");
    refused(b -> b.snapshotChunkBytes(Integer.MIN_VALUE), "snapshotChunkBytes");
    assertThatThrownBy(() -> NodeOptions.builder().snapshotChunkBytes(65535).build())
        .hasMessage("snapshotChunkBytes must be between 65536 and 8388608, got 65535");
    assertThatThrownBy(() -> NodeOptions.builder().snapshotTransferRate(-1).build())
        .hasMessage("snapshotTransferRate must be >= 0, got -1");
    NodeOptions d = NodeOptions.defaults().validate();
    assertThat(List.of(d.snapshotTransferRate(), (long) d.snapshotChunkBytes()))
        .containsExactly(RaftSettings.DEFAULT_SNAPSHOT_TRANSFER_RATE, (long) RaftSettings.DEFAULT_SNAPSHOT_CHUNK_BYTES)
        .containsExactly(0L, 1048576L);
    NodeOptions low = NodeOptions.builder().snapshotTransferRate(0).snapshotChunkBytes(65536).build();
    assertThat(List.of(low.snapshotTransferRate(), (long) low.snapshotChunkBytes())).containsExactly(0L, 65536L);
    NodeOptions high = NodeOptions.builder().snapshotTransferRate(Long.MAX_VALUE).snapshotChunkBytes(8388608).build();
    assertThat(List.of(high.snapshotTransferRate(), (long) high.snapshotChunkBytes())).containsExactly(Long.MAX_VALUE, 8388608L);
    // The embedding API's builder refuses them at start, before anything runs.
    assertThatThrownBy(() -> RaftoralNode.builder().raftAddress("127.0.0.1:7001").inMemory().snapshotChunkBytes(1024).start())
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageStartingWith("snapshotChunkBytes ");
  }

  // min <= target <= max and max >= 2 * min - 1 (a group above max splits into two of >= min).
  // The message names the option whose range the others bound.
  @Test
  void groupSizesThatContradictEachOtherAreRefusedNamingTheOption() {
    refused(b -> b.minGroupSize(4).targetGroupSize(3).maxGroupSize(7), "targetGroupSize");
    refused(b -> b.targetGroupSize(6).maxGroupSize(5), "maxGroupSize");
    refused(b -> b.minGroupSize(3).targetGroupSize(3).maxGroupSize(4), "maxGroupSize");
    refused(b -> b.minGroupSize(0), "minGroupSize");
    refused(b -> b.minGroupSize(51).targetGroupSize(99).maxGroupSize(99), "minGroupSize");
    refused(b -> b.maxGroupSize(100), "maxGroupSize");
    assertThatThrownBy(() -> NodeOptions.builder().targetGroupSize(6).maxGroupSize(5).build())
        .hasMessage("maxGroupSize must be between 6 and 99, got 5");
    NodeOptions smallest = NodeOptions.builder().minGroupSize(1).targetGroupSize(1).maxGroupSize(1).build();
    assertThat(List.of(smallest.minGroupSize(), smallest.targetGroupSize(), smallest.maxGroupSize())).containsExactly(1, 1, 1);
    NodeOptions largest = NodeOptions.builder().minGroupSize(50).targetGroupSize(50).maxGroupSize(99).build();
    assertThat(List.of(largest.minGroupSize(), largest.targetGroupSize(), largest.maxGroupSize())).containsExactly(50, 50, 99);
    assertThat(NodeOptions.defaults().validate()).satisfies(d ->
        assertThat(List.of(d.minGroupSize(), d.targetGroupSize(), d.maxGroupSize())).containsExactly(3, 3, 5));
  }

  // The embedding API's builder refuses them at start, before anything runs.
  @Test
  void theNodeBuilderRefusesContradictingGroupSizesAtStart() {
    assertThatThrownBy(() -> RaftoralNode.builder().raftAddress("127.0.0.1:7001").inMemory()
        .minGroupSize(4).targetGroupSize(3).start())
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageStartingWith("targetGroupSize ");
    assertThatThrownBy(() -> RaftoralNode.builder().raftAddress("127.0.0.1:7001").inMemory()
        .targetGroupSize(5).maxGroupSize(4).start())
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageStartingWith("maxGroupSize ");
    assertThatThrownBy(() -> RaftoralNode.builder().raftAddress("127.0.0.1:7001").inMemory()
        .minGroupSize(4).targetGroupSize(4).maxGroupSize(6).start())
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageStartingWith("maxGroupSize ");
  }

  // The node listens on its entry in members: a different raftAddress would be silently ignored
  // (only probed for being free), so the two must agree.
  @Test
  void aRaftAddressThatContradictsThisNodesEntryInMembersIsRefused() {
    assertThatThrownBy(() -> NodeOptions.builder().nodeId(1).raftAddress("127.0.0.1:7001")
        .members(Map.of(1L, "127.0.0.1:7002", 2L, "127.0.0.1:7003")).build())
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageStartingWith("raftAddress ");
    assertThat(NodeOptions.builder().nodeId(1).raftAddress("127.0.0.1:7001")
        .members(Map.of(1L, "127.0.0.1:7001", 2L, "127.0.0.1:7003")).build().raftAddress()).isEqualTo("127.0.0.1:7001");
  }
}
