package io.raftoral.security;

import io.grpc.ManagedChannel;
import io.grpc.ServerInterceptor;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.raftoral.common.Errors;
import io.raftoral.config.NodeOptions;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's TLS and authentication, read once from its options when it starts (a missing or
 * unreadable file fails the start, naming the option): how its API port is served, who may call
 * it ({@link ApiAccess}), and how the node reaches its peers' API ports when it joins.
 */
public final class NodeSecurity {
  private static final Logger LOG = LoggerFactory.getLogger(NodeSecurity.class);

  private final NodeOptions options;
  private final SslContext serverTls;
  private final SslContext peerTls;
  private final TokenFile tokens;
  private final ClientCertificates certificates;

  private NodeSecurity(NodeOptions options, SslContext serverTls, SslContext peerTls, TokenFile tokens,
      ClientCertificates certificates) {
    this.options = options;
    this.serverTls = serverTls;
    this.peerTls = peerTls;
    this.tokens = tokens;
    this.certificates = certificates;
  }

  /** Plaintext, and no authentication: the default. */
  public static NodeSecurity none() {
    return new NodeSecurity(NodeOptions.defaults(), null, null, null, null);
  }

  /**
   * Reads the files {@code options} name.
   *
   * @throws Errors.InvalidArgumentException naming the option whose file is missing or not usable
   */
  public static NodeSecurity load(NodeOptions options) {
    TokenFile tokens = options.authTokens() == null ? null : tokens(options.authTokens());
    if (options.tlsCert() == null) {
      return new NodeSecurity(options, null, null, tokens, null);
    }
    readable(options.tlsCert(), "tlsCert");
    readable(options.tlsKey(), "tlsKey");
    ClientCertificates certificates = options.tlsCa() == null ? null : ClientCertificates.load(options.tlsCa(), "tlsCa");
    SslContext server;
    try {
      SslContextBuilder b = GrpcSslContexts.forServer(options.tlsCert().toFile(), options.tlsKey().toFile());
      if (certificates != null) {
        b.trustManager(certificates.handshakeTrust()).clientAuth(ClientAuth.OPTIONAL);
      }
      server = b.build();
    } catch (SSLException | IllegalArgumentException e) {
      throw new Errors.InvalidArgumentException("tlsCert, tlsKey: cannot serve TLS with " + options.tlsCert() + " and "
          + options.tlsKey() + " (a PEM certificate chain and its PKCS#8 PEM key): " + rootMessage(e));
    }
    SslContext peer;
    try {
      // Toward the cluster's nodes: trust its CA (else the JDK's), present this node's certificate.
      SslContextBuilder b = GrpcSslContexts.forClient().keyManager(options.tlsCert().toFile(), options.tlsKey().toFile());
      if (options.tlsCa() != null) {
        b.trustManager(options.tlsCa().toFile());
      }
      peer = b.build();
    } catch (SSLException | IllegalArgumentException e) {
      throw new Errors.InvalidArgumentException("tlsCa: cannot trust the cluster's nodes by " + options.tlsCa() + ": " + rootMessage(e));
    }
    return new NodeSecurity(options, server, peer, tokens, certificates);
  }

  private static TokenFile tokens(Path file) {
    try {
      return TokenFile.open(file);
    } catch (Errors.InvalidArgumentException e) {
      throw new Errors.InvalidArgumentException("authTokens: " + e.getMessage());
    }
  }

  private static void readable(Path file, String option) {
    if (!Files.isReadable(file)) {
      throw new Errors.InvalidArgumentException(option + ": cannot read " + file + (Files.exists(file) ? " (permission)" : " (no such file)"));
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() != null ? t.getMessage() : t.toString();
  }

  /** The node's tokens, when it has a tokens file. */
  public Optional<TokenFile> tokens() {
    return Optional.ofNullable(tokens);
  }

  /** The node's certificate chain, key and the cluster's CA (PEM files), each null when not set. */
  public Path tlsCert() {
    return options.tlsCert();
  }

  public Path tlsKey() {
    return options.tlsKey();
  }

  public Path tlsCa() {
    return options.tlsCa();
  }

  /** Whether the API port speaks TLS. */
  public boolean tls() {
    return serverTls != null;
  }

  /** Whether API calls must authenticate. */
  public boolean authenticates() {
    return tokens != null || certificates != null;
  }

  /** Serves TLS on {@code server} when this node has a certificate. */
  public NettyServerBuilder secure(NettyServerBuilder server) {
    return serverTls == null ? server : server.sslContext(serverTls);
  }

  /** The check of every API call but health, or empty when calls need no authentication. */
  public Optional<ServerInterceptor> access(LongSupplier nodeId) {
    return authenticates() ? Optional.of(new ApiAccess(tokens, certificates, nodeId)) : Optional.empty();
  }

  /** A channel to a peer's API port ({@code host:port}): TLS with this node's certificate when it has one. */
  public ManagedChannel channelTo(String target) {
    NettyChannelBuilder b = NettyChannelBuilder.forTarget(target);
    return (peerTls == null ? b.usePlaintext() : b.sslContext(peerTls)).build();
  }

  /**
   * Says loudly that {@code bound} (an address the node listens on for {@code what}) takes
   * anyone's calls in the clear, unless it is a loopback address.
   *
   * @param exposure what anyone who reaches it can then do, e.g. "start and terminate workflows"
   */
  public void warnIfExposed(String what, String exposure, InetSocketAddress bound, long nodeId) {
    if (isLoopback(bound)) {
      return;
    }
    if (serverTls == null || !authenticates()) {
      LOG.warn("node {}: SECURITY: the {} on {} is reachable beyond this machine {}{}: anyone who reaches it can {}. "
          + "Set tlsCert/tlsKey, and authTokens or tlsCa (docs/SECURITY.md).", nodeId, what, bound,
          serverTls == null ? "without TLS" : "with TLS", authenticates() ? "" : " and without authentication",
          authenticates() ? "read its traffic and tokens" : exposure);
    }
  }

  private static boolean isLoopback(InetSocketAddress address) {
    try {
      InetAddress a = address.getAddress() != null ? address.getAddress() : InetAddress.getByName(address.getHostString());
      return a.isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
