package io.raftoral.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.proto.transfer.ListRequest;
import io.raftoral.security.CertificateAuthority;
import io.raftoral.security.Role;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.thirdparty.io.grpc.ManagedChannel;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.apache.ratis.thirdparty.io.grpc.StatusRuntimeException;
import org.apache.ratis.thirdparty.io.grpc.netty.GrpcSslContexts;
import org.apache.ratis.thirdparty.io.grpc.netty.NettyChannelBuilder;
import org.apache.ratis.thirdparty.io.grpc.stub.ClientCalls;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With {@link RaftTls} the nodes speak mutual TLS on the Raft port: members with certificates of
 * the cluster's CA replicate; a member whose certificate is of another CA takes no part (it
 * neither receives entries nor votes), and the snapshot transfer service on the same port
 * answers only a peer with the cluster's certificate.
 */
class MutualTlsTest {
  private static final GroupId GROUP = GroupId.of(UUID.fromString("00000000-0000-0000-0000-0000000000b2"));

  @TempDir Path tmp;
  private final List<RaftHost> hosts = new ArrayList<>();
  private final Map<Long, String> addresses = new TreeMap<>();
  private final Map<Long, Log> logs = new ConcurrentHashMap<>();
  private RaftTls member;
  private RaftTls stranger;
  private RaftTls workerCertificate;
  private RaftTls readerCertificate;

  @BeforeEach
  void certificates() {
    Instant now = Instant.now();
    CertificateAuthority ca = CertificateAuthority.create("cluster-ca", Duration.ofDays(1));
    ca.write(tmp.resolve("ca.pem"), tmp.resolve("ca-key.pem"));
    ca.issueNode("node", List.of("127.0.0.1", "localhost"), now.minusSeconds(3600), now.plusSeconds(3600))
        .write(tmp.resolve("node.pem"), tmp.resolve("node-key.pem"));
    member = new RaftTls(tmp.resolve("node.pem"), tmp.resolve("node-key.pem"), tmp.resolve("ca.pem"));
    ca.issueClient("a-worker", Role.WORKER, now.minusSeconds(3600), now.plusSeconds(3600))
        .write(tmp.resolve("worker.pem"), tmp.resolve("worker-key.pem"));
    workerCertificate = new RaftTls(tmp.resolve("worker.pem"), tmp.resolve("worker-key.pem"), tmp.resolve("ca.pem"));
    ca.issueClient("a-reader", Role.READER, now.minusSeconds(3600), now.plusSeconds(3600))
        .write(tmp.resolve("reader.pem"), tmp.resolve("reader-key.pem"));
    readerCertificate = new RaftTls(tmp.resolve("reader.pem"), tmp.resolve("reader-key.pem"), tmp.resolve("ca.pem"));
    CertificateAuthority other = CertificateAuthority.create("other-ca", Duration.ofDays(1));
    other.issueNode("stranger", List.of("127.0.0.1", "localhost"), now.minusSeconds(3600), now.plusSeconds(3600))
        .write(tmp.resolve("stranger.pem"), tmp.resolve("stranger-key.pem"));
    // It trusts the cluster's CA: only its own certificate is foreign.
    stranger = new RaftTls(tmp.resolve("stranger.pem"), tmp.resolve("stranger-key.pem"), tmp.resolve("ca.pem"));
  }

  @AfterEach
  void close() throws IOException {
    for (RaftHost h : hosts.reversed()) {
      h.close();
    }
  }

  @Test
  void membersWithTheClustersCertificatesReplicate() throws Exception {
    startGroup(member, member, member);
    awaitLeader(List.of(1L, 2L, 3L));
    RaftHost any = hosts.get(1);
    assertThat(any.submit(GROUP, bytes("a")).get(30, TimeUnit.SECONDS).isSuccess()).isTrue();
    assertThat(any.submit(GROUP, bytes("b")).get(30, TimeUnit.SECONDS).isSuccess()).isTrue();
    for (long node = 1; node <= 3; node++) {
      awaitApplied(node, List.of("a", "b"));
    }
  }

  @Test
  void aMemberWithACertificateOfAnotherCaTakesNoPart() throws Exception {
    startGroup(member, member, stranger);
    awaitLeader(List.of(1L, 2L));
    RaftHost leader = hosts.stream().filter(h -> h.isLeader(GROUP)).findFirst().orElseThrow();
    assertThat(hosts.get(2).isLeader(GROUP)).isFalse();
    for (String entry : List.of("a", "b", "c")) {
      assertThat(leader.submit(GROUP, bytes(entry)).get(30, TimeUnit.SECONDS).isSuccess()).isTrue();
    }
    awaitApplied(1, List.of("a", "b", "c"));
    awaitApplied(2, List.of("a", "b", "c"));
    // Several heartbeats and append rounds later, the stranger still has nothing.
    Thread.sleep(2000);
    assertThat(logs.get(3L).applied).isEmpty();
    assertThat(hosts.get(2).isLeader(GROUP)).isFalse();
  }

  @Test
  void theSnapshotTransferServiceAnswersOnlyAPeerWithTheClustersCertificate() throws Exception {
    startGroup(member, member, member);
    awaitLeader(List.of(1L, 2L, 3L));
    String raftPort = addresses.get(1L);
    ListRequest request = ListRequest.newBuilder().setGroupId(GROUP.toString()).setHolderNode(2).build();

    assertThat(callList(NettyChannelBuilder.forTarget(raftPort).sslContext(member.peerChannel()).build(), request))
        .as("a member is answered").isNotEqualTo(Status.Code.UNAVAILABLE);
    assertThat(callList(NettyChannelBuilder.forTarget(raftPort).sslContext(stranger.peerChannel()).build(), request))
        .as("a certificate of another CA fails the handshake").isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(callList(NettyChannelBuilder.forTarget(raftPort)
        .sslContext(GrpcSslContexts.forClient().trustManager(tmp.resolve("ca.pem").toFile()).build()).build(), request))
        .as("no client certificate fails the handshake").isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(callList(NettyChannelBuilder.forTarget(raftPort).usePlaintext().build(), request))
        .as("plaintext is not served").isEqualTo(Status.Code.UNAVAILABLE);
  }

  // Found in review: any certificate of the CA passed, a worker's or a reader's too.
  @Test
  void aClientsCertificateOfTheSameCaIsNoNode() throws Exception {
    startGroup(member, member, member);
    awaitLeader(List.of(1L, 2L, 3L));
    String raftPort = addresses.get(1L);
    ListRequest request = ListRequest.newBuilder().setGroupId(GROUP.toString()).setHolderNode(2).build();
    assertThat(callList(NettyChannelBuilder.forTarget(raftPort).sslContext(workerCertificate.peerChannel()).build(), request))
        .as("a worker's certificate fails the handshake").isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(callList(NettyChannelBuilder.forTarget(raftPort).sslContext(readerCertificate.peerChannel()).build(), request))
        .as("a reader's certificate fails the handshake").isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void aRaftTlsNeedsEveryFile() {
    assertThatThrownBy(() -> new RaftTls(null, tmp.resolve("k"), tmp.resolve("c"))).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> new RaftTls(tmp.resolve("none.pem"), tmp.resolve("none-key.pem"), tmp.resolve("ca.pem")))
        .isInstanceOf(io.raftoral.common.Errors.InvalidArgumentException.class).hasMessageContaining("none.pem");
  }

  /** The status code of a List call on {@code channel}; OK when it answered. */
  private static Status.Code callList(ManagedChannel channel, ListRequest request) {
    try {
      ClientCalls.blockingUnaryCall(channel, SnapshotTransferService.LIST,
          org.apache.ratis.thirdparty.io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), request);
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    } finally {
      channel.shutdownNow();
    }
  }

  private void startGroup(RaftTls... tls) throws Exception {
    Map<Long, String> members = new TreeMap<>();
    for (long id = 1; id <= tls.length; id++) {
      members.put(id, "127.0.0.1:" + freePort());
    }
    addresses.putAll(members);
    for (long id = 1; id <= tls.length; id++) {
      long node = id;
      RaftSettings settings = new RaftSettings(node, members, tmp.resolve("raft-" + node), tmp.resolve("state-" + node),
          100_000, Duration.ofMillis(300), Duration.ofMillis(600), RaftSettings.DEFAULT_SNAPSHOT_TRANSFER_RATE,
          RaftSettings.DEFAULT_SNAPSHOT_CHUNK_BYTES, tls[(int) id - 1]);
      RaftHost host = new RaftHost(settings, group -> logs.computeIfAbsent(node, k -> new Log()));
      hosts.add(host);
      host.start(List.of(RaftHost.group(GROUP, members)));
    }
  }

  private void awaitLeader(List<Long> among) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (among.stream().noneMatch(n -> hosts.get((int) (n - 1)).isLeader(GROUP))) {
      assertThat(System.nanoTime()).as("a leader among %s", among).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private void awaitApplied(long node, List<String> expected) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!logs.containsKey(node) || logs.get(node).applied.size() < expected.size()) {
      assertThat(System.nanoTime()).as("node %d applies %s", node, expected).isLessThan(deadline);
      Thread.sleep(10);
    }
    assertThat(logs.get(node).applied).containsExactlyElementsOf(expected);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Keeps every applied entry as text. */
  private static final class Log extends GroupStateMachine {
    final List<String> applied = new CopyOnWriteArrayList<>();

    @Override
    protected void open() {}

    @Override
    protected void reopen() {}

    @Override
    protected long snapshot(long term, long index) {
      return -1;
    }

    @Override
    protected byte[] apply(long term, long index, ByteBuffer entry) {
      byte[] data = new byte[entry.remaining()];
      entry.get(data);
      if (data.length > 0) {
        applied.add(new String(data, StandardCharsets.UTF_8));
      }
      markApplied(term, index);
      return data;
    }

    @Override
    protected CompletableFuture<byte[]> answer(ByteBuffer query) {
      return CompletableFuture.completedFuture(bytes(Integer.toString(applied.size())));
    }

    @Override
    protected List<SnapshotTransferService.Served> servedSnapshots() {
      return List.of();
    }

    @Override
    protected void installFetched(io.raftoral.storage.IncomingSnapshot staged, long term, long index) throws IOException {
      throw new IOException("this test sends no snapshots");
    }
  }
}
