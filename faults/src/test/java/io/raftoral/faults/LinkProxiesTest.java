package io.raftoral.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The link proxies between two hosts: bytes pass intact and in order, a shaped link holds them
 * at least its delay and at most its rate, each direction after its own link's shape, and a cut
 * link still cuts. An echo server on host 2, a client on host 1. Needs root; skipped without.
 */
class LinkProxiesTest {
  private static final int PORT = 7000;

  @Test
  void bytesPassIntactAndAShapedLinkHoldsThemItsDelayAndRate() throws Exception {
    try (NetworkNamespaces net = hosts(); LinkProxies links = new LinkProxies(net, PORT)) {
      ExecutorService host1 = NamespaceThreads.inside(net.namespaceFile(1));
      ExecutorService host2 = NamespaceThreads.inside(net.namespaceFile(2));
      try (ServerSocketChannel server = NamespaceThreads.call(host2,
          () -> ServerSocketChannel.open().bind(new InetSocketAddress(net.address(2), PORT)))) {
        Thread.ofVirtual().start(() -> echo(server));
        try (SocketChannel client = NamespaceThreads.call(host1, SocketChannel::open)) {
          client.connect(new InetSocketAddress(net.address(2), PORT));

          byte[] payload = new byte[300_000];
          new Random(7).nextBytes(payload);
          assertThat(roundTrip(client, payload)).as("echoed through the proxy").isEqualTo(payload);

          // 150 ms each way: a round trip takes at least 300 ms.
          links.shape(1, 2, new LinkProxies.Shape(150, 0));
          links.shape(2, 1, new LinkProxies.Shape(150, 0));
          long start = System.nanoTime();
          assertThat(roundTrip(client, new byte[] {42})).containsExactly(42);
          assertThat((System.nanoTime() - start) / 1_000_000).as("round trip over a 150 ms link, ms").isGreaterThanOrEqualTo(300);

          // 128 KiB/s from 1 to 2 only: 256 KiB take at least 2 s to arrive (less the first chunk's free pass).
          links.clearAll();
          links.shape(1, 2, new LinkProxies.Shape(0, 128 << 10));
          byte[] big = new byte[256 << 10];
          new Random(8).nextBytes(big);
          start = System.nanoTime();
          assertThat(roundTrip(client, big)).isEqualTo(big);
          assertThat((System.nanoTime() - start) / 1_000_000).as("256 KiB over 128 KiB/s, ms").isGreaterThanOrEqualTo(1700);
          assertThat(links.shapeOf(2, 1)).as("the other direction").isEqualTo(LinkProxies.Shape.CLEAR);

          // A cut link still cuts (the packets cross the veth link, not a shortcut through the proxy).
          links.clearAll();
          net.dropFromTo(1, 2);
          client.configureBlocking(false);
          client.write(ByteBuffer.wrap(new byte[] {1}));
          Thread.sleep(1000);
          assertThat(client.read(ByteBuffer.allocate(8))).as("bytes back over a cut link").isZero();
          net.healAll();
          client.configureBlocking(true);
          ByteBuffer late = ByteBuffer.allocate(1);
          client.read(late);
          assertThat(late.array()).as("delivered once the link heals").containsExactly(1);
        }
      } finally {
        host1.shutdownNow();
        host2.shutdownNow();
      }
    }
  }

  private static NetworkNamespaces hosts() {
    try {
      return NetworkNamespaces.create(2);
    } catch (NetworkNamespaces.Unavailable e) {
      Assumptions.abort(e.getMessage());
      throw e;
    }
  }

  private static byte[] roundTrip(SocketChannel c, byte[] bytes) throws IOException {
    ByteBuffer out = ByteBuffer.wrap(bytes);
    ByteBuffer in = ByteBuffer.allocate(bytes.length);
    // Write and read together: the echo cannot hold a large payload until it is all sent.
    Thread writer = Thread.ofVirtual().start(() -> {
      try {
        while (out.hasRemaining()) {
          c.write(out);
        }
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    while (in.hasRemaining()) {
      if (c.read(in) < 0) {
        break;
      }
    }
    try {
      writer.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return in.array();
  }

  private static void echo(ServerSocketChannel server) {
    try (SocketChannel c = server.accept()) {
      ByteBuffer b = ByteBuffer.allocate(64 * 1024);
      while (c.read(b.clear()) >= 0) {
        b.flip();
        while (b.hasRemaining()) {
          c.write(b);
        }
      }
    } catch (IOException closed) {
      // the test is over
    }
  }
}
