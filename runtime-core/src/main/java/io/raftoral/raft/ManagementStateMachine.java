package io.raftoral.raft;

import com.google.protobuf.InvalidProtocolBufferException;
import io.raftoral.proto.management.ManagementCommand;
import io.raftoral.proto.management.ManagementQuery;
import io.raftoral.proto.management.ManagementQueryReply;
import io.raftoral.proto.management.ManagementResult;
import io.raftoral.proto.management.Topology;
import io.raftoral.state.ManagementState;
import io.raftoral.storage.CorruptStateException;
import io.raftoral.storage.IncomingSnapshot;
import io.raftoral.storage.SnapshotFile;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.util.MD5FileUtil;

/**
 * The Ratis adapter of the management group's state machine: cluster topology only, never workflow
 * state. Applies {@link ManagementCommand}s to {@link ManagementState}, replies with a
 * {@link ManagementResult}, and publishes each new topology to one listener.
 *
 * <p>A snapshot is one protobuf file {@code sm/snapshot.<term>_<index>}, the topology with the
 * workflow id claims ({@link ManagementState#snapshotTopology}), with Ratis's MD5 file beside it;
 * on start the newest is loaded and the log replayed after it. A follower behind the leader's
 * log fetches both files from a peer. The lifecycle glue is {@link GroupStateMachine}'s.
 *
 * <p>Queries ({@link ManagementQuery}) read the applied state: the claim of a workflow id.
 */
public final class ManagementStateMachine extends GroupStateMachine {
  private final ManagementState state = new ManagementState(GroupIds::executionUuid);
  private final SimpleStateMachineStorage snapshots = new SimpleStateMachineStorage();
  private volatile Topology topology = Topology.getDefaultInstance();
  private volatile Consumer<Topology> listener = t -> {};
  private volatile Runnable leaderListener = () -> {};

  /** The committed topology; empty until the bootstrap command is applied. */
  public Topology topology() {
    return topology;
  }

  /**
   * The index of the group workflow id {@code workflowId} was claimed in, as this replica has
   * applied it; null when not claimed here (a replica behind the claim: ask the leader with a
   * {@link ManagementQuery}). The group may have been merged since ({@link ManagementState#resolve}).
   */
  public Integer claimedGroup(String workflowId) {
    return state.claimedGroup(workflowId);
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
  protected void open() throws IOException {
    load(snapshots.getLatestSnapshot());
  }

  /** After an installed snapshot: the topology is the snapshot's. */
  @Override
  protected void reopen() throws IOException {
    load(snapshots.loadLatestSnapshot());
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
    restoredTo(snapshot.getTerm(), snapshot.getIndex());
    listener.accept(topology);
  }

  /** The newest snapshot: its file and the MD5 file beside it. */
  @Override
  protected List<SnapshotTransferService.Served> servedSnapshots() throws IOException {
    SingleFileSnapshotInfo latest = snapshots.getLatestSnapshot();
    if (latest == null) {
      return List.of();
    }
    Path file = latest.getFile().getPath();
    try {
      return List.of(new SnapshotTransferService.Served(latest.getTerm(), latest.getIndex(), file.getParent(),
          List.of(SnapshotFile.of(file), SnapshotFile.of(MD5FileUtil.getDigestFileForFile(file.toFile()).toPath()))));
    } catch (java.nio.file.NoSuchFileException deletedMeanwhile) {
      return List.of(); // a newer one was taken and this one cleaned up: offered on the next listing
    }
  }

  /** Checks the fetched file against its MD5 file, then moves both into {@code sm/}, the MD5 first (as {@link #snapshot} does). */
  @Override
  protected void installFetched(IncomingSnapshot staged, long term, long index) throws IOException {
    File target = snapshots.getSnapshotFile(term, index);
    if (target.exists()) {
      staged.discard();
      return;
    }
    String name = target.getName();
    File stagedFile = staged.directory().resolve(name).toFile();
    MD5Hash stored = MD5FileUtil.readStoredMd5ForFile(stagedFile);
    if (!stored.equals(MD5FileUtil.computeMd5ForFile(stagedFile))) {
      staged.discard();
      throw new CorruptStateException("the management snapshot " + name + " fetched from a peer differs from its MD5 file; "
          + "fetching it again");
    }
    staged.moveFilesTo(target.toPath().getParent(), List.of(MD5FileUtil.getDigestFileForFile(target).getName(), name));
  }

  /** Writes the topology at the last applied entry; called on the apply thread. */
  @Override
  protected long snapshot(long term, long index) throws IOException {
    SingleFileSnapshotInfo latest = snapshots.getLatestSnapshot();
    if (latest != null && latest.getIndex() >= index) {
      return latest.getIndex();
    }
    File file = snapshots.getSnapshotFile(term, index);
    File tmp = new File(file.getPath() + ".tmp");
    Topology current;
    synchronized (state) {
      current = state.snapshotTopology();
    }
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
    snapshots.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), TermIndex.valueOf(term, index)));
    return index;
  }

  @Override
  protected byte[] apply(long term, long index, ByteBuffer entry) throws IOException {
    ManagementCommand command = ManagementCommand.parseFrom(entry);
    ManagementResult result;
    synchronized (state) {
      result = state.apply(command, term);
      topology = state.topology();
    }
    markApplied(term, index);
    listener.accept(topology);
    return result.toByteArray();
  }

  @Override
  protected CompletableFuture<byte[]> answer(ByteBuffer request) {
    ManagementQuery query;
    try {
      query = ManagementQuery.parseFrom(request);
    } catch (InvalidProtocolBufferException e) {
      return CompletableFuture.failedFuture(e);
    }
    ManagementQueryReply.Builder reply = ManagementQueryReply.newBuilder();
    switch (query.getKindCase()) {
      case CLAIMED_WORKFLOW_ID -> {
        Integer index = state.claimedGroup(query.getClaimedWorkflowId());
        if (index != null) {
          reply.setFound(true).setGroupIndex(index);
        }
      }
      case KIND_NOT_SET -> {}
    }
    return CompletableFuture.completedFuture(reply.build().toByteArray());
  }

  @Override
  protected void leaderChanged(long node) {
    leaderListener.run();
  }
}
