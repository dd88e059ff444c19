package io.raftoral.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Bytes sent over loopback, where every node of a bench cluster talks to the others: the
 * {@code lo} interface's transmitted bytes ({@code /proc/net/dev}, TCP/IP headers and pure ACKs
 * included) and, from {@code ss -tin}, each TCP socket's {@code bytes_sent} (payload only), split
 * into sockets that touch a node's Raft port (replication, heartbeats, votes) and the rest (the
 * client API: the load generator's starts and awaits, nodes forwarding to each other).
 *
 * <p>{@code lo} counts every process of the network namespace: {@code bench/run} starts the load
 * generator in a private one ({@code unshare -rn}) when it can, and says so in {@code
 * RAFTORAL_BENCH_NETNS=private}; otherwise other programs' loopback traffic is counted too.
 */
record Traffic(long loBytesSent, Map<String, Long> socketBytesSent) {
  private static final Pattern ADDRESSES = Pattern.compile("^\\S+\\s+\\d+\\s+\\d+\\s+(\\S+):(\\d+)\\s+(\\S+):(\\d+)");
  private static final Pattern BYTES_SENT = Pattern.compile("\\bbytes_sent:(\\d+)");

  /** Whether {@code lo} belongs to this run alone (bench/run's private network namespace). */
  static boolean privateLoopback() {
    return "private".equals(System.getenv("RAFTORAL_BENCH_NETNS"));
  }

  static Traffic now() {
    return new Traffic(readLoTxBytes(), sockets());
  }

  /** Bytes sent over {@code lo} since {@code before}. */
  long loSince(Traffic before) {
    return loBytesSent - before.loBytesSent;
  }

  /**
   * Payload bytes sent since {@code before} on sockets with a local or peer port in {@code
   * raftPorts} ({@code raft = true}) or on the others. A socket opened in between counts from
   * 0; one closed in between is lost (Ratis's and gRPC's connections live as long as the nodes).
   */
  long socketsSince(Traffic before, Set<Integer> raftPorts, boolean raft) {
    long sum = 0;
    for (Map.Entry<String, Long> e : socketBytesSent.entrySet()) {
      String[] ports = e.getKey().split(">");
      boolean touchesRaft = raftPorts.contains(Integer.parseInt(ports[0])) || raftPorts.contains(Integer.parseInt(ports[1]));
      if (touchesRaft == raft) {
        sum += Math.max(0, e.getValue() - before.socketBytesSent.getOrDefault(e.getKey(), 0L));
      }
    }
    return sum;
  }

  /** The {@code lo} line's transmitted bytes; -1 when /proc/net/dev cannot be read (not Linux). */
  static long readLoTxBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/net/dev"), StandardCharsets.US_ASCII)) {
        String l = line.strip();
        if (l.startsWith("lo:")) {
          String[] f = l.substring(3).strip().split("\\s+");
          return Long.parseLong(f[8]); // receive: 8 fields, then transmit bytes
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return -1;
  }

  /** "localport>peerport" -> bytes_sent of every TCP socket, from {@code ss -tinH}; empty when ss is missing. */
  static Map<String, Long> sockets() {
    try {
      Process p = new ProcessBuilder("ss", "-tinH").redirectErrorStream(true).start();
      List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
      p.waitFor();
      return parseSs(lines);
    } catch (IOException e) {
      return Map.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Map.of();
    }
  }

  /**
   * {@code ss -tinH} prints a line with state, queues, local and peer address per socket, then an
   * indented line of TCP info; {@code bytes_sent} is missing on a socket that sent nothing.
   */
  static Map<String, Long> parseSs(List<String> lines) {
    Map<String, Long> out = new HashMap<>();
    String key = null;
    for (String line : lines) {
      Matcher a = ADDRESSES.matcher(line);
      if (a.find()) {
        key = a.group(2) + ">" + a.group(4);
        continue;
      }
      Matcher b = BYTES_SENT.matcher(line);
      if (key != null && b.find()) {
        out.merge(key, Long.parseLong(b.group(1)), Long::sum);
        key = null;
      }
    }
    return out;
  }
}
