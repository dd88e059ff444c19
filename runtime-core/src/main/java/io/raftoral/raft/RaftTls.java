package io.raftoral.raft;

import io.raftoral.security.NodeCertificates;
import java.nio.file.Path;
import java.util.Objects;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedTrustManager;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.thirdparty.io.grpc.netty.GrpcSslContexts;
import org.apache.ratis.thirdparty.io.netty.handler.ssl.SslContext;

/**
 * Mutual TLS between the nodes on the Raft port: Ratis's traffic and the snapshot transfer.
 * Each node presents its certificate and accepts only peers whose certificate is a node's
 * ({@code OU=node}) of the cluster's CA; a connection without one, with one of another CA, or with
 * a client's or worker's certificate of the same CA, fails its handshake. Peers are reached by
 * their Raft host, which their certificates must name.
 */
public final class RaftTls {
  private final KeyManager keyManager;
  private final X509ExtendedTrustManager trustManager;

  /**
   * @param certificateChain this node's certificate chain (PEM)
   * @param privateKey its key (PKCS#8 PEM)
   * @param trustedCa the cluster's CA certificates (PEM)
   * @throws io.raftoral.common.Errors.InvalidArgumentException naming a file that cannot be used
   */
  public RaftTls(Path certificateChain, Path privateKey, Path trustedCa) {
    Objects.requireNonNull(certificateChain, "certificateChain");
    Objects.requireNonNull(privateKey, "privateKey");
    Objects.requireNonNull(trustedCa, "trustedCa");
    this.keyManager = NodeCertificates.keyManager(certificateChain, privateKey);
    this.trustManager = NodeCertificates.nodesOnly(trustedCa);
  }

  /** Ratis's configuration: the same for its server, its clients and its admin calls. */
  GrpcTlsConfig ratis() {
    return new GrpcTlsConfig(keyManager, trustManager, true);
  }

  /** For a channel to a peer's snapshot transfer service, on its Raft port. */
  SslContext peerChannel() {
    try {
      return GrpcSslContexts.forClient().keyManager(keyManager).trustManager(trustManager).build();
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS between the nodes: " + e.getMessage(), e);
    }
  }
}
