package io.raftoral.raft;

import io.raftoral.storage.CheckpointSnapshots;
import io.raftoral.storage.CheckpointSnapshots.Snapshot;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.impl.FileListSnapshotInfo;

/**
 * An execution group's {@link CheckpointSnapshots} as Ratis sees them: Ratis reads the newest
 * snapshot's position (where to replay the log from) and asks to delete old snapshots after
 * taking a new one. Followers fetch the files out of band ({@link SnapshotFetcher}).
 */
final class CheckpointSnapshotStorage implements StateMachineStorage {
  private final CheckpointSnapshots files = new CheckpointSnapshots();
  // The newest snapshot and what Ratis was told about it, replaced together.
  private final AtomicReference<Latest> latest = new AtomicReference<>(new Latest(null, null));

  private record Latest(Snapshot snapshot, FileListSnapshotInfo info) {}

  @Override
  public void init(RaftStorage storage) throws IOException {
    files.init(storage.getStorageDir().getStateMachineDir().toPath());
    publish(files.latest());
  }

  @Override
  public FileListSnapshotInfo getLatestSnapshot() {
    return latest.get().info();
  }

  /** The newest snapshot, or null. */
  Snapshot latest() {
    return latest.get().snapshot();
  }

  /** The state machine directory the snapshots live in. */
  Path directory() {
    return files.directory();
  }

  @Override
  public void format() {}

  /** Re-reads the directory (after Ratis installed a snapshot into it). */
  Snapshot refresh() throws IOException {
    return publish(files.refresh());
  }

  /** Writes a snapshot at (term, index); see {@link CheckpointSnapshots#create}. */
  Snapshot create(long term, long index, CheckpointSnapshots.CheckpointWriter writer) throws IOException {
    return publish(files.create(term, index, writer));
  }

  /** Every complete snapshot, newest first. */
  java.util.List<Snapshot> all() throws IOException {
    return files.all();
  }

  /** See {@link CheckpointSnapshots#hold}. */
  void hold(Path directory, long holder, java.time.Duration ttl) {
    files.hold(directory, holder, ttl);
  }

  /** See {@link CheckpointSnapshots#release}. */
  void release(Path directory, long holder) {
    files.release(directory, holder);
  }

  /** See {@link CheckpointSnapshots#installFetched}; Ratis learns of it when it reloads the state machine ({@link #refresh}). */
  void installFetched(io.raftoral.storage.IncomingSnapshot staged, long term, long index) throws IOException {
    files.installFetched(staged, term, index);
  }

  @Override
  public void cleanupOldSnapshots(SnapshotRetentionPolicy policy) throws IOException {
    files.cleanup(policy == null ? 2 : policy.getNumSnapshotsRetained());
    publish(files.latest());
  }

  private Snapshot publish(Snapshot s) {
    FileListSnapshotInfo info = s == null ? null
        : new FileListSnapshotInfo(s.files().stream().map(p -> new FileInfo(p, null)).toList(), TermIndex.valueOf(s.term(), s.index()));
    latest.set(new Latest(s, info));
    return s;
  }
}
