package io.raftoral.faults;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test hosts on one machine: {@code n} network namespaces, each with one veth link to a bridge
 * in the root namespace, all in one IPv4 /24 that no route of the machine covers. The test
 * process reaches every host over the bridge (the bridge has address {@code .1}, host {@code i}
 * has {@code .(i + 1)}); a process started through {@link #exec} runs inside host {@code i}.
 * {@link #isolate} sets host {@code i}'s link down inside its namespace: it then reaches nobody
 * and nobody reaches it, while a process inside it still reaches its own address. Finer
 * partitions drop packets by route: {@link #dropFromTo} installs a blackhole route in host
 * {@code i}'s namespace for host {@code j}'s address, so that what {@code i} sends to {@code j} is
 * silently lost (as on a broken link: no ICMP, no reset) while {@code j} still reaches {@code i};
 * both directions make a symmetric cut. The bridge's own address is never cut: a driver in the
 * root namespace keeps reaching every host.
 *
 * <p>Names are unique per run and carry the creating process's pid; {@link #close} deletes the
 * namespaces (their veth links go with them) and the bridge, also when called after a failure, and
 * a shutdown hook does the same should the JVM exit without it. A run killed outright leaves
 * them behind: the next {@link #create} deletes those of processes no longer alive. Needs root
 * (CAP_NET_ADMIN, CAP_SYS_ADMIN): {@link #create} throws {@link Unavailable}, saying why, where
 * {@code ip netns} is not permitted (a test skips on it).
 */
public final class NetworkNamespaces implements AutoCloseable {
  /** This machine does not permit network namespaces (or has no free subnet for them). */
  public static final class Unavailable extends RuntimeException {
    Unavailable(String why) {
      super(why);
    }
  }

  private static final String PREFIX = "rft-";
  private static final Pattern OURS = Pattern.compile("^" + PREFIX + "(\\d+)-([0-9a-f]{6})-\\d+\\b", Pattern.MULTILINE);
  private static final Pattern ROUTE = Pattern.compile("^(\\d+)\\.(\\d+)\\.(\\d+)\\.(\\d+)(?:/(\\d+))?\\s", Pattern.MULTILINE);

  private final String tag;
  private final String subnet; // "10.x.y."
  private final int hosts;
  private final List<String> created = new ArrayList<>();
  private volatile boolean bridgeCreated;
  private final Thread cleanUpOnExit = new Thread(this::deleteAll);

  private NetworkNamespaces(String tag, String subnet, int hosts) {
    this.tag = tag;
    this.subnet = subnet;
    this.hosts = hosts;
  }

  /**
   * Creates {@code hosts} namespaces joined by a bridge.
   *
   * @throws Unavailable where the machine does not permit it
   */
  public static NetworkNamespaces create(int hosts) {
    Result probe = ip("netns", "list");
    if (!probe.ok()) {
      throw new Unavailable("network namespaces are not available here (`ip netns list`: " + probe.output() + ")");
    }
    deleteLeftovers(probe.output());
    String tag = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt(1 << 24)).substring(2);
    NetworkNamespaces n = new NetworkNamespaces(tag, freeSubnet(), hosts);
    Runtime.getRuntime().addShutdownHook(n.cleanUpOnExit);
    try {
      n.build();
    } catch (RuntimeException | Error e) {
      n.close();
      throw e;
    }
    return n;
  }

  private void build() {
    String firstNamespace = namespace(1);
    Result add = ip("netns", "add", firstNamespace);
    if (!add.ok()) {
      throw new Unavailable("cannot create a network namespace here (needs root): " + add.output());
    }
    created.add(firstNamespace);
    run("link", "add", bridge(), "type", "bridge");
    bridgeCreated = true;
    run("addr", "add", subnet + "1/24", "dev", bridge());
    run("link", "set", bridge(), "up");
    for (int i = 1; i <= hosts; i++) {
      String ns = namespace(i);
      if (i > 1) {
        run("netns", "add", ns);
        created.add(ns);
      }
      // The namespace side is eth0 inside it; the root side hangs on the bridge.
      run("link", "add", veth(i), "type", "veth", "peer", "name", "eth0", "netns", ns);
      run("link", "set", veth(i), "master", bridge(), "up");
      run("-n", ns, "link", "set", "lo", "up");
      run("-n", ns, "addr", "add", address(i) + "/24", "dev", "eth0");
      run("-n", ns, "link", "set", "eth0", "up");
    }
  }

  /** How many hosts there are. */
  public int hosts() {
    return hosts;
  }

  /** Host {@code i}'s IPv4 address (1-based). */
  public String address(int i) {
    check(i);
    return subnet + (i + 1);
  }

  /** The command prefix that runs a program inside host {@code i}'s namespace. */
  public List<String> exec(int i) {
    check(i);
    return List.of("ip", "netns", "exec", namespace(i));
  }

  /** Cuts host {@code i} off: its link goes down inside its namespace. */
  public void isolate(int i) {
    check(i);
    run("-n", namespace(i), "link", "set", "eth0", "down");
  }

  /** Undoes {@link #isolate}: the link goes up again (its route to the subnet comes back with it). */
  public void heal(int i) {
    check(i);
    run("-n", namespace(i), "link", "set", "eth0", "up");
  }

  /** What host {@code from} sends to host {@code to} is dropped from now on (one direction). */
  public void dropFromTo(int from, int to) {
    check(from);
    check(to);
    if (from == to) {
      throw new IllegalArgumentException("a host always reaches itself");
    }
    run("-n", namespace(from), "route", "replace", "blackhole", address(to) + "/32");
  }

  /**
   * Every link as it was built: links up, no blackhole routes. Safe to call in any state (a
   * route or link already restored is left as it is).
   */
  public void healAll() {
    for (int i = 1; i <= hosts; i++) {
      run("-n", namespace(i), "link", "set", "eth0", "up");
      for (int j = 1; j <= hosts; j++) {
        if (j != i) {
          ip("-n", namespace(i), "route", "del", "blackhole", address(j) + "/32"); // absent: fine
        }
      }
    }
  }

  /**
   * Inside host {@code to}, TCP connections from host {@code from} to {@code port} go to
   * {@code toPort} of host {@code to} instead (an nftables redirect, before routing): a proxy
   * listening there sees them with their source, and the path between the hosts stays the veth
   * link that {@link #dropFromTo} and {@link #isolate} cut. Needs the {@code nft} program.
   */
  public void redirectIncoming(int to, int from, int port, int toPort) {
    check(to);
    check(from);
    String ns = namespace(to);
    nft(ns, "add", "table", "ip", "raftoral");
    nft(ns, "add", "chain", "ip", "raftoral", "incoming", "{ type nat hook prerouting priority dstnat; }");
    nft(ns, "add", "rule", "ip", "raftoral", "incoming", "ip", "saddr", address(from), "tcp", "dport", Integer.toString(port),
        "redirect", "to", ":" + toPort);
  }

  /** The file that stands for host {@code i}'s namespace ({@code setns(2)} takes it). */
  public java.nio.file.Path namespaceFile(int i) {
    check(i);
    return java.nio.file.Path.of("/var/run/netns", namespace(i));
  }

  private static void nft(String ns, String... args) {
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "nft"));
    cmd.addAll(List.of(args));
    Result r = command(cmd);
    if (!r.ok()) {
      throw new Unavailable("nft " + String.join(" ", args) + " failed in " + ns + " (is nftables installed?): " + r.output());
    }
  }

  @Override
  public void close() {
    deleteAll();
    try {
      Runtime.getRuntime().removeShutdownHook(cleanUpOnExit);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway; deleting twice is harmless
    }
  }

  private synchronized void deleteAll() {
    for (String ns : created.reversed()) {
      ip("netns", "delete", ns); // deletes the veth pair too
    }
    created.clear();
    if (bridgeCreated) {
      ip("link", "delete", bridge());
      bridgeCreated = false;
    }
  }

  private String namespace(int i) {
    return PREFIX + ProcessHandle.current().pid() + "-" + tag + "-" + i;
  }

  private String bridge() {
    return "rfb" + tag; // interface names have at most 15 characters
  }

  private String veth(int i) {
    return "rfv" + tag + i;
  }

  private void check(int i) {
    if (i < 1 || i > hosts) {
      throw new IllegalArgumentException("no host " + i + "; hosts are 1.." + hosts);
    }
  }

  /** Namespaces and bridges of earlier runs whose process is gone (killed before it could clean up). */
  private static void deleteLeftovers(String namespaces) {
    Matcher m = OURS.matcher(namespaces);
    while (m.find()) {
      long pid = Long.parseLong(m.group(1));
      if (ProcessHandle.of(pid).isEmpty()) {
        ip("netns", "delete", m.group().strip());
        ip("link", "delete", "rfb" + m.group(2));
      }
    }
  }

  /** A 10.x.y.0/24 that no address or route of this machine overlaps (so no real traffic is diverted). */
  private static String freeSubnet() {
    Result routes = ip("-4", "route", "show", "table", "all");
    for (int attempt = 0; attempt < 50; attempt++) {
      int x = ThreadLocalRandom.current().nextInt(100, 250);
      int y = ThreadLocalRandom.current().nextInt(0, 256);
      long net = (10L << 24) | ((long) x << 16) | ((long) y << 8);
      boolean overlaps = false;
      Matcher m = ROUTE.matcher(routes.output());
      while (m.find() && !overlaps) {
        long a = (Long.parseLong(m.group(1)) << 24) | (Long.parseLong(m.group(2)) << 16) | (Long.parseLong(m.group(3)) << 8)
            | Long.parseLong(m.group(4));
        int bits = m.group(5) == null ? 32 : Integer.parseInt(m.group(5));
        int common = Math.min(bits, 24);
        long mask = common == 0 ? 0 : (0xFFFFFFFFL << (32 - common)) & 0xFFFFFFFFL;
        overlaps = (a & mask) == (net & mask);
      }
      if (!overlaps) {
        return "10." + x + "." + y + ".";
      }
    }
    throw new Unavailable("no free 10.x.y.0/24 subnet for test hosts on this machine");
  }

  private record Result(boolean ok, String output) {}

  private static void run(String... args) {
    Result r = ip(args);
    if (!r.ok()) {
      throw new IllegalStateException("ip " + String.join(" ", args) + " failed: " + r.output());
    }
  }

  private static Result ip(String... args) {
    List<String> cmd = new ArrayList<>(List.of("ip"));
    cmd.addAll(List.of(args));
    return command(cmd);
  }

  private static Result command(List<String> cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      // Read on another thread: a command that hangs must not hold this one past the timeout.
      java.util.concurrent.FutureTask<String> output = new java.util.concurrent.FutureTask<>(
          () -> new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip());
      Thread.ofVirtual().start(output);
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(false, String.join(" ", cmd) + ": timed out");
      }
      try {
        return new Result(p.exitValue() == 0, output.get(30, TimeUnit.SECONDS));
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        return new Result(p.exitValue() == 0, "(no output: " + e + ")");
      }
    } catch (IOException e) {
      return new Result(false, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UncheckedIOException(new IOException("interrupted", e));
    }
  }
}
