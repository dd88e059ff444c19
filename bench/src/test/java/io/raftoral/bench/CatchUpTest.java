package io.raftoral.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The catchup workload, small: 3 node processes, node 3 SIGKILLed before 5 MB are written, the
 * leaders purge past it, node 3 restarted under seq10 load. Outcomes only (node 3 fetched the
 * snapshot out of band, the line was parsed, all replicas end with one digest), never speed.
 */
class CatchUpTest {
  @Test
  void theTransferLineIsParsed() {
    String line = "[raft-1] INFO io.raftoral.raft.SnapshotFetcher - group group-3324BA10D7F7: installed snapshot 2_231-010ceb3f "
        + "(t:2, i:231) fetched out of band: total=32013 fetched=30000 resumed=2013 refetched=7 bySource={1=20000, 2=10000} "
        + "in 423 ms (0.1 MB/s)\nother line\n";
    List<CatchUpBench.Transfer> transfers = CatchUpBench.Transfer.parse(line);
    assertThat(transfers).containsExactly(new CatchUpBench.Transfer("group-3324BA10D7F7", "2_231-010ceb3f", 231, 32013, 30000,
        2013, 7, "1=20000, 2=10000", 423, 0.1));
    assertThat(CatchUpBench.Transfer.parse("group g: installed snapshot s (t:1, i:2) through Raft")).isEmpty();
  }

  @Test
  @Timeout(600)
  void aNodeKeptDownWhileFiveMegabytesAreWrittenCatchesUpOutOfBand() throws Exception {
    LoadGenerator generator = new LoadGenerator();
    generator.workload = "catchup";
    generator.warmup = 1;
    generator.seconds = 2;
    generator.stateMb = 5;
    generator.valueBytes = 3072;
    generator.clients = List.of(2);
    generator.snapshotEvery = 200;
    List<CatchUpBench.Row> rows = generator.catchUps();
    assertThat(rows).hasSize(1);
    CatchUpBench.Row row = rows.getFirst();
    assertThat(row.transfers()).as("node 3 logged an out-of-band install").isNotEmpty();
    assertThat(row.fetchedBytes()).isPositive();
    assertThat(row.largest().totalBytes()).isPositive();
    assertThat(row.writtenBytes()).isGreaterThanOrEqualTo(5_000_000);
    assertThat(row.digestsEqual()).as("node 3's replicas end equal to nodes 1 and 2").isTrue();
    assertThat(row.duringCatchUp().count() + row.withoutCatchUp().count()).as("seq10 completed around the restart").isPositive();
    assertThat(row.markdown()).startsWith("| catchup | down | unlimited | 2 |");
    assertThat(row.json()).contains("\"workload\":\"catchup\"").contains("\"fetched_bytes\":");
  }
}
