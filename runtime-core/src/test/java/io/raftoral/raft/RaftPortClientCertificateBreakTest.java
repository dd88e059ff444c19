package io.raftoral.raft;

import static org.assertj.core.api.Assertions.assertThat;

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
 * BREAK: the Raft port's mutual TLS accepts any certificate of the cluster's CA, whatever its role:
 * a worker's or a reader's client certificate (which docs/SECURITY.md confines to the worker stream,
 * or to reads of the client API) is served by the snapshot transfer service and by Ratis on the Raft
 * port, where only the cluster's nodes belong.
 */
class RaftPortClientCertificateBreakTest {
  private static final GroupId GROUP = GroupId.of(UUID.fromString("00000000-0000-0000-0000-0000000000b2"));

  @TempDir Path tmp;
  private final List<RaftHost> hosts = new ArrayList<>();
  private final Map<Long, String> addresses = new TreeMap<>();
  private final Map<Long, Log> logs = new ConcurrentHashMap<>();
  private RaftTls member;
  private RaftTls workerCert;
  private RaftTls readerCert;

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
    workerCert = new RaftTls(tmp.resolve("worker.pem"), tmp.resolve("worker-key.pem"), tmp.resolve("ca.pem"));
    ca.issueClient("a-reader", Role.READER, now.minusSeconds(3600), now.plusSeconds(3600))
        .write(tmp.resolve("reader.pem"), tmp.resolve("reader-key.pem"));
    readerCert = new RaftTls(tmp.resolve("reader.pem"), tmp.resolve("reader-key.pem"), tmp.resolve("ca.pem"));
  }

  @AfterEach
  void close() throws IOException {
    for (RaftHost h : hosts.reversed()) {
      h.close();
    }
  }

  @Test
  void aWorkersOrReadersClientCertificateIsNotANodeOnTheRaftPort() throws Exception {
    startGroup(member, member, member);
    awaitLeader(List.of(1L, 2L, 3L));
    String raftPort = addresses.get(1L);
    ListRequest request = ListRequest.newBuilder().setGroupId(GROUP.toString()).setHolderNode(2).build();
    assertThat(callList(NettyChannelBuilder.forTarget(raftPort).sslContext(member.peerChannel()).build(), request))
        .as("a node is answered").isNotEqualTo(Status.Code.UNAVAILABLE);
    assertThat(callList(NettyChannelBuilder.forTarget(raftPort).sslContext(workerCert.peerChannel()).build(), request))
        .as("a worker's client certificate must not reach the Raft port's services")
        .isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED, Status.Code.PERMISSION_DENIED);
    assertThat(callList(NettyChannelBuilder.forTarget(raftPort).sslContext(readerCert.peerChannel()).build(), request))
        .as("a reader's client certificate must not reach the Raft port's services")
        .isIn(Status.Code.UNAVAILABLE, Status.Code.UNAUTHENTICATED, Status.Code.PERMISSION_DENIED);
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
