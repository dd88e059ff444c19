package io.raftoral.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Reading {@code ss -tinH} and splitting bytes sent between Raft sockets and the others. */
class TrafficTest {
  private static final List<String> SS = List.of(
      "ESTAB 0      0      127.0.0.1:56304 127.0.0.1:42325",
      "\t bbr wscale:10,10 rto:204 mss:35328 cwnd:11 bytes_sent:1000 bytes_acked:1001 segs_out:3 segs_in:2",
      "ESTAB 0      0      127.0.0.1:42325 127.0.0.1:56304",
      "\t bbr wscale:10,10 rto:204 mss:32768 cwnd:10 bytes_received:1000 segs_out:1 segs_in:3",
      "ESTAB 0      0      [::ffff:127.0.0.1]:9000 [::ffff:127.0.0.1]:51000",
      "\t cubic bytes_sent:250 bytes_acked:251 bytes_received:40");

  @Test
  void everySocketThatSentIsKeyedByItsPortsAndOneThatSentNothingIsLeftOut() {
    assertThat(Traffic.parseSs(SS)).isEqualTo(Map.of("56304>42325", 1000L, "9000>51000", 250L));
  }

  @Test
  void bytesSinceAreSplitByWhetherASocketTouchesARaftPortAndANewSocketCountsFromZero() {
    Traffic before = new Traffic(10_000, Map.of("56304>42325", 400L));
    Traffic after = new Traffic(13_500, Traffic.parseSs(SS));
    assertThat(after.loSince(before)).isEqualTo(3_500);
    assertThat(after.socketsSince(before, Set.of(9000), true)).isEqualTo(250);
    assertThat(after.socketsSince(before, Set.of(9000), false)).isEqualTo(600);
    assertThat(after.socketsSince(before, Set.of(42325), true)).isEqualTo(600);
  }
}
