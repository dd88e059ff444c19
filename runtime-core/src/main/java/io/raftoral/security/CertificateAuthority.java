package io.raftoral.security;

import io.raftoral.common.Errors;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.IPAddress;

/**
 * A certificate authority for test and development clusters, so that mutual TLS needs no OpenSSL
 * recipe: {@code raftoral certs init DIR} ({@link #init}) writes a CA, a node certificate and an
 * operator's client certificate. A client certificate carries its {@link Role} in the subject's
 * OU, read back by {@link #roleOf}. Keys are EC P-256, signatures SHA256withECDSA. For production,
 * use your organisation's CA.
 */
public final class CertificateAuthority {
  // Names are encoded from the most general part (O) to the most specific (CN), as X.509 orders
  // them; RFC 2253 strings show them the other way round: CN=..., OU=..., O=raftoral.
  static final String ORGANIZATION = "raftoral";
  /** Certificates start this long before now, for hosts whose clocks run behind. */
  static final Duration CLOCK_SKEW = Duration.ofHours(1);
  static final Duration CA_VALIDITY = Duration.ofDays(3650);
  /** The longest validity clients such as browsers accept for a leaf certificate. */
  static final Duration LEAF_VALIDITY = Duration.ofDays(825);
  private static final String SIGNATURE = "SHA256withECDSA";
  private static final SecureRandom RANDOM = new SecureRandom();
  /** The OU that marks a node's certificate: only such a certificate talks Raft or joins. */
  public static final String NODE_UNIT = "node";

  private final X509Certificate certificate;
  private final PrivateKey key;

  private CertificateAuthority(X509Certificate certificate, PrivateKey key) {
    this.certificate = certificate;
    this.key = key;
  }

  /** A certificate and its private key, as issued. */
  public record Issued(X509Certificate certificate, PrivateKey key) {
    /** Writes both as PEM: the key as PKCS#8 ({@code BEGIN PRIVATE KEY}), readable by its owner only. */
    public void write(Path certPem, Path keyPem) {
      Pem.writeCertificate(certificate, certPem);
      Pem.writeKey(key, keyPem);
    }
  }

  /** A new self-signed CA named {@code CN=commonName, O=raftoral}, valid from an hour ago for {@code validity}. */
  public static CertificateAuthority create(String commonName, Duration validity) {
    requireName(commonName);
    if (validity == null || validity.compareTo(CLOCK_SKEW) <= 0) {
      throw new Errors.InvalidArgumentException("a CA's validity must exceed " + CLOCK_SKEW + ", got " + validity);
    }
    KeyPair pair = newKeyPair();
    X500Name name = new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, ORGANIZATION).addRDN(BCStyle.CN, commonName).build();
    Instant notBefore = Instant.now().minus(CLOCK_SKEW);
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder = builder(name, name, notBefore, notBefore.plus(validity), pair.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
          .addExtension(Extension.subjectKeyIdentifier, false, extensions.createSubjectKeyIdentifier(pair.getPublic()));
      return new CertificateAuthority(sign(builder, pair.getPrivate()), pair.getPrivate());
    } catch (CertIOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot build a CA certificate", e);
    }
  }

  /** The CA written by {@link #write} (or any CA certificate and its key, PEM), to issue more certificates. */
  public static CertificateAuthority load(Path caPem, Path caKeyPem) {
    X509Certificate certificate = Pem.readCertificate(caPem);
    PrivateKey key = Pem.readKey(caKeyPem);
    if (certificate.getBasicConstraints() < 0) {
      throw new Errors.InvalidArgumentException(caPem + " is not a CA certificate (basicConstraints CA is false)");
    }
    if (!keyMatches(key, certificate.getPublicKey())) {
      throw new Errors.InvalidArgumentException(caKeyPem + " is not the private key of " + caPem);
    }
    return new CertificateAuthority(certificate, key);
  }

  /**
   * A node's certificate: a node serves TLS and is a TLS client of its peers, so it is valid for
   * both (extendedKeyUsage serverAuth and clientAuth). {@code hosts} are its subjectAltNames: IP
   * addresses as iPAddress, the others as dNSName.
   */
  public Issued issueNode(String commonName, List<String> hosts, Instant notBefore, Instant notAfter) {
    requireName(commonName);
    if (hosts == null || hosts.isEmpty()) {
      throw new Errors.InvalidArgumentException("a node certificate needs at least one host name or address");
    }
    GeneralName[] names = hosts.stream().map(CertificateAuthority::subjectAltName).toArray(GeneralName[]::new);
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, ORGANIZATION).addRDN(BCStyle.OU, NODE_UNIT).addRDN(BCStyle.CN, commonName).build();
    return issue(subject, notBefore, notAfter, new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth},
        new GeneralNames(names));
  }

  /** A client's certificate, {@code CN=commonName, OU=<role>, O=raftoral}: the OU says what it may do. */
  public Issued issueClient(String commonName, Role role, Instant notBefore, Instant notAfter) {
    requireName(commonName);
    if (role == null) {
      throw new Errors.InvalidArgumentException("a client certificate needs a role");
    }
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, ORGANIZATION).addRDN(BCStyle.OU, role.wireName()).addRDN(BCStyle.CN, commonName).build();
    return issue(subject, notBefore, notAfter, new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth}, null);
  }

  /** The CA's certificate: what nodes and clients trust. */
  public X509Certificate certificate() {
    return certificate;
  }

  /** Writes the CA certificate and its key (owner-only) as PEM, for {@link #load}. */
  public void write(Path caPem, Path caKeyPem) {
    Pem.writeCertificate(certificate, caPem);
    Pem.writeKey(key, caKeyPem);
  }

  /**
   * The role a client certificate's subject names in its OU; empty without one, or when its OUs
   * name none or more than one of the roles.
   */
  public static Optional<Role> roleOf(X509Certificate clientCert) {
    return roleOf(units(clientCert));
  }

  /**
   * Whether {@code certificate} is a node's: its subject has the OU {@code node} and names no
   * role. A node is marked, not inferred from a missing role: a client certificate of the same
   * CA, or one naming two roles, is never taken for a node.
   */
  public static boolean isNode(X509Certificate certificate) {
    List<String> units = units(certificate);
    return units.contains(NODE_UNIT) && units.stream().noneMatch(CertificateAuthority::isRole);
  }

  private static boolean isRole(String unit) {
    try {
      Role.parse(unit);
      return true;
    } catch (Errors.InvalidArgumentException e) {
      return false;
    }
  }

  private static List<String> units(X509Certificate certificate) {
    X500Name subject = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
    return java.util.Arrays.stream(subject.getRDNs(BCStyle.OU))
        .map(rdn -> IETFUtils.valueToString(rdn.getFirst().getValue()).strip()).toList();
  }

  private static Optional<Role> roleOf(List<String> units) {
    Role found = null;
    for (String unit : units) {
      if (!isRole(unit)) {
        continue; // an OU of the organisation's own, not a role
      }
      Role role = Role.parse(unit);
      if (found != null && found != role) {
        return Optional.empty();
      }
      found = role;
    }
    return Optional.ofNullable(found);
  }

  /**
   * What {@code raftoral certs init DIR} does: a new CA, a node certificate for this machine
   * (127.0.0.1, localhost, ::1) and an operator's client certificate, written to {@code dir}.
   * Refuses a directory that already has a {@code ca.pem}, so that a CA the cluster trusts is
   * never replaced by accident. Returns the files written.
   */
  public static Path[] init(Path dir) {
    Path caPem = dir.resolve("ca.pem");
    Path[] written = {caPem, dir.resolve("ca-key.pem"), dir.resolve("node.pem"), dir.resolve("node-key.pem"),
        dir.resolve("client.pem"), dir.resolve("client-key.pem")};
    // A key or certificate in use is never replaced: a node would no longer match its peers.
    List<String> existing = java.util.Arrays.stream(written).filter(Files::exists).map(p -> p.getFileName().toString()).toList();
    if (!existing.isEmpty()) {
      throw new Errors.InvalidArgumentException(dir + " holds " + String.join(", ", existing)
          + " already: refusing to overwrite; choose another directory");
    }
    CertificateAuthority ca = create("raftoral-ca", CA_VALIDITY);
    Instant notBefore = Instant.now().minus(CLOCK_SKEW);
    Instant notAfter = notBefore.plus(LEAF_VALIDITY);
    ca.issueNode("raftoral-node", List.of("127.0.0.1", "localhost", "::1"), notBefore, notAfter).write(written[2], written[3]);
    ca.issueClient("raftoral-client", Role.OPERATOR, notBefore, notAfter).write(written[4], written[5]);
    // The CA last: a failed init leaves no ca.pem (remove what it left to run it again).
    Pem.writeKey(ca.key, written[1]);
    Pem.writeCertificate(ca.certificate, caPem);
    return written;
  }

  private Issued issue(X500Name subject, Instant notBefore, Instant notAfter, KeyPurposeId[] purposes, GeneralNames altNames) {
    if (notBefore == null || notAfter == null || !notAfter.isAfter(notBefore)) {
      throw new Errors.InvalidArgumentException("a certificate must end after it starts: " + notBefore + " to " + notAfter);
    }
    KeyPair pair = newKeyPair();
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      X500Name issuer = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
      X509v3CertificateBuilder builder = builder(issuer, subject, notBefore, notAfter, pair.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
          .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes))
          .addExtension(Extension.subjectKeyIdentifier, false, extensions.createSubjectKeyIdentifier(pair.getPublic()))
          .addExtension(Extension.authorityKeyIdentifier, false, extensions.createAuthorityKeyIdentifier(certificate));
      if (altNames != null) {
        builder.addExtension(Extension.subjectAlternativeName, false, altNames);
      }
      return new Issued(sign(builder, key), pair.getPrivate());
    } catch (CertIOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot build a certificate for " + subject, e);
    }
  }

  private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, Instant notBefore, Instant notAfter,
      PublicKey publicKey) {
    BigInteger serial = new BigInteger(127, RANDOM).setBit(126); // positive, 16 bytes, unpredictable
    return new JcaX509v3CertificateBuilder(issuer, serial, Date.from(notBefore), Date.from(notAfter), subject, publicKey);
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signer) throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter().getCertificate(builder.build(new JcaContentSignerBuilder(SIGNATURE).build(signer)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static GeneralName subjectAltName(String host) {
    if (host == null || host.isBlank()) {
      throw new Errors.InvalidArgumentException("a host name must not be blank");
    }
    String bare = host.strip();
    return IPAddress.isValid(bare) ? new GeneralName(GeneralName.iPAddress, bare) : new GeneralName(GeneralName.dNSName, bare);
  }

  private static KeyPair newKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JDK has EC P-256", e);
    }
  }

  private static boolean keyMatches(PrivateKey key, PublicKey publicKey) {
    try {
      byte[] challenge = new byte[32];
      RANDOM.nextBytes(challenge);
      Signature signer = Signature.getInstance(SIGNATURE);
      signer.initSign(key);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(SIGNATURE);
      verifier.initVerify(publicKey);
      verifier.update(challenge);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static void requireName(String commonName) {
    if (commonName == null || commonName.isBlank()) {
      throw new Errors.InvalidArgumentException("a certificate's common name must not be blank");
    }
  }

  /** Reads and writes the PEM files of certificates and PKCS#8 keys; keys are written owner-only. */
  private static final class Pem {
    private Pem() {}

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    static void writeCertificate(X509Certificate certificate, Path file) {
      try {
        write(file, block("CERTIFICATE", certificate.getEncoded()), false);
      } catch (CertificateEncodingException e) {
        throw new IllegalStateException("a certificate we hold cannot be encoded", e);
      }
    }

    /** PKCS#8 ({@code BEGIN PRIVATE KEY}), the form Netty and most TLS stacks read. */
    static void writeKey(PrivateKey key, Path file) {
      write(file, block("PRIVATE KEY", key.getEncoded()), true);
    }

    static X509Certificate readCertificate(Path file) {
      if (!(readObject(file) instanceof X509CertificateHolder holder)) {
        throw new Errors.InvalidArgumentException(file + " holds no PEM certificate");
      }
      try {
        return new JcaX509CertificateConverter().getCertificate(holder);
      } catch (CertificateException e) {
        throw new Errors.InvalidArgumentException(file + " holds an unreadable certificate: " + e.getMessage());
      }
    }

    /** A PKCS#8 key or an OpenSSL "EC PRIVATE KEY". */
    static PrivateKey readKey(Path file) {
      Object object = readObject(file);
      try {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        return switch (object) {
          case PrivateKeyInfo info -> converter.getPrivateKey(info);
          case PEMKeyPair pair -> converter.getKeyPair(pair).getPrivate();
          case null, default -> throw new Errors.InvalidArgumentException(file + " holds no unencrypted PEM private key");
        };
      } catch (IOException e) {
        throw new Errors.InvalidArgumentException(file + " holds an unreadable private key: " + e.getMessage());
      }
    }

    private static Object readObject(Path file) {
      try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser parser = new PEMParser(reader)) {
        return parser.readObject();
      } catch (NoSuchFileException e) {
        throw new Errors.InvalidArgumentException("no such file: " + file);
      } catch (IOException | RuntimeException e) {
        throw new Errors.InvalidArgumentException("cannot read " + file + ": " + e.getMessage());
      }
    }

    private static String block(String type, byte[] der) {
      String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
      return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
    }

    private static void write(Path file, String text, boolean ownerOnly) {
      try {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        boolean posix = file.getFileSystem().supportedFileAttributeViews().contains("posix");
        FileAttribute<?>[] attributes = ownerOnly && posix
            ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)} : new FileAttribute<?>[0];
        try (var channel = Files.newByteChannel(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING), attributes); Writer writer = Channels.newWriter(channel, StandardCharsets.US_ASCII)) {
          if (ownerOnly && posix) {
            Files.setPosixFilePermissions(file, OWNER_ONLY); // an existing file keeps its mode when opened
          }
          writer.write(text);
        }
      } catch (IOException e) {
        throw new Errors.InvalidArgumentException("cannot write " + file + ": " + e);
      }
    }
  }
}
