package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.Reader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BREAK (diagnosis): a client certificate issued by the cluster's own CA, {@code OU=operator}, but
 * with extendedKeyUsage serverAuth only, is refused (rightly) with "is not one of the cluster's
 * CA": false, and it sends whoever debugs it after the wrong CA file. PKIX's reason (the
 * certificate may not be used for client authentication) is dropped by
 * {@link ClientCertificates#verify}, which reports every PKIX failure as a foreign CA.
 */
class ServerOnlyCertificateBreakTest {
  @TempDir Path dir;

  @Test
  void aServerOnlyCertificateIsRefusedForWhatItIs() throws Exception {
    Path certs = dir.resolve("certs");
    CertificateAuthority.init(certs);
    Path ca = certs.resolve("ca.pem");
    X509Certificate caCert = CertificateAuthority.load(ca, certs.resolve("ca-key.pem")).certificate();
    PrivateKey caKey;
    try (Reader r = Files.newBufferedReader(certs.resolve("ca-key.pem")); PEMParser p = new PEMParser(r)) {
      caKey = new JcaPEMKeyConverter().getPrivateKey((PrivateKeyInfo) p.readObject());
    }
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair pair = g.generateKeyPair();
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "raftoral")
        .addRDN(BCStyle.OU, "operator").addRDN(BCStyle.CN, "server-only").build();
    Instant now = Instant.now();
    X509Certificate cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(
        X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded()), BigInteger.valueOf(now.toEpochMilli()),
        Date.from(now.minusSeconds(3600)), Date.from(now.plusSeconds(3600)), subject, pair.getPublic())
        .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
        .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
        .build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey)));
    java.util.Optional<String> problem = ClientCertificates.load(ca, "tlsCa").verify(new X509Certificate[] {cert});
    assertThat(problem).as("a serverAuth-only certificate is refused").isPresent();
    assertThat(problem.get()).as("the refusal says why (docs/SECURITY.md: 'The message says which, and why')")
        .doesNotContain("is not one of the cluster's CA").containsIgnoringCase("client authentication");
    Path pem = dir.resolve("ambiguous.pem");
    Path key = dir.resolve("ambiguous-key.pem");
    Files.writeString(pem, "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder().encodeToString(cert.getEncoded())
        + "\n-----END CERTIFICATE-----\n", StandardCharsets.US_ASCII);
    Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder().encodeToString(pair.getPrivate().getEncoded())
        + "\n-----END PRIVATE KEY-----\n", StandardCharsets.US_ASCII);

  }
}
