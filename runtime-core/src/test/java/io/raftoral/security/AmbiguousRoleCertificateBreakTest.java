package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.proto.client.NodeServiceGrpc;
import io.raftoral.proto.client.NodeStatusRequest;
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
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
 * BREAK: a client certificate of the cluster's CA whose subject names two roles ({@code OU=reader,
 * OU=worker}) gets no role from {@link CertificateAuthority#roleOf}, and {@link ApiAccess} then
 * takes it for a node's certificate: it may call {@code NodeService} (status, join, leave), which
 * neither a reader nor a worker may. An ambiguous role must fail closed, not be promoted to "a node".
 */
class AmbiguousRoleCertificateBreakTest {
  @TempDir Path dir;

  @Test
  void aCertificateNamingTwoRolesIsNotANode() throws Exception {
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
        .addRDN(BCStyle.OU, "reader").addRDN(BCStyle.OU, "worker").addRDN(BCStyle.CN, "dashboard-and-worker").build();
    Instant now = Instant.now();
    X509Certificate cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(
        X500Name.getInstance(caCert.getSubjectX500Principal().getEncoded()), BigInteger.valueOf(now.toEpochMilli()),
        Date.from(now.minusSeconds(3600)), Date.from(now.plusSeconds(3600)), subject, pair.getPublic())
        .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
        .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth))
        .build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey)));
    assertThat(CertificateAuthority.roleOf(cert)).as("roleOf an ambiguous subject").isEmpty();
    Path pem = dir.resolve("ambiguous.pem");
    Path key = dir.resolve("ambiguous-key.pem");
    Files.writeString(pem, "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder().encodeToString(cert.getEncoded())
        + "\n-----END CERTIFICATE-----\n", StandardCharsets.US_ASCII);
    Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder().encodeToString(pair.getPrivate().getEncoded())
        + "\n-----END PRIVATE KEY-----\n", StandardCharsets.US_ASCII);

    Map<Long, String> raft = LocalCluster.freeAddresses(1);
    String api = LocalCluster.freeAddresses(1).get(1L);
    try (RaftoralNode node = RaftoralNode.builder().nodeId(1).members(raft).apiAddress(api)
        .tlsCert(certs.resolve("node.pem")).tlsKey(certs.resolve("node-key.pem")).tlsCa(ca)
        .electionTimeout(Duration.ofMillis(500)).start()) {
      ManagedChannel channel = NettyChannelBuilder.forTarget(node.apiAddress())
          .sslContext(GrpcSslContexts.forClient().trustManager(ca.toFile()).keyManager(pem.toFile(), key.toFile()).build()).build();
      Status.Code code;
      try {
        NodeServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
            .status(NodeStatusRequest.newBuilder().setNodeId(1).build());
        code = Status.Code.OK;
      } catch (StatusRuntimeException e) {
        code = e.getStatus().getCode();
      } finally {
        channel.shutdownNow();
      }
      assertThat(code).as("NodeService.Status with a certificate naming OU=reader and OU=worker")
          .isIn(Status.Code.PERMISSION_DENIED, Status.Code.UNAUTHENTICATED);
    }
  }
}
