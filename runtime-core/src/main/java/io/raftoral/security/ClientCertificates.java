package io.raftoral.security;

import io.raftoral.common.Errors;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * The client certificates a node accepts: those that chain to the cluster's CA ({@code tlsCa}).
 *
 * <p>The TLS handshake itself lets any client certificate through ({@link #handshakeTrust}); the
 * check is {@link #verify}, per call. A handshake refused for a bad certificate reaches the
 * caller as a broken connection (UNAVAILABLE, "connection closed"); checked per call, an
 * expired or foreign certificate is an UNAUTHENTICATED answer that says which, and the node logs
 * it. Nothing is served before the check: every call but health is authenticated.
 */
final class ClientCertificates {
  private final X509TrustManager pkix;
  private final List<X509Certificate> authorities;

  private ClientCertificates(X509TrustManager pkix, List<X509Certificate> authorities) {
    this.pkix = pkix;
    this.authorities = authorities;
  }

  /**
   * @param caFile PEM certificates of the cluster's CA
   * @throws Errors.InvalidArgumentException naming {@code option} and the file when it cannot be
   *     read or holds no certificate
   */
  static ClientCertificates load(Path caFile, String option) {
    List<X509Certificate> cas = readCertificates(caFile, option);
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < cas.size(); i++) {
        store.setCertificateEntry("ca-" + i, cas.get(i));
      }
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(store);
      for (TrustManager tm : factory.getTrustManagers()) {
        if (tm instanceof X509TrustManager x509) {
          return new ClientCertificates(x509, List.copyOf(cas));
        }
      }
      throw new IllegalStateException("the JDK offers no X.509 trust manager");
    } catch (GeneralSecurityException | IOException e) {
      throw new Errors.InvalidArgumentException(option + ": cannot use the certificates of " + caFile + ": " + e.getMessage());
    }
  }

  /**
   * The PEM certificates of {@code file}, in order.
   *
   * @throws Errors.InvalidArgumentException naming {@code option} and the file
   */
  static List<X509Certificate> readCertificates(Path file, String option) {
    try (InputStream in = Files.newInputStream(file)) {
      List<X509Certificate> out = new ArrayList<>();
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw new Errors.InvalidArgumentException(option + ": " + file + " holds no PEM certificate");
      }
      return out;
    } catch (IOException e) {
      throw new Errors.InvalidArgumentException(option + ": cannot read " + file + ": " + e);
    } catch (CertificateException e) {
      throw new Errors.InvalidArgumentException(option + ": " + file + " is not a PEM certificate file: " + e.getMessage());
    }
  }

  /**
   * Why {@code chain} (the caller's, leaf first) is not a certificate of the cluster, or empty
   * when it is.
   */
  Optional<String> verify(X509Certificate[] chain) {
    if (chain == null || chain.length == 0) {
      return Optional.of("no client certificate");
    }
    X509Certificate leaf = chain[0];
    try {
      leaf.checkValidity();
    } catch (CertificateExpiredException e) {
      return Optional.of("the client certificate " + subject(leaf) + " expired on " + leaf.getNotAfter().toInstant());
    } catch (CertificateNotYetValidException e) {
      return Optional.of("the client certificate " + subject(leaf) + " is valid only from " + leaf.getNotBefore().toInstant());
    }
    try {
      pkix.checkClientTrusted(chain, leaf.getPublicKey().getAlgorithm());
      return Optional.empty();
    } catch (CertificateException e) {
      if (!issuedByTheCluster(leaf)) {
        return Optional.of("the client certificate " + subject(leaf) + " is not one of the cluster's CA ("
            + authorities.getFirst().getSubjectX500Principal().getName() + ")");
      }
      // Of the cluster's CA, yet refused: say why (e.g. not valid for client authentication).
      return Optional.of("the client certificate " + subject(leaf) + " is refused: " + e.getMessage());
    }
  }

  private boolean issuedByTheCluster(X509Certificate leaf) {
    for (X509Certificate ca : authorities) {
      try {
        leaf.verify(ca.getPublicKey());
        return true;
      } catch (GeneralSecurityException e) {
        // another one may have signed it
      }
    }
    return false;
  }

  /**
   * For the Raft port: certificates of the cluster's CA that are nodes' ({@link
   * CertificateAuthority#isNode}), both when this node is the server and when it is the client
   * (the peer's host is verified as the JDK's trust manager does). A client's certificate of the
   * same CA, whatever its role, fails the handshake.
   */
  X509ExtendedTrustManager nodesOnly() {
    X509ExtendedTrustManager extended = pkix instanceof X509ExtendedTrustManager e ? e : null;
    return new X509ExtendedTrustManager() {
      private void requireNode(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0 || !CertificateAuthority.isNode(chain[0])) {
          throw new CertificateException("not a node's certificate (OU=" + CertificateAuthority.NODE_UNIT + "): "
              + (chain == null || chain.length == 0 ? "none" : subject(chain[0])));
        }
      }

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        pkix.checkClientTrusted(chain, authType);
        requireNode(chain);
      }

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        if (extended != null) {
          extended.checkClientTrusted(chain, authType, socket);
        } else {
          pkix.checkClientTrusted(chain, authType);
        }
        requireNode(chain);
      }

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        if (extended != null) {
          extended.checkClientTrusted(chain, authType, engine);
        } else {
          pkix.checkClientTrusted(chain, authType);
        }
        requireNode(chain);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        pkix.checkServerTrusted(chain, authType);
        requireNode(chain);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        if (extended != null) {
          extended.checkServerTrusted(chain, authType, socket);
        } else {
          pkix.checkServerTrusted(chain, authType);
        }
        requireNode(chain);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        if (extended != null) {
          extended.checkServerTrusted(chain, authType, engine);
        } else {
          pkix.checkServerTrusted(chain, authType);
        }
        requireNode(chain);
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
      }
    };
  }

  private static String subject(X509Certificate c) {
    return "'" + c.getSubjectX500Principal().getName() + "'";
  }

  /** For the handshake: asks for a client certificate and takes any, to be {@link #verify verified} per call. */
  TrustManager handshakeTrust() {
    return new X509ExtendedTrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        pkix.checkServerTrusted(chain, authType);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        pkix.checkServerTrusted(chain, authType);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        pkix.checkServerTrusted(chain, authType);
      }

      /**
       * None named: a client picks the certificate to send by this list, and one of another CA
       * (or an expired one) would then send none and hear "no credentials" instead of why.
       */
      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    };
  }
}
