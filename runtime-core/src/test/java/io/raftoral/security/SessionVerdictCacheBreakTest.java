package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.Errors;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BREAK: {@link ApiAccess} keeps its verdict on a client certificate in the TLS session, and a
 * refusal is kept for good: only a kept acceptance is re-checked (its validity). A client whose
 * certificate is not yet valid on its first call (a certificate just issued, a client clock a
 * little ahead of the node's) stays refused on that connection after its certificate becomes
 * valid: every later call of the long-lived channel ends UNAUTHENTICATED "valid only from" a time
 * already past, until the client reconnects.
 */
class SessionVerdictCacheBreakTest {
  @TempDir Path dir;

  @Test
  void aCertificateNotYetValidOnTheFirstCallIsAcceptedOnceValid() throws Exception {
    Path certs = dir.resolve("certs");
    CertificateAuthority.init(certs);
    Path ca = certs.resolve("ca.pem");
    Map<Long, String> raft = LocalCluster.freeAddresses(1);
    String api = LocalCluster.freeAddresses(1).get(1L);
    try (RaftoralNode node = RaftoralNode.builder().nodeId(1).members(raft).apiAddress(api)
        .tlsCert(certs.resolve("node.pem")).tlsKey(certs.resolve("node-key.pem")).tlsCa(ca)
        .electionTimeout(Duration.ofMillis(500)).start()) {
      Instant validFrom = Instant.now().plusSeconds(3);
      CertificateAuthority.load(ca, certs.resolve("ca-key.pem"))
          .issueClient("fresh", Role.READER, validFrom, validFrom.plus(Duration.ofDays(1)))
          .write(dir.resolve("fresh.pem"), dir.resolve("fresh-key.pem"));
      try (RaftoralClient c = RaftoralClient.builder(node.apiAddress()).tlsCa(ca)
          .clientCertificate(dir.resolve("fresh.pem"), dir.resolve("fresh-key.pem")).build()) {
        assertThatThrownBy(() -> c.describe("none-such")).isInstanceOf(Errors.UnauthenticatedException.class)
            .hasMessageContaining("valid only from");
        Thread.sleep(Duration.between(Instant.now(), validFrom).toMillis() + 1500);
        assertThat(Instant.now()).isAfter(validFrom);
        assertThatThrownBy(() -> c.describe("none-such")).as("the same client, its certificate valid for a second now")
            .isInstanceOf(Errors.WorkflowNotFoundException.class);
      }
    }
  }
}
