package io.raftoral.raft;

import org.apache.ratis.thirdparty.io.grpc.netty.GrpcSslContexts;
import org.apache.ratis.thirdparty.io.netty.handler.ssl.SslContext;
import java.nio.file.Path;
import java.util.Objects;
import javax.net.ssl.SSLException;
import org.apache.ratis.grpc.GrpcTlsConfig;

/**
 * Mutual TLS between the nodes on the Raft port: Ratis's traffic and the snapshot transfer.
 * Each node presents its certificate and accepts only peers whose certificate chains to the
 * cluster's CA; a connection without one, or with one of another CA, fails its handshake.
 * Peers are reached by their Raft host, which their certificates must name.
 *
 * @param certificateChain this node's certificate chain (PEM)
 * @param privateKey its key (PKCS#8 PEM)
 * @param trustedCa the cluster's CA certificates (PEM)
 */
public record RaftTls(Path certificateChain, Path privateKey, Path trustedCa) {
  public RaftTls {
    Objects.requireNonNull(certificateChain, "certificateChain");
    Objects.requireNonNull(privateKey, "privateKey");
    Objects.requireNonNull(trustedCa, "trustedCa");
  }

  /** Ratis's configuration: the same for its server, its clients and its admin calls. */
  GrpcTlsConfig ratis() {
    return new GrpcTlsConfig(privateKey.toFile(), certificateChain.toFile(), trustedCa.toFile(), true);
  }

  /** For a channel to a peer's snapshot transfer service, on its Raft port. */
  SslContext peerChannel() {
    try {
      return GrpcSslContexts.forClient().keyManager(certificateChain.toFile(), privateKey.toFile())
          .trustManager(trustedCa.toFile()).build();
    } catch (SSLException | IllegalArgumentException e) {
      throw new IllegalArgumentException("cannot use " + certificateChain + ", " + privateKey + " and " + trustedCa
          + " for TLS between the nodes: " + e.getMessage(), e);
    }
  }
}
