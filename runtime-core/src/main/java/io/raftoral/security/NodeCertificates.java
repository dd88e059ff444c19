package io.raftoral.security;

import io.raftoral.common.Errors;
import java.nio.file.Path;
import javax.net.ssl.KeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * What the Raft port's mutual TLS is made of: this node's key material, and a trust manager that
 * accepts only nodes' certificates of the cluster's CA (not its clients' or workers').
 */
public final class NodeCertificates {
  private NodeCertificates() {}

  /**
   * @throws Errors.InvalidArgumentException naming the file that cannot be read or used
   */
  public static KeyManager keyManager(Path certificateChain, Path privateKey) {
    return PemKeyMaterial.load(certificateChain, privateKey).keyManagers()[0];
  }

  /**
   * @throws Errors.InvalidArgumentException when {@code caFile} cannot be read or holds no certificate
   */
  public static X509ExtendedTrustManager nodesOnly(Path caFile) {
    return ClientCertificates.load(caFile, "tlsCa").nodesOnly();
  }
}
