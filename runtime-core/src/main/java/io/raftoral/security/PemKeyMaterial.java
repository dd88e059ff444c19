package io.raftoral.security;

import io.raftoral.common.Errors;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * A server's TLS identity read from the node's PEM files with the JDK's own APIs (no Netty, no
 * Bouncy Castle): the certificate chain of {@code tlsCert} (leaf first) and the unencrypted PKCS#8
 * key of {@code tlsKey} ({@code BEGIN PRIVATE KEY}, EC or RSA), as {@code raftoral certs} writes
 * them. Used where the JDK serves TLS itself: the HTTP port.
 */
public final class PemKeyMaterial {
  private static final Pattern PKCS8 = Pattern.compile(
      "-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");
  private static final char[] NO_PASSWORD = new char[0];

  private final X509Certificate[] chain;
  private final PrivateKey key;

  private PemKeyMaterial(X509Certificate[] chain, PrivateKey key) {
    this.chain = chain;
    this.key = key;
  }

  /**
   * Reads {@code certFile} and {@code keyFile}.
   *
   * @throws Errors.InvalidArgumentException naming the option (tlsCert, tlsKey) and the file that
   *     is missing, unreadable or not what it should be
   */
  public static PemKeyMaterial load(Path certFile, Path keyFile) {
    X509Certificate[] chain = chain(certFile);
    PrivateKey key = key(keyFile);
    if (!chain[0].getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
      throw new Errors.InvalidArgumentException("tlsCert, tlsKey: the key in " + keyFile + " (" + key.getAlgorithm()
          + ") is not the key of the certificate in " + certFile + " (" + chain[0].getPublicKey().getAlgorithm() + ")");
    }
    return new PemKeyMaterial(chain, key);
  }

  /** The certificate chain, leaf first. */
  public X509Certificate[] chain() {
    return chain.clone();
  }

  /** Key managers that present this chain and key. */
  public KeyManager[] keyManagers() {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      store.setKeyEntry("node", key, NO_PASSWORD, chain);
      KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      factory.init(store, NO_PASSWORD);
      return factory.getKeyManagers();
    } catch (GeneralSecurityException | IOException e) {
      throw new Errors.InvalidArgumentException("tlsCert, tlsKey: cannot use the key with its certificate: " + e.getMessage());
    }
  }

  /** A server's TLS context presenting this chain and key (no client certificates asked). */
  public SSLContext serverContext() {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keyManagers(), null, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new Errors.InvalidArgumentException("tlsCert, tlsKey: cannot serve TLS: " + e.getMessage());
    }
  }

  private static X509Certificate[] chain(Path file) {
    byte[] bytes = read(file, "tlsCert");
    Collection<? extends Certificate> certificates;
    try (InputStream in = new ByteArrayInputStream(bytes)) {
      certificates = CertificateFactory.getInstance("X.509").generateCertificates(in);
    } catch (GeneralSecurityException | IOException e) {
      throw new Errors.InvalidArgumentException("tlsCert: " + file + " is not a PEM certificate chain: " + e.getMessage());
    }
    if (certificates.isEmpty()) {
      throw new Errors.InvalidArgumentException("tlsCert: " + file + " holds no certificate (expected a PEM certificate chain)");
    }
    return certificates.stream().map(c -> (X509Certificate) c).toArray(X509Certificate[]::new);
  }

  private static PrivateKey key(Path file) {
    String text = new String(read(file, "tlsKey"), StandardCharsets.US_ASCII);
    Matcher m = PKCS8.matcher(text);
    if (!m.find()) {
      String hint = text.contains("BEGIN ENCRYPTED PRIVATE KEY") ? "it is encrypted; the node needs it unencrypted"
          : text.contains("BEGIN EC PRIVATE KEY") || text.contains("BEGIN RSA PRIVATE KEY")
              ? "it is in the older EC/RSA form; convert it with: openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW"
              : "no '-----BEGIN PRIVATE KEY-----' block";
      throw new Errors.InvalidArgumentException("tlsKey: " + file + " is not a PKCS#8 PEM private key (" + hint + ")");
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(m.group(1).replaceAll("\\s", ""));
    } catch (IllegalArgumentException e) {
      throw new Errors.InvalidArgumentException("tlsKey: " + file + " is not a PKCS#8 PEM private key (bad base64: " + e.getMessage() + ")");
    }
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
    for (String algorithm : new String[] {"EC", "RSA"}) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(spec);
      } catch (InvalidKeySpecException e) {
        // not this algorithm: try the next
      } catch (GeneralSecurityException e) {
        throw new Errors.InvalidArgumentException("tlsKey: cannot read " + file + ": " + e.getMessage());
      }
    }
    throw new Errors.InvalidArgumentException("tlsKey: " + file + " is neither an EC nor an RSA PKCS#8 private key");
  }

  private static byte[] read(Path file, String option) {
    if (file == null) {
      throw new Errors.InvalidArgumentException(option + ": not set");
    }
    try {
      return Files.readAllBytes(file);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new Errors.InvalidArgumentException(option + ": cannot read " + file + " (no such file)");
    } catch (java.nio.file.AccessDeniedException e) {
      throw new Errors.InvalidArgumentException(option + ": cannot read " + file + " (permission)");
    } catch (IOException e) {
      throw new Errors.InvalidArgumentException(option + ": cannot read " + file + ": " + e.getMessage());
    }
  }
}
