package io.raftoral.raft;

import static io.raftoral.raft.TestReplicas.checkpoint;
import static io.raftoral.raft.TestReplicas.owner;
import static io.raftoral.raft.TestReplicas.start;
import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.raft.SnapshotFetcher.Source;
import io.raftoral.raft.TestReplicas.Replica;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.ratis.thirdparty.io.grpc.Server;
import org.apache.ratis.thirdparty.io.grpc.ServerServiceDefinition;
import org.apache.ratis.thirdparty.io.grpc.netty.NettyServerBuilder;

/**
 * Peers for the tests of out-of-band snapshot transfer: real {@link SnapshotTransferService}s
 * serving real replicas (or fake service definitions) on real sockets, with no Ratis division
 * around them; closing stops them all. Also the replica content those tests transfer.
 */
final class TransferPeers implements AutoCloseable {
  private final Map<Source, Server> servers = new LinkedHashMap<>();
  private final List<SnapshotTransferService> services = new ArrayList<>();

  /** Serves {@code service} (its groups as it is told) as node {@code node}. */
  Source serve(long node, SnapshotTransferService service) throws IOException {
    services.add(service);
    return serve(node, service.definition());
  }

  /** Serves {@code replica}'s snapshots as node {@code node}, in chunks of {@code chunkBytes}, paced to {@code rate} bytes/s (0: not). */
  Source serve(long node, Replica replica, int chunkBytes, long rate) throws IOException {
    SnapshotTransferService service = new SnapshotTransferService(chunkBytes, rate);
    service.serve(group -> group.equals(replica.machine.group()) ? replica.machine : null, group -> true);
    return serve(node, service);
  }

  /** Serves a service definition (a fake one: the real method descriptors, made-up answers) as node {@code node}. */
  Source serve(long node, ServerServiceDefinition definition) throws IOException {
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(definition).build().start();
    Source source = new Source(node, "127.0.0.1:" + server.getPort());
    servers.put(source, server);
    return source;
  }

  /** Stops serving as {@code source} at once: its streams are cut (a source that dies). */
  void kill(Source source) {
    servers.get(source).shutdownNow();
  }

  @Override
  public void close() {
    servers.values().forEach(Server::shutdownNow);
    services.forEach(SnapshotTransferService::close);
  }

  /**
   * Applies {@code workflows} workflows of 40 checkpoints of 2 KiB (random letters: the table
   * files keep about their size) each, a snapshot after each (so the checkpoint holds several
   * table files); returns the digest at the last snapshot.
   */
  static String writeAndSnapshot(Replica replica, int workflows) throws Exception {
    long index = 1;
    replica.apply(index, 1, owner(1));
    Random random = new Random(workflows);
    for (int w = 0; w < workflows; w++) {
      replica.apply(++index, 1, start("wf-" + w));
      for (int k = 0; k < 40; k++) {
        replica.apply(++index, 1, checkpoint("wf-" + w, "k" + k, 0, letters(random, 2048)));
      }
      assertThat(replica.machine.takeSnapshot()).isEqualTo(index);
    }
    return replica.machine.state().digest();
  }

  /** {@code n} random letters. */
  static String letters(Random random, int n) {
    StringBuilder s = new StringBuilder(n);
    random.ints(n, 'a', 'z' + 1).forEach(c -> s.append((char) c));
    return s.toString();
  }

  /** What Ratis does after a fetched snapshot was installed (pause, reload); returns the replica's digest then. */
  static String reloaded(Replica replica) throws IOException {
    replica.machine.pause();
    replica.machine.reinitialize();
    return replica.machine.state().digest();
  }
}
