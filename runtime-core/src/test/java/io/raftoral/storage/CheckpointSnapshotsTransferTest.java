package io.raftoral.storage;

import static io.raftoral.storage.IncomingSnapshotTest.bytes;
import static io.raftoral.storage.IncomingSnapshotTest.names;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.storage.CheckpointSnapshots.Snapshot;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a replica's snapshot directory offers to peers fetching a snapshot (its manifest and
 * id, holds that survive cleanup) and how a fetched snapshot becomes this replica's newest:
 * checked, then renamed in one step, so neither a bad staging nor a crash in between ever
 * shows as a snapshot.
 */
class CheckpointSnapshotsTransferTest {
  @TempDir Path root;

  private CheckpointSnapshots source;
  private CheckpointSnapshots replica;

  private CheckpointSnapshots open(String name) throws IOException {
    CheckpointSnapshots s = new CheckpointSnapshots();
    s.init(root.resolve(name));
    return s;
  }

  /** A snapshot of plain files (the snapshot code treats a RocksDB checkpoint as just that). */
  private static Snapshot take(CheckpointSnapshots in, long term, long index, Map<String, byte[]> files) throws IOException {
    return in.create(term, index, dir -> {
      Files.createDirectories(dir);
      for (Map.Entry<String, byte[]> f : files.entrySet()) {
        Files.write(dir.resolve(f.getKey()), f.getValue());
      }
    });
  }

  private static Map<String, byte[]> db(long seed) {
    return Map.of("000012.sst", bytes(seed, 5000), "CURRENT", ("MANIFEST-" + seed + "\n").getBytes(), "MANIFEST-000001",
        bytes(seed + 1, 300), "OPTIONS-000007", new byte[0]);
  }

  /** Stages {@code snapshot} in {@code into} as a transfer does: every file written, journaled and checked. */
  private static IncomingSnapshot stage(Snapshot snapshot, CheckpointSnapshots into) throws IOException {
    List<SnapshotFile> manifest = CheckpointSnapshots.manifest(snapshot);
    String id = SnapshotFile.snapshotId(snapshot.term(), snapshot.index(), manifest);
    IncomingSnapshot in = IncomingSnapshot.open(into.directory(), id, manifest);
    for (SnapshotFile f : manifest) {
      byte[] content = Files.readAllBytes(snapshot.directory().resolve(f.name()));
      in.write(f.name(), 0, ByteBuffer.wrap(content));
      in.synced(f.name(), content.length);
      assertThat(in.check(f.name())).as(f.name()).isTrue();
    }
    return in;
  }

  @Test
  void theManifestListsEveryFileAsItIsOnDiskTheMetadataLast() throws IOException {
    source = open("a");
    Snapshot s = take(source, 2, 40, db(1));
    List<SnapshotFile> manifest = CheckpointSnapshots.manifest(s);
    List<SnapshotFile> onDisk = new ArrayList<>();
    for (Path f : s.files()) {
      onDisk.add(SnapshotFile.of(f));
    }
    assertThat(manifest).containsExactlyInAnyOrderElementsOf(onDisk);
    assertThat(manifest).extracting(SnapshotFile::name).containsExactly("000012.sst", "CURRENT", "MANIFEST-000001",
        "OPTIONS-000007", CheckpointSnapshots.META);
    assertThat(manifest.get(3).size()).isZero();
  }

  @Test
  void theManifestOfASnapshotWithoutDatabaseFilesIsItsMetadata() throws IOException {
    source = open("a");
    Snapshot s = take(source, 1, 1, Map.of());
    assertThat(CheckpointSnapshots.manifest(s)).containsExactly(SnapshotFile.of(s.directory().resolve(CheckpointSnapshots.META)));
    CheckpointSnapshots.verify(s);
  }

  @Test
  void theSnapshotIdChangesWhenAnyFileOrThePositionChanges() throws IOException {
    source = open("a");
    List<SnapshotFile> manifest = CheckpointSnapshots.manifest(take(source, 2, 40, db(1)));
    String id = SnapshotFile.snapshotId(2, 40, manifest);
    assertThat(SnapshotFile.snapshotId(2, 40, List.copyOf(manifest))).isEqualTo(id);
    assertThat(SnapshotFile.snapshotId(3, 40, manifest)).isNotEqualTo(id);
    assertThat(SnapshotFile.snapshotId(2, 41, manifest)).isNotEqualTo(id);
    for (int i = 0; i < manifest.size(); i++) {
      SnapshotFile f = manifest.get(i);
      for (SnapshotFile changed : List.of(new SnapshotFile(f.name() + "x", f.size(), f.crc32c()),
          new SnapshotFile(f.name(), f.size() + 1, f.crc32c()), new SnapshotFile(f.name(), f.size(), f.crc32c() ^ 1))) {
        List<SnapshotFile> other = new ArrayList<>(manifest);
        other.set(i, changed);
        assertThat(SnapshotFile.snapshotId(2, 40, other)).as(changed.toString()).isNotEqualTo(id);
      }
      List<SnapshotFile> without = new ArrayList<>(manifest);
      without.remove(i);
      assertThat(SnapshotFile.snapshotId(2, 40, without)).isNotEqualTo(id);
    }

    // The same files at the same position with one byte of one file different: another snapshot.
    Map<String, byte[]> files = new java.util.HashMap<>(db(1));
    byte[] sst = files.get("000012.sst").clone();
    sst[1234] ^= 0x40;
    files.put("000012.sst", sst);
    CheckpointSnapshots other = open("b");
    List<SnapshotFile> otherManifest = CheckpointSnapshots.manifest(take(other, 2, 40, files));
    assertThat(SnapshotFile.snapshotId(2, 40, otherManifest)).isNotEqualTo(id);
  }

  @Test
  void allListsOnlyCompleteSnapshotsNewestFirst() throws IOException {
    source = open("a");
    take(source, 1, 10, db(1));
    take(source, 2, 30, db(2));
    take(source, 1, 20, db(3));
    Files.createDirectories(source.directory().resolve("snapshot.3_40.tmp")); // create() died before the rename
    Files.createDirectories(source.directory().resolve("incoming.3_50-00000000")); // a transfer under way
    // cleanup() died deleting an old one: children first, so the metadata (sorted last) went first.
    Path dying = source.directory().resolve("snapshot.1_10");
    Files.delete(dying.resolve(CheckpointSnapshots.META));
    Files.delete(dying.resolve("OPTIONS-000007"));
    Files.createDirectories(source.directory().resolve("snapshot.1_5")); // ... and emptied this one
    assertThat(source.all()).extracting(Snapshot::index).containsExactly(30L, 20L);
    for (Snapshot s : source.all()) {
      assertThat(CheckpointSnapshots.manifest(s)).isNotEmpty();
    }
    assertThat(source.refresh().index()).isEqualTo(30);
  }

  @Test
  void aSnapshotMissingAFileItsMetadataListsHasNoManifest() throws IOException {
    source = open("a");
    take(source, 1, 10, db(1));
    Snapshot s = source.latest();
    Files.delete(s.directory().resolve("MANIFEST-000001"));
    Snapshot listed = source.all().getFirst();
    // Offered, a peer would fetch it whole and then never pass verify: not offered at all.
    assertThatThrownBy(() -> CheckpointSnapshots.manifest(listed)).isInstanceOf(CorruptStateException.class)
        .hasMessageContaining("3 database files");
  }

  @Test
  void garbledMetadataIsACorruptSnapshotNotACrash() throws IOException {
    source = open("a");
    for (String garbled : List.of("file.CURRENT=12:zz", "file.CURRENT=x:0", "files=two", "term=\\uZZZZ")) {
      Snapshot s = take(source, 1, 10, db(1));
      Path meta = s.directory().resolve(CheckpointSnapshots.META);
      String text = Files.readString(meta);
      String key = garbled.substring(0, garbled.indexOf('='));
      String replaced = text.replaceAll("(?m)^" + java.util.regex.Pattern.quote(key) + "=.*$",
          java.util.regex.Matcher.quoteReplacement(garbled));
      assertThat(replaced).as(garbled).isNotEqualTo(text);
      Files.writeString(meta, replaced);
      assertThatThrownBy(() -> CheckpointSnapshots.verify(s)).as(garbled).isInstanceOf(CorruptStateException.class);
      assertThatThrownBy(() -> CheckpointSnapshots.manifest(s)).as(garbled).isInstanceOf(CorruptStateException.class);
      Directories.deleteRecursively(s.directory());
    }
  }

  @Test
  void cleanupLeavesEveryFileOfATransferUnderWay() throws IOException {
    source = open("a");
    take(source, 1, 10, db(1));
    Path sm = source.directory();
    String id = "4_90-0000abcd";
    Files.createDirectories(sm.resolve("incoming." + id));
    Files.writeString(sm.resolve("incoming." + id).resolve("x.tmp"), "staged");
    Files.writeString(sm.resolve("incoming." + id + ".journal"), "journal");
    // The staging rewrites its journal through this file while Ratis may clean up on its own thread.
    Files.writeString(sm.resolve("incoming." + id + ".journal.tmp"), "journal being rewritten");
    Files.createDirectories(sm.resolve("snapshot.1_20.tmp")); // an unfinished create(): that goes
    source.cleanup(1);
    assertThat(names(sm)).containsExactlyInAnyOrder("snapshot.1_10", "incoming." + id, "incoming." + id + ".journal",
        "incoming." + id + ".journal.tmp");
    assertThat(names(sm.resolve("incoming." + id))).containsExactly("x.tmp");
  }

  @Test
  void aHeldSnapshotSurvivesCleanupUntilReleased() throws IOException {
    source = open("a");
    Snapshot old = take(source, 1, 10, db(1));
    take(source, 1, 20, db(2));
    source.hold(old.directory(), 7, Duration.ofHours(1));
    source.cleanup(1);
    assertThat(source.all()).extracting(Snapshot::index).containsExactly(20L, 10L);
    CheckpointSnapshots.verify(source.all().get(1));
    assertThat(source.latest().index()).isEqualTo(20);

    source.release(old.directory(), 7);
    source.cleanup(1);
    assertThat(source.all()).extracting(Snapshot::index).containsExactly(20L);
    source.release(old.directory(), 7); // releasing what is gone does nothing
  }

  @Test
  void oneHoldersReleaseLeavesAnotherHoldersHold() throws IOException {
    source = open("a");
    Snapshot old = take(source, 1, 10, db(1));
    take(source, 1, 20, db(2));
    source.hold(old.directory(), 7, Duration.ofHours(1));
    source.hold(old.directory(), 8, Duration.ofHours(1));
    source.release(old.directory(), 7);
    source.cleanup(1);
    assertThat(source.all()).extracting(Snapshot::index).as("peer 8 still fetches it").containsExactly(20L, 10L);
    source.release(old.directory(), 8);
    source.cleanup(1);
    assertThat(source.all()).extracting(Snapshot::index).containsExactly(20L);
  }

  @Test
  void aHoldEndsWhenItsTtlPasses() throws Exception {
    source = open("a");
    Snapshot old = take(source, 1, 10, db(1));
    take(source, 1, 20, db(2));
    source.hold(old.directory(), 7, Duration.ofHours(1));
    source.hold(old.directory(), 7, Duration.ofMillis(1)); // every hold renews it: this one ends soon
    Thread.sleep(20);
    source.cleanup(1);
    assertThat(source.all()).extracting(Snapshot::index).containsExactly(20L);
  }

  @Test
  void theNewestSnapshotIsKeptWhetherHeldOrNot() throws IOException {
    source = open("a");
    Snapshot only = take(source, 1, 10, db(1));
    source.hold(only.directory(), 7, Duration.ofMillis(0));
    source.cleanup(0);
    assertThat(source.all()).extracting(Snapshot::index).containsExactly(10L);
  }

  @Test
  void holdsRenewedAndReleasedOnOtherThreadsNeverLetCleanupDropAHeldSnapshot() throws Exception {
    source = open("a");
    Snapshot held = take(source, 1, 10, db(1));
    List<Snapshot> churned = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      churned.add(take(source, 1, 11 + i, db(2 + i)));
    }
    source.hold(held.directory(), 7, Duration.ofHours(1));
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.ConcurrentLinkedQueue<Throwable> failures = new java.util.concurrent.ConcurrentLinkedQueue<>();
    List<Thread> peers = new ArrayList<>();
    for (int t = 0; t < 3; t++) {
      int seed = t;
      peers.add(Thread.ofPlatform().start(() -> {
        try {
          for (long n = 0; !stop.get(); n++) {
            Snapshot s = churned.get((int) ((n + seed) % churned.size()));
            source.hold(s.directory(), 7, Duration.ofMillis(n % 3)); // some expire at once
            source.hold(held.directory(), 7, Duration.ofHours(1)); // renewed meanwhile
            source.release(s.directory(), 7);
          }
        } catch (Throwable e) {
          failures.add(e);
        }
      }));
    }
    try {
      for (int i = 0; i < 200; i++) {
        source.cleanup(1);
        assertThat(Files.isRegularFile(held.directory().resolve(CheckpointSnapshots.META))).as("cleanup " + i).isTrue();
      }
    } finally {
      stop.set(true);
      for (Thread t : peers) {
        t.join();
      }
    }
    assertThat(failures).isEmpty();
    CheckpointSnapshots.verify(source.all().getLast());
    assertThat(source.all()).extracting(Snapshot::index).contains(10L, 14L);
  }

  @Test
  void aFetchedSnapshotIsInstalledWholeAndTheStagingIsGone() throws IOException {
    source = open("a");
    Snapshot fetched = take(source, 4, 90, db(7));
    replica = open("b");
    Snapshot own = take(replica, 2, 50, db(8));

    try (IncomingSnapshot staged = stage(fetched, replica)) {
      replica.installFetched(staged, 4, 90);
    }
    assertThat(replica.latest().index()).as("installing does not refresh").isEqualTo(50);
    Snapshot installed = replica.refresh();
    assertThat(installed.term()).isEqualTo(4);
    assertThat(installed.index()).isEqualTo(90);
    assertThat(installed.directory()).isEqualTo(replica.directory().resolve("snapshot.4_90").toAbsolutePath());
    CheckpointSnapshots.verify(installed);
    assertThat(CheckpointSnapshots.manifest(installed)).isEqualTo(CheckpointSnapshots.manifest(fetched));
    for (String name : fetched.databaseFiles()) {
      assertThat(installed.directory().resolve(name)).hasSameBinaryContentAs(fetched.directory().resolve(name));
    }
    assertThat(names(replica.directory())).containsExactlyInAnyOrder("snapshot.2_50", "snapshot.4_90");
    CheckpointSnapshots.verify(replica.all().get(1));
    assertThat(replica.all().get(1).files()).isEqualTo(own.files());
  }

  @Test
  void aStagingWithACorruptedFileIsNotInstalledAndTheOldSnapshotsStay() throws IOException {
    source = open("a");
    Snapshot fetched = take(source, 4, 90, db(7));
    replica = open("b");
    take(replica, 2, 50, db(8));
    List<SnapshotFile> manifest = CheckpointSnapshots.manifest(fetched);

    IncomingSnapshot staged = stage(fetched, replica);
    Path sst = staged.directory().resolve("000012.sst");
    byte[] bad = Files.readAllBytes(sst);
    bad[4000] ^= 0x10; // after the transfer checked it: the disk flipped a bit
    Files.write(sst, bad);
    assertThatThrownBy(() -> replica.installFetched(staged, 4, 90)).isInstanceOf(CorruptStateException.class)
        .hasMessageContaining("000012.sst");
    staged.close();

    assertThat(Files.exists(replica.directory().resolve("snapshot.4_90"))).isFalse();
    assertThat(replica.refresh().index()).isEqualTo(50);
    assertThat(replica.all()).hasSize(1);
    CheckpointSnapshots.verify(replica.latest());
    // The next transfer of it finds the bad file and fetches only that one again.
    try (IncomingSnapshot again = IncomingSnapshot.open(replica.directory(), staged.snapshotId(), manifest)) {
      assertThat(again.check("000012.sst")).isFalse();
      assertThat(again.resumedBytes()).isEqualTo(manifest.stream().mapToLong(SnapshotFile::size).sum());
      assertThat(again.check("CURRENT")).isTrue();
    }
  }

  @Test
  void aStagingWhoseMetadataNamesAnotherPositionIsRefused() throws IOException {
    source = open("a");
    Snapshot fetched = take(source, 4, 90, db(7));
    replica = open("b");
    try (IncomingSnapshot staged = stage(fetched, replica)) {
      assertThatThrownBy(() -> replica.installFetched(staged, 4, 91)).isInstanceOf(CorruptStateException.class);
      assertThatThrownBy(() -> replica.installFetched(staged, 5, 90)).isInstanceOf(CorruptStateException.class);
    }
    assertThat(replica.all()).isEmpty();
  }

  @Test
  void aStagingMissingAFileOrItsMetadataIsRefused() throws IOException {
    source = open("a");
    Snapshot fetched = take(source, 4, 90, db(7));
    replica = open("b");
    List<SnapshotFile> withoutSst = CheckpointSnapshots.manifest(fetched).stream().filter(f -> !f.name().endsWith(".sst")).toList();
    try (IncomingSnapshot staged = IncomingSnapshot.open(replica.directory(), "4_90-00000001", withoutSst)) {
      for (SnapshotFile f : withoutSst) {
        staged.write(f.name(), 0, ByteBuffer.wrap(Files.readAllBytes(fetched.directory().resolve(f.name()))));
      }
      assertThatThrownBy(() -> replica.installFetched(staged, 4, 90)).isInstanceOf(CorruptStateException.class);
    }
    try (IncomingSnapshot empty = IncomingSnapshot.open(replica.directory(), "4_90-00000002", List.of())) {
      assertThatThrownBy(() -> replica.installFetched(empty, 4, 90)).isInstanceOf(CorruptStateException.class);
    }
    assertThat(replica.all()).isEmpty();
  }

  @Test
  void installingWhatIsAlreadyThereDiscardsTheStaging() throws IOException {
    source = open("a");
    Snapshot fetched = take(source, 4, 90, db(7));
    replica = open("b");
    Snapshot own = take(replica, 4, 90, db(9)); // taken here meanwhile, or installed before a crash
    List<SnapshotFile> ownManifest = CheckpointSnapshots.manifest(own);
    try (IncomingSnapshot staged = stage(fetched, replica)) {
      replica.installFetched(staged, 4, 90);
    }
    assertThat(names(replica.directory())).containsExactly("snapshot.4_90");
    Snapshot after = replica.refresh();
    assertThat(CheckpointSnapshots.manifest(after)).isEqualTo(ownManifest);
    CheckpointSnapshots.verify(after);
  }

  @Test
  void aCrashBeforeTheRenameLeavesTheStagingToResumeAndNoHalfSnapshot() throws IOException {
    source = open("a");
    Snapshot fetched = take(source, 4, 90, db(7));
    replica = open("b");
    take(replica, 2, 50, db(8));
    List<SnapshotFile> manifest = CheckpointSnapshots.manifest(fetched);
    String id;
    try (IncomingSnapshot staged = stage(fetched, replica)) {
      id = staged.snapshotId();
    } // the node dies here, before installFetched
    Files.createDirectories(replica.directory().resolve("snapshot.3_70.tmp")); // and a create() it was doing

    CheckpointSnapshots restarted = new CheckpointSnapshots();
    restarted.init(root.resolve("b"));
    assertThat(restarted.latest().index()).isEqualTo(50);
    assertThat(restarted.all()).extracting(Snapshot::index).containsExactly(50L);
    restarted.cleanup(1);
    assertThat(names(restarted.directory())).containsExactlyInAnyOrder("snapshot.2_50", "incoming." + id, "incoming." + id + ".journal");

    try (IncomingSnapshot resumed = IncomingSnapshot.open(restarted.directory(), id, manifest)) {
      assertThat(resumed.resumedBytes()).isEqualTo(manifest.stream().mapToLong(SnapshotFile::size).sum());
      for (SnapshotFile f : manifest) {
        assertThat(resumed.check(f.name())).isTrue();
      }
      restarted.installFetched(resumed, 4, 90);
    }
    assertThat(restarted.refresh().index()).isEqualTo(90);
    CheckpointSnapshots.verify(restarted.latest());
  }

  @Test
  void aCrashAfterTheRenameLeavesTheWholeSnapshotAndAJournalThatResumesNothing() throws IOException {
    source = open("a");
    Snapshot fetched = take(source, 4, 90, db(7));
    replica = open("b");
    List<SnapshotFile> manifest = CheckpointSnapshots.manifest(fetched);
    String id;
    try (IncomingSnapshot staged = stage(fetched, replica)) {
      id = staged.snapshotId();
    }
    // What installFetched does up to the rename, then the node dies: the journal stays.
    Files.move(replica.directory().resolve("incoming." + id), replica.directory().resolve("snapshot.4_90"));

    CheckpointSnapshots restarted = new CheckpointSnapshots();
    restarted.init(root.resolve("b"));
    assertThat(restarted.latest().index()).isEqualTo(90);
    assertThatCode(() -> CheckpointSnapshots.verify(restarted.latest())).doesNotThrowAnyException();
    try (IncomingSnapshot again = IncomingSnapshot.open(restarted.directory(), id, manifest)) {
      assertThat(again.resumedBytes()).as("its files are gone from the staging").isZero();
      restarted.installFetched(again, 4, 90);
    }
    assertThat(names(restarted.directory())).containsExactly("snapshot.4_90");
  }
}
