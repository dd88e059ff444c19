package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.raftoral.client.RaftoralClient;
import io.raftoral.proto.client.RaftoralApiGrpc;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BREAK: {@code RaftoralClient.builder(address).token(t)} without {@code tlsCa} (and so the CLI's
 * {@code --token} without {@code --tls-ca}, the first thing a user tries) connects in plaintext
 * and sends the bearer token in the clear, to any address, beyond loopback too. Against a TLS
 * node the call then fails and the CLI hints at {@code --tls-ca}, but the token has already
 * crossed the network readable; whoever listens on the address (or on the path) gets it. A
 * bearer token should only go over TLS (or to loopback); otherwise the client should refuse to
 * build, as gRPC's own call credentials do.
 */
class PlaintextTokenLeakBreakTest {
  @TempDir Path dir;

  @Test
  void aTokenIsNeverSentInTheClearToAnotherMachine() throws Exception {
    InetAddress external = Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
        .flatMap(i -> Collections.list(i.getInetAddresses()).stream())
        .filter(a -> a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress())
        .findFirst().orElse(null);
    Assumptions.assumeTrue(external != null, "a non-loopback address to listen on");
    String token = TokenFile.create(dir.resolve("tokens"), Role.OPERATOR);
    List<String> heard = new CopyOnWriteArrayList<>();
    ServerInterceptor sniffer = new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
        String auth = headers.get(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER));
        if (auth != null) {
          heard.add(auth);
        }
        return next.startCall(call, headers);
      }
    };
    // A plaintext listener on another machine's address (an attacker's, a misconfigured proxy, or a
    // node whose TLS the user forgot to ask for).
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress(external, 0))
        .addService(ServerInterceptors.intercept(new RaftoralApiGrpc.RaftoralApiImplBase() {}, sniffer)).build().start();
    try (RaftoralClient c = RaftoralClient.builder(external.getHostAddress() + ":" + server.getPort()).token(token)
        .callTimeout(Duration.ofSeconds(5)).build()) {
      try {
        c.describe("any");
      } catch (RuntimeException expected) {
        // UNIMPLEMENTED: the listener only listens
      }
    } catch (RuntimeException refusedToBuild) {
      // the right answer: no token over plaintext
    } finally {
      server.shutdownNow();
    }
    assertThat(heard).as("authorization headers received in plaintext on " + external.getHostAddress()).isEmpty();
  }
}
