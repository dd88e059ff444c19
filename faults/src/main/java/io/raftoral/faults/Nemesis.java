package io.raftoral.faults;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.raftoral.proto.client.ClusterInfoReply;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * The faults and how each is done to the {@link FaultCluster}. A fault picks its victims when it
 * begins (the leader is asked for then), holds for a while, and {@link Fault#heal} undoes it: the
 * links come back, a paused process continues, a killed one starts again from its data directory.
 * "The leader" is the leader of the first execution group, which owns its workflows.
 */
final class Nemesis {
  /** Every kind of fault the matrix injects. */
  enum Kind {
    /** A node that leads nothing its link down. */
    ISOLATE_FOLLOWER,
    /** The leader's link down. */
    ISOLATE_LEADER,
    /** The nodes in two sides, a minority and a majority, that drop what they send each other. */
    SPLIT,
    /** Two sides that cannot talk, and one node (the bridge) that talks to both. */
    BRIDGE,
    /** The leader's packets to the others dropped; theirs to it still arrive. */
    ASYMMETRIC,
    /** SIGSTOP of the leader. */
    PAUSE_LEADER,
    /** SIGSTOP of a node that leads nothing. */
    PAUSE_FOLLOWER,
    /** SIGSTOP of the node that has just begun a compute step. */
    PAUSE_OWNER_MID_STEP,
    /** SIGSTOP of the node that has just ended a compute step: its result is being proposed and committed. */
    PAUSE_OWNER_AT_COMMIT,
    /** SIGKILL of one node, restarted when the fault ends. */
    KILL_ONE,
    /** SIGKILL of the leader (the owner of the first group's workflows), restarted when the fault ends. */
    KILL_LEADER,
    /** SIGKILL of two nodes at once (a majority of three). */
    KILL_TWO,
    /** SIGKILL of every node (a full-cluster restart). */
    KILL_ALL,
    /** A node's disk (its own tmpfs) filled to the last byte; the file deleted when the fault ends. */
    DISK_FULL,
    /** SIGKILL of a node, and 8 bytes of a Raft log segment overwritten before it starts again. */
    CORRUPT_LOG,
    /** SIGKILL of a node, and a closed Raft log segment cut short before it starts again. */
    TRUNCATE_LOG,
    /** SIGKILL of a node, and 8 bytes of a state store table overwritten before it starts again. */
    CORRUPT_STATE,
    /** Every link of a node (the leader half the time) slow both ways: 50-500 ms added, perhaps a bandwidth limit. */
    SLOW_LINKS
  }

  /** A fault in force; {@link #heal} ends it, writing what it saw into {@code healed}. */
  interface Fault {
    void heal(ObjectNode healed) throws Exception;
  }

  private final FaultCluster cluster;
  private final Random random;

  Nemesis(FaultCluster cluster, Random random) {
    this.cluster = cluster;
    this.random = random;
  }

  /** Begins a fault of {@code kind}, recording its victims in {@code event}. */
  Fault begin(Kind kind, ObjectNode event) throws Exception {
    NetworkNamespaces net = cluster.network();
    int n = cluster.size();
    switch (kind) {
      case ISOLATE_FOLLOWER, ISOLATE_LEADER -> {
        int victim = kind == Kind.ISOLATE_LEADER ? leader() : follower();
        victims(event, victim);
        cluster.marker(victim, "isolate");
        net.isolate(victim);
        return healed -> {
          net.heal(victim);
          cluster.marker(victim, "heal");
        };
      }
      case SPLIT, BRIDGE -> {
        List<Integer> order = shuffled(n);
        // SPLIT: a minority (at most half, at least one) against the rest. BRIDGE: the first node
        // talks to both sides, which are the rest split in two.
        int bridge = kind == Kind.BRIDGE ? order.removeFirst() : 0;
        int minority = kind == Kind.BRIDGE ? Math.max(1, order.size() / 2) : Math.max(1, (n - 1) / 2);
        List<Integer> a = order.subList(0, minority);
        List<Integer> b = order.subList(minority, order.size());
        ints(event, "side_a", a);
        ints(event, "side_b", b);
        if (bridge != 0) {
          event.put("bridge", bridge);
        }
        for (int x : a) {
          cluster.marker(x, "cut");
          for (int y : b) {
            net.dropFromTo(x, y);
            net.dropFromTo(y, x);
          }
        }
        return healLinks(a);
      }
      case ASYMMETRIC -> {
        int victim = leader();
        victims(event, victim);
        cluster.marker(victim, "cut-outgoing");
        for (int y = 1; y <= n; y++) {
          if (y != victim) {
            net.dropFromTo(victim, y);
          }
        }
        return healLinks(List.of(victim));
      }
      case PAUSE_LEADER, PAUSE_FOLLOWER, PAUSE_OWNER_MID_STEP, PAUSE_OWNER_AT_COMMIT -> {
        int victim;
        if (kind == Kind.PAUSE_OWNER_MID_STEP || kind == Kind.PAUSE_OWNER_AT_COMMIT) {
          victim = pauseAtNext(kind == Kind.PAUSE_OWNER_MID_STEP ? "begin" : "end");
        } else {
          victim = kind == Kind.PAUSE_LEADER ? leader() : follower();
          cluster.pause(victim);
        }
        victims(event, victim);
        return healed -> cluster.resume(victim);
      }
      case KILL_ONE, KILL_LEADER, KILL_TWO, KILL_ALL -> {
        int count = kind == Kind.KILL_TWO ? 2 : kind == Kind.KILL_ALL ? n : 1;
        List<Integer> victims = kind == Kind.KILL_LEADER ? List.of(leader()) : new ArrayList<>(shuffled(n).subList(0, count));
        ints(event, "victims", victims);
        for (int v : victims) {
          cluster.kill(v);
        }
        return healed -> {
          // Together, as after a power cut: a majority must be back before any of them serves.
          List<Thread> starts = new ArrayList<>();
          List<Exception> failures = Collections.synchronizedList(new ArrayList<>());
          for (int v : victims) {
            starts.add(Thread.ofPlatform().start(() -> {
              try {
                cluster.restart(v);
              } catch (Exception e) {
                failures.add(e);
              }
            }));
          }
          for (Thread t : starts) {
            t.join();
          }
          if (!failures.isEmpty()) {
            throw failures.getFirst();
          }
        };
      }
      case DISK_FULL -> {
        if (!cluster.hasOwnDisks()) {
          throw new IllegalStateException("DISK_FULL needs each node on a tmpfs of its own (--disk-mib > 0)");
        }
        int victim = 1 + random.nextInt(n);
        victims(event, victim);
        event.put("filled_bytes", cluster.fillDisk(victim));
        // It must say so: a start through it refused UNAVAILABLE (its disk check runs every second).
        event.put("refused_while_full", cluster.refuses(victim, Duration.ofSeconds(10)));
        return healed -> {
          cluster.freeDisk(victim);
          // It restarts itself on its data directory (or, when that cannot be opened again, joins
          // as a new node): it must serve again as a member, as equal as the others.
          healed.put("served_again", cluster.serves(victim, cluster.wholeAgainBound()));
          cluster.awaitWhole(cluster.wholeAgainBound());
        };
      }
      case CORRUPT_LOG, TRUNCATE_LOG, CORRUPT_STATE -> {
        int victim = 1 + random.nextInt(n);
        victims(event, victim);
        cluster.kill(victim);
        Path data = cluster.dataDir(victim);
        DataDamage.Done done = switch (kind) {
          case CORRUPT_LOG -> DataDamage.corruptLogSegment(data, random);
          case TRUNCATE_LOG -> DataDamage.truncateClosedSegment(data, random);
          default -> DataDamage.corruptStateTable(data, random);
        };
        cluster.marker(victim, "damaged");
        event.put("damage", done.what()).put("refusable", done.refusable());
        return healed -> {
          String refusal = cluster.restartOrRefusal(victim);
          healed.put("must_refuse", done.refusable());
          healed.put("start", refusal == null ? "served" : "refused");
          if (refusal != null) {
            // What its message tells an operator: start empty and join; the peers hold everything.
            healed.put("refusal", refusal);
            cluster.rejoinEmpty(victim);
          }
          cluster.awaitWhole(cluster.wholeAgainBound());
        };
      }
      case SLOW_LINKS -> {
        LinkProxies links = cluster.links();
        if (links == null) {
          throw new IllegalStateException("SLOW_LINKS needs the link proxies (a run whose kinds include it has them)");
        }
        int victim = random.nextBoolean() ? leader() : 1 + random.nextInt(n);
        LinkProxies.Shape shape = new LinkProxies.Shape(50 + random.nextInt(451),
            switch (random.nextInt(3)) {
              case 0 -> 0;
              case 1 -> 1L << 20;
              default -> 128L << 10;
            });
        victims(event, victim);
        event.put("shape", shape.toString());
        cluster.marker(victim, "slow");
        for (int y = 1; y <= n; y++) {
          if (y != victim) {
            links.shape(victim, y, shape);
            links.shape(y, victim, shape);
          }
        }
        return healed -> {
          links.clearAll();
          cluster.marker(victim, "fast");
        };
      }
      default -> throw new IllegalArgumentException(kind.name());
    }
  }

  private Fault healLinks(List<Integer> marked) {
    return healed -> {
      cluster.network().healAll();
      marked.forEach(x -> cluster.marker(x, "heal"));
    };
  }

  private static void victims(ObjectNode event, int victim) {
    ints(event, "victims", List.of(victim));
  }

  private static void ints(ObjectNode event, String field, List<Integer> values) {
    values.forEach(event.putArray(field)::add);
  }

  private List<Integer> shuffled(int n) {
    List<Integer> all = new ArrayList<>(IntStream.rangeClosed(1, n).boxed().toList());
    Collections.shuffle(all, random);
    return all;
  }

  /** The process leading the first execution group (asked of each node until one knows); a random one when none does. */
  int leader() {
    for (int i = 1; i <= cluster.size(); i++) {
      if (!cluster.isAlive(i) || cluster.isPaused(i)) {
        continue;
      }
      try {
        ClusterInfoReply c = cluster.clusterInfo(i, false);
        if (c.getExecutionGroupsCount() > 0 && c.getExecutionGroups(0).getLeaderNode() != 0) {
          int p = cluster.processOf(c.getExecutionGroups(0).getLeaderNode());
          if (p != 0) {
            return p;
          }
        }
      } catch (RuntimeException notNow) {
        // ask the next
      }
    }
    return 1 + random.nextInt(cluster.size());
  }

  /** A process other than the leader. */
  private int follower() {
    int leader = leader();
    List<Integer> others = shuffled(cluster.size()).stream().filter(i -> i != leader).toList();
    return others.getFirst();
  }

  /**
   * Pauses the node that writes the next {@code event} ("begin" or "end" of a compute step) to
   * the side-effect log, as soon as it is there (the log is read every millisecond); when none
   * comes within 10 s, the leader. Returns the node paused.
   */
  private int pauseAtNext(String event) throws IOException, InterruptedException {
    try (java.io.RandomAccessFile log = new java.io.RandomAccessFile(cluster.effectLog().toFile(), "r")) {
      long position = log.length();
      long deadline = System.nanoTime() + 10_000_000_000L;
      StringBuilder partial = new StringBuilder();
      byte[] buffer = new byte[64 * 1024];
      while (System.nanoTime() < deadline) {
        log.seek(position);
        int n = log.read(buffer);
        if (n <= 0) {
          Thread.sleep(1);
          continue;
        }
        position += n;
        partial.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
        int newline;
        while ((newline = partial.indexOf("\n")) >= 0) {
          String line = partial.substring(0, newline);
          partial.delete(0, newline + 1);
          JsonNode e = History.JSON.readTree(line);
          if (event.equals(e.path("ev").asText()) && !e.path("wf").asText().isEmpty()) {
            int node = Integer.parseInt(e.path("node").asText().substring(1));
            if (cluster.isAlive(node) && !cluster.isPaused(node)) {
              cluster.pause(node);
              return node;
            }
          }
        }
      }
    }
    int leader = leader();
    cluster.pause(leader);
    return leader;
  }
}
