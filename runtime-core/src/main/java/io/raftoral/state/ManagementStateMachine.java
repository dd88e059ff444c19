package io.raftoral.state;

import com.google.protobuf.InvalidProtocolBufferException;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.Topology;
import io.raftoral.storage.CorruptStateException;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * The Ratis state machine of the management group: cluster topology only, never workflow
 * state. Applies {@link ManagementCommand}s to {@link ManagementState}, replies with a
 * {@link ManagementResult}, and publishes each new topology to one listener.
 *
 * <p>The topology is small, so a snapshot is one protobuf file {@code sm/snapshot.<term>_<index>}
 * with Ratis's MD5 file beside it; on start the newest is loaded and the log replayed after it.
 */
public final class ManagementStateMachine extends BaseStateMachine {
  private final ManagementState state = new ManagementState();
  private final SimpleStateMachineStorage snapshots = new SimpleStateMachineStorage();
  private volatile Topology topology = Topology.getDefaultInstance();
  private volatile Consumer<Topology> listener = t -> {};
  private volatile Runnable leaderListener = () -> {};

  /** The committed topology; empty until the bootstrap command is applied. */
  public Topology topology() {
    return topology;
  }

  /** Called on a Ratis thread after every applied command; must not block. */
  public void setListener(Consumer<Topology> listener, Runnable leaderChanged) {
    this.listener = listener;
    this.leaderListener = leaderChanged;
  }

  @Override
  public SimpleStateMachineStorage getStateMachineStorage() {
    return snapshots;
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage storage) throws IOException {
    super.initialize(server, groupId, storage);
    snapshots.init(storage);
    getLifeCycle().startAndTransition(() -> load(snapshots.getLatestSnapshot()), IOException.class);
  }

  @Override
  public void pause() {
    LifeCycle lifeCycle = getLifeCycle();
    if (lifeCycle.getCurrentState() == LifeCycle.State.RUNNING) {
      lifeCycle.transition(LifeCycle.State.PAUSING);
      lifeCycle.transition(LifeCycle.State.PAUSED);
    }
  }

  /** After an installed snapshot: the topology is the snapshot's. */
  @Override
  public void reinitialize() throws IOException {
    getLifeCycle().transition(LifeCycle.State.STARTING);
    load(snapshots.loadLatestSnapshot());
    getLifeCycle().transition(LifeCycle.State.RUNNING);
  }

  private void load(SingleFileSnapshotInfo snapshot) throws IOException {
    if (snapshot == null) {
      return;
    }
    File file = snapshot.getFile().getPath().toFile();
    MD5Hash stored = snapshot.getFile().getFileDigest();
    if (stored == null || !stored.equals(MD5FileUtil.computeMd5ForFile(file))) {
      throw new CorruptStateException("the management snapshot " + file + " is corrupted or truncated (its MD5 differs from "
          + file.getName() + ".md5); refusing to use it. Start the node with an empty data directory to join the cluster "
          + "again as a new node");
    }
    Topology loaded = Topology.parseFrom(Files.readAllBytes(file.toPath()));
    synchronized (state) {
      state.restore(loaded);
      topology = state.topology();
    }
    setLastAppliedTermIndex(snapshot.getTermIndex());
    listener.accept(topology);
  }

  /** Writes the topology at the last applied entry; called on the apply thread. */
  @Override
  public long takeSnapshot() throws IOException {
    TermIndex last = getLastAppliedTermIndex();
    if (last == null || last.getIndex() < 0) {
      return RaftLog.INVALID_LOG_INDEX;
    }
    SingleFileSnapshotInfo latest = snapshots.getLatestSnapshot();
    if (latest != null && latest.getIndex() >= last.getIndex()) {
      return latest.getIndex();
    }
    File file = snapshots.getSnapshotFile(last.getTerm(), last.getIndex());
    File tmp = new File(file.getPath() + ".tmp");
    Topology current = topology;
    try (OutputStream out = Files.newOutputStream(tmp.toPath())) {
      current.writeTo(out);
    }
    try (var ch = java.nio.channels.FileChannel.open(tmp.toPath(), java.nio.file.StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    // The digest BEFORE the snapshot takes its name: a process that dies in between leaves the
    // old snapshots and an orphan digest (Ratis deletes it), never a snapshot without its digest,
    // which a restart would refuse as corrupt.
    MD5Hash md5 = MD5FileUtil.computeMd5ForFile(tmp);
    MD5FileUtil.saveMD5File(file, md5);
    Files.move(tmp.toPath(), file.toPath(), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    snapshots.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), last));
    return last.getIndex();
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    ManagementResult result;
    try {
      ManagementCommand command = ManagementCommand.parseFrom(entry.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer());
      synchronized (state) {
        result = state.apply(command, entry.getTerm());
        topology = state.topology();
      }
    } catch (InvalidProtocolBufferException e) {
      return CompletableFuture.failedFuture(e);
    }
    updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
    listener.accept(topology);
    return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(result.toByteArray())));
  }

  @Override
  public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
    leaderListener.run();
  }
}
