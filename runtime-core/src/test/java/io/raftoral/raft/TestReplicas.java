package io.raftoral.raft;

import com.google.protobuf.ByteString;
import io.raftoral.proto.raft.BatchResult;
import io.raftoral.proto.raft.Command;
import io.raftoral.proto.raft.CommandBatch;
import io.raftoral.proto.raft.OwnerChange;
import io.raftoral.proto.raft.SetCheckpoint;
import io.raftoral.proto.raft.WorkflowEnd;
import io.raftoral.proto.raft.WorkflowStart;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.proto.RaftProtos.StateMachineLogEntryProto;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * Replicas of one execution group driven as Ratis drives them (applyTransaction, takeSnapshot,
 * pause, reinitialize, close), on real Ratis storage and a real state store, each under {@code
 * <tmp>/raft/<name>} and {@code <tmp>/state/<name>}; the tests of this package share it.
 */
final class TestReplicas implements AutoCloseable {
  static final RaftGroupId GROUP = RaftGroupId.valueOf(UUID.fromString("00000000-0000-0000-0000-00000000000b"));

  private final Path tmp;
  private final RaftGroupId group;
  private final List<Replica> open = new ArrayList<>();

  TestReplicas(Path tmp) {
    this(tmp, GROUP);
  }

  TestReplicas(Path tmp, RaftGroupId group) {
    this.tmp = tmp;
    this.group = group;
  }

  final class Replica implements AutoCloseable {
    final WorkflowStateMachine machine;
    final RaftStorage storage;
    private boolean closed;

    Replica(WorkflowStateMachine machine, RaftStorage storage) {
      this.machine = machine;
      this.storage = storage;
    }

    void apply(long index, long term, Command... commands) {
      machine.applyTransaction(transaction(index, term, commands)).join();
    }

    BatchResult applyForResult(long index, long term, Command... commands) throws Exception {
      return BatchResult.parseFrom(machine.applyTransaction(transaction(index, term, commands)).join().getContent().toByteArray());
    }

    TransactionContext transaction(long index, long term, Command... commands) {
      CommandBatch batch = CommandBatch.newBuilder().addAllCommands(List.of(commands)).build();
      LogEntryProto entry = LogEntryProto.newBuilder().setTerm(term).setIndex(index)
          .setStateMachineLogEntry(StateMachineLogEntryProto.newBuilder().setLogData(UnsafeByteOperations.unsafeWrap(batch.toByteArray())))
          .build();
      return TransactionContext.newBuilder().setServerRole(RaftPeerRole.FOLLOWER).setStateMachine(machine).setLogEntry(entry).build();
    }

    /**
     * What a follower behind the leader's log does ({@link SnapshotFetcher}): the leader's newest
     * snapshot is staged file by file beside this replica's snapshots and installed; Ratis then
     * pauses and reinitializes the machine (the test does).
     */
    void installFrom(Replica leader) throws IOException {
      Path sm = storage.getStorageDir().getStateMachineDir().toPath();
      io.raftoral.storage.CheckpointSnapshots.Snapshot snapshot = leader.machine.getStateMachineStorage().latest();
      List<io.raftoral.storage.SnapshotFile> manifest = io.raftoral.storage.CheckpointSnapshots.manifest(snapshot);
      String id = io.raftoral.storage.SnapshotFile.snapshotId(snapshot.term(), snapshot.index(), manifest);
      try (io.raftoral.storage.IncomingSnapshot staged = io.raftoral.storage.IncomingSnapshot.open(sm, id, manifest)) {
        for (io.raftoral.storage.SnapshotFile f : manifest) {
          byte[] bytes = Files.readAllBytes(snapshot.directory().resolve(f.name()));
          staged.write(f.name(), 0, java.nio.ByteBuffer.wrap(bytes));
          staged.synced(f.name(), bytes.length);
          if (!staged.check(f.name())) {
            throw new IOException("staged " + f.name() + " differs from the leader's");
          }
        }
        machine.installFetched(staged, snapshot.term(), snapshot.index());
      }
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      try {
        machine.close();
      } finally {
        storage.close();
      }
    }
  }

  Replica replica(String name) throws IOException {
    return replica(name, server(name));
  }

  /** A replica whose state machine sees {@code server} (a stand-in division, for instance). */
  Replica replica(String name, RaftServer server) throws IOException {
    RaftStorage storage = RaftStorage.newBuilder().setDirectory(tmp.resolve("raft").resolve(name).toFile())
        .setOption(RaftStorage.StartupOption.RECOVER).setStorageFreeSpaceMin(RaftServerConfigKeys.STORAGE_FREE_SPACE_MIN_DEFAULT)
        .build();
    storage.initialize();
    WorkflowStateMachine machine = new WorkflowStateMachine(command -> null, tmp.resolve("state").resolve(name));
    try {
      machine.initialize(server, group, storage);
    } catch (IOException | RuntimeException e) {
      storage.close();
      throw e;
    }
    Replica r = new Replica(machine, storage);
    open.add(r);
    return r;
  }

  @Override
  public void close() throws Exception {
    for (Replica r : open.reversed()) {
      r.close();
    }
  }

  private static RaftServer server(String id) {
    return (RaftServer) Proxy.newProxyInstance(RaftServer.class.getClassLoader(), new Class<?>[] {RaftServer.class},
        (proxy, method, args) -> switch (method.getName()) {
          case "getId" -> RaftPeerId.valueOf(id);
          case "getDivision" -> throw new IOException("no division in this test: the replica leads nothing");
          case "toString" -> "server " + id;
          default -> throw new UnsupportedOperationException(method.getName());
        });
  }

  static Command owner(long node) {
    return Command.newBuilder().setOwnerChange(OwnerChange.newBuilder().setOwnerNode(node).setClaimantTerm(1).setReason("test")).build();
  }

  static Command start(String id) {
    return Command.newBuilder().setWorkflowStart(WorkflowStart.newBuilder().setWorkflowId(id).setType("t").setVersion(1)
        .setInput(ByteString.copyFromUtf8("in-" + id)).setStartedAtMillis(100)).build();
  }

  static Command checkpoint(String id, String key, long seq, String value) {
    return Command.newBuilder().setSetCheckpoint(SetCheckpoint.newBuilder().setWorkflowId(id).setKey(key).setSeq(seq)
        .setValue(ByteString.copyFromUtf8(value)).setOwnerTerm(1).setCommittedAtMillis(1_000 + seq)).build();
  }

  static Command end(String id, long atMillis, long keepLast) {
    return Command.newBuilder().setWorkflowEnd(WorkflowEnd.newBuilder().setWorkflowId(id).setOwnerTerm(1)
        .setResult(ByteString.copyFromUtf8("done")).setEndedAtMillis(atMillis).setKeepLastPerKey(keepLast)).build();
  }

  static Command terminate(String id, long atMillis, long keepLast) {
    return Command.newBuilder().setWorkflowTerminate(io.raftoral.proto.raft.WorkflowTerminate.newBuilder().setWorkflowId(id)
        .setReason("stop").setAtMillis(atMillis).setKeepLastPerKey(keepLast)).build();
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
