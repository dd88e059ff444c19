package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.raftoral.common.Errors;
import java.io.File;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  private static final int DNS_NAME = 2;
  private static final int IP_ADDRESS = 7;

  @TempDir
  Path dir;

  @Test
  void initWritesTheSixFilesKeysOwnerOnly() throws Exception {
    Path[] written = CertificateAuthority.init(dir.resolve("certs"));
    assertThat(Arrays.stream(written).map(p -> p.getFileName().toString()))
        .containsExactly("ca.pem", "ca-key.pem", "node.pem", "node-key.pem", "client.pem", "client-key.pem");
    for (Path file : written) {
      assertThat(file).isRegularFile().hasParent(dir.resolve("certs"));
      String pem = Files.readString(file);
      assertThat(pem).startsWith(file.toString().endsWith("-key.pem") ? "-----BEGIN PRIVATE KEY-----" : "-----BEGIN CERTIFICATE-----");
      if (file.toString().endsWith("-key.pem") && file.getFileSystem().supportedFileAttributeViews().contains("posix")) {
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
      }
    }
  }

  @Test
  void theNodeCertificateIsSignedByTheCaForItsHostsAndBothEnds() throws Exception {
    CertificateAuthority.init(dir);
    X509Certificate ca = certificate("ca.pem");
    X509Certificate node = certificate("node.pem");

    node.verify(ca.getPublicKey());
    node.checkValidity();
    assertThat(node.getIssuerX500Principal()).isEqualTo(ca.getSubjectX500Principal());
    assertThat(node.getSubjectX500Principal().getName()).isEqualTo("CN=raftoral-node,OU=node,O=raftoral");
    assertThat(CertificateAuthority.isNode(node)).isTrue();
    assertThat(CertificateAuthority.isNode(certificate("client.pem"))).as("a client is no node").isFalse();
    assertThat(node.getBasicConstraints()).as("not a CA").isEqualTo(-1);
    assertThat(node.getExtendedKeyUsage()).containsExactlyInAnyOrder(SERVER_AUTH, CLIENT_AUTH);
    boolean[] keyUsage = node.getKeyUsage();
    assertThat(keyUsage[0]).as("digitalSignature").isTrue();
    assertThat(keyUsage[2]).as("keyEncipherment").isTrue();
    assertThat(node.getSubjectAlternativeNames()).containsExactlyInAnyOrder(
        List.of(IP_ADDRESS, "127.0.0.1"), List.of(DNS_NAME, "localhost"), List.of(IP_ADDRESS, "0:0:0:0:0:0:0:1"));
    assertThat(Duration.between(node.getNotBefore().toInstant(), node.getNotAfter().toInstant())).isEqualTo(Duration.ofDays(825));
    assertThat(node.getNotBefore().toInstant()).isBefore(Instant.now().minus(Duration.ofMinutes(59)));

    assertThat(ca.getBasicConstraints()).as("a CA").isGreaterThanOrEqualTo(0);
    ca.verify(ca.getPublicKey());
    assertThat(Duration.between(ca.getNotBefore().toInstant(), ca.getNotAfter().toInstant())).isEqualTo(Duration.ofDays(3650));
  }

  @Test
  void theClientCertificateCarriesTheOperatorRole() throws Exception {
    CertificateAuthority.init(dir);
    X509Certificate client = certificate("client.pem");

    client.verify(certificate("ca.pem").getPublicKey());
    assertThat(client.getSubjectX500Principal().getName()).isEqualTo("CN=raftoral-client,OU=operator,O=raftoral");
    assertThat(client.getExtendedKeyUsage()).containsExactly(CLIENT_AUTH);
    assertThat(CertificateAuthority.roleOf(client)).contains(Role.OPERATOR);
    assertThat(CertificateAuthority.roleOf(certificate("node.pem"))).as("no OU").isEmpty();
  }

  @Test
  void eachRoleRoundTripsThroughAClientCertificate() {
    CertificateAuthority ca = CertificateAuthority.create("test-ca", Duration.ofDays(1));
    Instant now = Instant.now();
    for (Role role : Role.values()) {
      X509Certificate cert = ca.issueClient("someone, with a comma", role, now, now.plusSeconds(60)).certificate();
      assertThat(CertificateAuthority.roleOf(cert)).contains(role);
    }
  }

  @Test
  void aLoadedCaIssuesCertificatesThatVerify() throws Exception {
    CertificateAuthority.init(dir);
    CertificateAuthority ca = CertificateAuthority.load(dir.resolve("ca.pem"), dir.resolve("ca-key.pem"));
    Instant now = Instant.now();
    X509Certificate issued = ca.issueClient("reader-1", Role.READER, now, now.plus(Duration.ofDays(1))).certificate();

    issued.verify(certificate("ca.pem").getPublicKey());
    assertThat(ca.certificate()).isEqualTo(certificate("ca.pem"));
    assertThat(CertificateAuthority.roleOf(issued)).contains(Role.READER);
  }

  @Test
  void loadRefusesAKeyOfAnotherCa() {
    CertificateAuthority.init(dir.resolve("a"));
    CertificateAuthority.init(dir.resolve("b"));
    assertThatThrownBy(() -> CertificateAuthority.load(dir.resolve("a/ca.pem"), dir.resolve("b/ca-key.pem")))
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("is not the private key of");
    assertThatThrownBy(() -> CertificateAuthority.load(dir.resolve("a/node.pem"), dir.resolve("a/node-key.pem")))
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("is not a CA");
    assertThatThrownBy(() -> CertificateAuthority.load(dir.resolve("none.pem"), dir.resolve("a/ca-key.pem")))
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("none.pem");
  }

  @Test
  void aSecondInitIntoTheSameDirectoryIsRefused() throws Exception {
    CertificateAuthority.init(dir);
    byte[] before = Files.readAllBytes(dir.resolve("ca.pem"));
    assertThatThrownBy(() -> CertificateAuthority.init(dir))
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining("ca.pem");
    assertThat(Files.readAllBytes(dir.resolve("ca.pem"))).isEqualTo(before);
  }

  @Test
  void aGrpcServerWithTheNodeCertificateIsTrustedThroughTheCa() throws Exception {
    CertificateAuthority.init(dir);
    CertificateAuthority.init(dir.resolve("other"));
    HealthStatusManager health = new HealthStatusManager();
    Server server = NettyServerBuilder.forPort(0)
        .sslContext(GrpcSslContexts.forServer(file("node.pem"), file("node-key.pem")).build())
        .addService(health.getHealthService())
        .build().start();
    try {
      for (String host : List.of("127.0.0.1", "localhost")) {
        assertThat(check(host, server.getPort(), file("ca.pem"))).as(host).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
      }
      assertThatThrownBy(() -> check("127.0.0.1", server.getPort(), file("other/ca.pem")))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    } finally {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static HealthCheckResponse.ServingStatus check(String host, int port, File trusted) throws Exception {
    ManagedChannel channel = NettyChannelBuilder.forAddress(host, port)
        .sslContext(GrpcSslContexts.forClient().trustManager(trusted).build())
        .build();
    try {
      return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance()).getStatus();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private File file(String name) {
    return dir.resolve(name).toFile();
  }

  private X509Certificate certificate(String name) throws Exception {
    try (InputStream in = Files.newInputStream(dir.resolve(name))) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }
}
