package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BREAK: a node whose TLS settings do not match its seeds' does not fail clearly: a plaintext node
 * (or one with tlsCert but without the cluster's tlsCa, which then trusts only the JDK's CAs)
 * joining a TLS cluster retries the handshake failure as if the seeds were down, for the whole
 * join patience (15 s and more), and then says "no seed answered", not that the seed speaks TLS
 * or that its certificate is not trusted. Another seed of the same cluster would fail the same
 * way: like UNAUTHENTICATED, a TLS mismatch should end the join at once with a hint
 * (tlsCert/tlsKey/tlsCa).
 */
class JoinTlsMismatchBreakTest {
  @TempDir static Path dir;
  private static Path certs;
  private static RaftoralNode seed;

  @BeforeAll
  static void secureSeed() {
    certs = dir.resolve("certs");
    CertificateAuthority.init(certs);
    Map<Long, String> raft = LocalCluster.freeAddresses(1);
    String api = LocalCluster.freeAddresses(1).get(1L);
    seed = RaftoralNode.builder().nodeId(1).members(raft).apiAddress(api)
        .tlsCert(certs.resolve("node.pem")).tlsKey(certs.resolve("node-key.pem")).tlsCa(certs.resolve("ca.pem"))
        .electionTimeout(Duration.ofMillis(500)).start();
  }

  @AfterAll
  static void close() {
    if (seed != null) {
      seed.close();
    }
  }

  private static void assertFailsFastAndSaysTls(RaftoralNode.Builder joiner, String what) {
    long start = System.nanoTime();
    Throwable failure = null;
    try (RaftoralNode ignored = joiner.start()) {
      // joined: not expected
    } catch (Throwable t) {
      failure = t;
    }
    long seconds = Duration.ofNanos(System.nanoTime() - start).toSeconds();
    assertThat(failure).as(what + " must not join").isNotNull();
    assertThat(seconds).as(what + ": seconds until the join failed (" + failure.getMessage() + ")").isLessThan(8);
    assertThat(failure.getMessage()).as(what + ": the failure names TLS").containsIgnoringCase("tls");
  }

  @Test
  void aPlaintextNodeJoiningATlsClusterFailsFastAndSaysWhy() {
    Map<Long, String> a = LocalCluster.freeAddresses(2);
    assertFailsFastAndSaysTls(RaftoralNode.builder().join(List.of(seed.apiAddress())).raftAddress(a.get(1L))
        .apiAddress(a.get(2L)), "a plaintext node");
  }

  @Test
  void aNodeWithoutTheClustersCaFailsFastAndSaysWhy() {
    Map<Long, String> a = LocalCluster.freeAddresses(2);
    assertFailsFastAndSaysTls(RaftoralNode.builder().join(List.of(seed.apiAddress())).raftAddress(a.get(1L))
        .apiAddress(a.get(2L)).tlsCert(certs.resolve("node.pem")).tlsKey(certs.resolve("node-key.pem")),
        "a node with tlsCert but no tlsCa");
  }
}
