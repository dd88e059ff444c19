package io.raftoral.faults;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A userspace TCP proxy on every directed link's Raft traffic, so that a link can be made slow:
 * latency added to every byte and a bandwidth limit, each direction on its own ({@code tc netem}
 * is not available here). The proxy for the connections host {@code a} opens to host {@code b}
 * listens inside {@code b}'s namespace; an nftables redirect there sends {@code a}'s connections
 * to the Raft port to it, and it forwards them to the node on the same host. The packets still
 * cross the veth link between the hosts, so partitions cut them as before; the proxy only shapes
 * the bytes: those {@code a} sends to {@code b} after the shape of link a→b, the answers after
 * that of b→a. Unshaped, it passes bytes on as they come.
 *
 * <p>Its sockets are opened inside the namespaces by {@link NamespaceThreads}.
 */
final class LinkProxies implements AutoCloseable {
  /** How a directed link treats bytes: held {@code delayMillis} each, at most {@code bytesPerSecond} (0: no limit). */
  record Shape(long delayMillis, long bytesPerSecond) {
    static final Shape CLEAR = new Shape(0, 0);

    @Override
    public String toString() {
      return delayMillis + " ms" + (bytesPerSecond == 0 ? "" : ", " + bytesPerSecond / 1024 + " KiB/s");
    }
  }

  /** Where host {@code from}'s connections to host {@code to} are redirected, inside {@code to}. */
  static int proxyPort(int from) {
    return 17_000 + from;
  }

  private final int hosts;
  private final int port;
  private final Shape[][] shapes; // [from][to]
  private final List<ExecutorService> namespaceThreads = new ArrayList<>();
  private final List<ServerSocketChannel> listeners = new ArrayList<>();
  private final List<SocketChannel> open = new ArrayList<>();
  private volatile boolean closed;

  /** Proxies every link's connections to {@code port} (each node's Raft port) among the hosts of {@code net}. */
  LinkProxies(NetworkNamespaces net, int port) throws IOException {
    this.hosts = net.hosts();
    this.port = port;
    this.shapes = new Shape[hosts + 1][hosts + 1];
    for (Shape[] row : shapes) {
      java.util.Arrays.fill(row, Shape.CLEAR);
    }
    try {
      for (int to = 1; to <= hosts; to++) {
        ExecutorService inside = NamespaceThreads.inside(net.namespaceFile(to));
        namespaceThreads.add(inside);
        String address = net.address(to);
        for (int from = 1; from <= hosts; from++) {
          if (from == to) {
            continue;
          }
          int a = from;
          int b = to;
          ServerSocketChannel listener = NamespaceThreads.call(inside, () -> ServerSocketChannel.open()
              .bind(new InetSocketAddress(address, proxyPort(a))));
          listeners.add(listener);
          Thread.ofVirtual().name("link-proxy-" + a + "-" + b).start(() -> accept(listener, inside, a, b, address));
          net.redirectIncoming(to, from, port, proxyPort(from));
        }
      }
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /** Shapes the bytes host {@code from} sends to host {@code to}, from now on. */
  void shape(int from, int to, Shape shape) {
    synchronized (shapes) {
      shapes[from][to] = shape;
    }
  }

  Shape shapeOf(int from, int to) {
    synchronized (shapes) {
      return shapes[from][to];
    }
  }

  /** Every link unshaped. */
  void clearAll() {
    for (int a = 1; a <= hosts; a++) {
      for (int b = 1; b <= hosts; b++) {
        shape(a, b, Shape.CLEAR);
      }
    }
  }

  private void accept(ServerSocketChannel listener, ExecutorService inside, int from, int to, String address) {
    while (!closed) {
      SocketChannel client;
      try {
        client = listener.accept();
      } catch (IOException e) {
        return; // closed
      }
      try {
        SocketChannel server = NamespaceThreads.call(inside, SocketChannel::open);
        track(client);
        track(server);
        try {
          server.connect(new InetSocketAddress(address, port));
        } catch (IOException refused) { // the node is down: so is the connection
          quietlyClose(client);
          quietlyClose(server);
          continue;
        }
        // Both directions ended (each sender closed its side): the connection is over.
        java.util.concurrent.atomic.AtomicInteger directions = new java.util.concurrent.atomic.AtomicInteger(2);
        Runnable ended = () -> {
          if (directions.decrementAndGet() == 0) {
            quietlyClose(client);
            quietlyClose(server);
          }
        };
        pump(client, server, from, to, ended);
        pump(server, client, to, from, ended);
      } catch (IOException | RuntimeException e) {
        quietlyClose(client);
      }
    }
  }

  private record Chunk(byte[] bytes, long readAt) {}

  private static final Chunk END = new Chunk(new byte[0], 0);

  /** Moves bytes from {@code in} to {@code out} after link from→to's shape; ends both at the first error. */
  private void pump(SocketChannel in, SocketChannel out, int from, int to, Runnable ended) {
    // Bounded: a receiver that does not read (paused) stops the reader, and TCP's window the sender.
    BlockingQueue<Chunk> queue = new ArrayBlockingQueue<>(64);
    Thread.ofVirtual().start(() -> {
      ByteBuffer buffer = ByteBuffer.allocate(32 * 1024);
      try {
        while (in.read(buffer.clear()) >= 0) {
          byte[] bytes = new byte[buffer.position()];
          buffer.flip().get(bytes);
          queue.put(new Chunk(bytes, System.nanoTime()));
        }
        queue.put(END);
      } catch (IOException | InterruptedException e) {
        quietlyClose(in);
        quietlyClose(out);
        queue.offer(END);
      }
    });
    Thread.ofVirtual().start(() -> {
      try {
        for (Chunk c = queue.take(); c != END; c = queue.take()) {
          Shape s = shapeOf(from, to);
          long due = c.readAt() + TimeUnit.MILLISECONDS.toNanos(s.delayMillis());
          long wait = due - System.nanoTime();
          if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
          }
          ByteBuffer b = ByteBuffer.wrap(c.bytes());
          while (b.hasRemaining()) {
            out.write(b);
          }
          if (s.bytesPerSecond() > 0) {
            TimeUnit.NANOSECONDS.sleep(c.bytes().length * 1_000_000_000L / s.bytesPerSecond());
          }
        }
        out.shutdownOutput(); // the sender closed its side: so does this one
      } catch (IOException | InterruptedException e) {
        quietlyClose(in);
        quietlyClose(out);
      } finally {
        ended.run();
      }
    });
  }

  private void track(SocketChannel c) {
    synchronized (open) {
      open.removeIf(x -> !x.isOpen());
      open.add(c);
    }
  }

  @Override
  public void close() {
    closed = true;
    listeners.forEach(LinkProxies::quietlyClose);
    synchronized (open) {
      open.forEach(LinkProxies::quietlyClose);
      open.clear();
    }
    namespaceThreads.forEach(ExecutorService::shutdownNow);
  }

  private static void quietlyClose(java.nio.channels.Channel c) {
    try {
      c.close();
    } catch (IOException e) {
      // closing anyway
    }
  }
}
