package io.raftoral.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The staging of a snapshot fetched from peers, on real files: what a transfer that stopped
 * finds again when it reopens the same snapshot (the journaled, synced prefix of each file and
 * never more than the disk holds), what it refuses, and what it cleans up.
 */
class IncomingSnapshotTest {
  private static final String ID = "3_120-0badcafe";

  @TempDir Path sm;

  private final byte[] a = bytes(1, 100);
  private final byte[] b = bytes(2, 50);
  private final List<SnapshotFile> manifest = List.of(entry("a.sst", a), entry("b.sst", b), entry("empty", new byte[0]));

  @Test
  void aReopenedStagingResumesFromExactlyTheJournaledOffsets() throws IOException {
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.resumedBytes()).isZero();
      assertThat(in.directory()).isEqualTo(sm.resolve("incoming." + ID));
      write(in, "a.sst", a, 0, 60);
      in.synced("a.sst", 60);
      write(in, "a.sst", a, 60, 80); // written, never journaled: fetched again
      write(in, "b.sst", b, 0, 50);
      in.synced("b.sst", 50);
      assertThat(in.good("a.sst")).isEqualTo(60);
    }
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.good("a.sst")).isEqualTo(60);
      assertThat(in.good("b.sst")).isEqualTo(50);
      assertThat(in.good("empty")).isZero();
      assertThat(in.resumedBytes()).isEqualTo(110);
      assertThat(in.files()).isEqualTo(manifest);
      write(in, "a.sst", a, 60, 100);
      in.synced("a.sst", 100);
      assertThat(in.check("a.sst")).isTrue();
      assertThat(in.check("b.sst")).isTrue();
      assertThat(in.check("empty")).as("a zero-byte file matches once created").isTrue();
    }
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.resumedBytes()).isEqualTo(150);
    }
  }

  @Test
  void aTornJournalTailIsIgnoredAndLaterAppendsStillCountAfterReopen() throws IOException {
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      write(in, "a.sst", a, 0, 100);
      in.synced("a.sst", 40);
    }
    Path journal = sm.resolve("incoming." + ID + ".journal");
    // A crash mid-append: half a record, no checksum, no newline.
    Files.write(journal, "a.sst 9".getBytes(StandardCharsets.ISO_8859_1), StandardOpenOption.APPEND);
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.good("a.sst")).isEqualTo(40);
      in.synced("a.sst", 70); // appended after the rewritten journal, not after the torn line
    }
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.good("a.sst")).isEqualTo(70);
      in.synced("b.sst", 0);
    }

    // A garbled line (a bit flipped on disk) ends what counts: that record and every later one.
    List<String> lines = Files.readAllLines(journal, StandardCharsets.ISO_8859_1);
    assertThat(lines).hasSizeGreaterThanOrEqualTo(3);
    int aLine = lines.indexOf(lines.stream().filter(l -> l.startsWith("a.sst ")).findFirst().orElseThrow());
    lines.set(aLine, lines.get(aLine).replace("a.sst 70", "a.sst 90"));
    Files.write(journal, lines, StandardCharsets.ISO_8859_1);
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.good("a.sst")).isZero();
      in.synced("a.sst", 30);
    }
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.good("a.sst")).isEqualTo(30);
    }

    // Bytes that are no text at all (not even valid UTF-8) are a torn tail like any other.
    Files.write(journal, new byte[] {(byte) 0xff, (byte) 0xfe, 0, '\n'}, StandardOpenOption.APPEND);
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.good("a.sst")).isEqualTo(30);
    }
  }

  @Test
  void theJournalOfAnotherSnapshotIsIgnored() throws IOException {
    String other = "3_120-12345678";
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, other, manifest)) {
      write(in, "a.sst", a, 0, 100);
      in.synced("a.sst", 100);
    }
    // The other snapshot's staging under this one's name (same file names, other bytes maybe).
    Files.move(sm.resolve("incoming." + other), sm.resolve("incoming." + ID));
    Files.move(sm.resolve("incoming." + other + ".journal"), sm.resolve("incoming." + ID + ".journal"));
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.good("a.sst")).isZero();
      assertThat(in.resumedBytes()).isZero();
    }
  }

  @Test
  void aFileShorterOnDiskThanJournaledResumesFromTheDiskLength() throws IOException {
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      write(in, "a.sst", a, 0, 80);
      in.synced("a.sst", 80);
      write(in, "b.sst", b, 0, 50);
      in.synced("b.sst", 50);
    }
    try (FileChannel ch = FileChannel.open(sm.resolve("incoming." + ID).resolve("a.sst"), StandardOpenOption.WRITE)) {
      ch.truncate(30);
    }
    Files.delete(sm.resolve("incoming." + ID).resolve("b.sst"));
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.good("a.sst")).isEqualTo(30);
      assertThat(in.good("b.sst")).isZero();
      assertThat(in.resumedBytes()).isEqualTo(30);
    }
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.good("a.sst")).as("the shorter offset is what the rewritten journal says").isEqualTo(30);
    }
  }

  @Test
  void aJournaledOffsetOutsideTheFileIsClampedIntoIt() throws IOException {
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      write(in, "a.sst", a, 0, 100);
      in.synced("a.sst", 100);
      write(in, "b.sst", b, 0, 50);
      in.synced("b.sst", 50);
    }
    // Records with valid checksums but offsets no transfer of ours writes.
    Files.write(sm.resolve("incoming." + ID + ".journal"),
        List.of(line("snapshot " + ID), line("a.sst " + Long.MAX_VALUE), line("b.sst -20")), StandardCharsets.UTF_8);
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.good("a.sst")).isEqualTo(100);
      assertThat(in.good("b.sst")).isZero();
      assertThat(in.resumedBytes()).isEqualTo(100);
    }
  }

  @Test
  void checkFindsAFlippedByteAndEmptiesTheFileForGood() throws IOException {
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      write(in, "a.sst", a, 0, 100);
      in.synced("a.sst", 100);
      write(in, "b.sst", b, 0, 50);
      in.synced("b.sst", 50);
    }
    Path staged = sm.resolve("incoming." + ID).resolve("a.sst");
    byte[] onDisk = Files.readAllBytes(staged);
    onDisk[57] ^= 0x01;
    Files.write(staged, onDisk);
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.good("a.sst")).as("the journal cannot know").isEqualTo(100);
      assertThat(in.check("a.sst")).isFalse();
      assertThat(in.good("a.sst")).isZero();
      assertThat(Files.size(staged)).isZero();
      assertThat(in.check("b.sst")).isTrue();
      assertThat(in.good("b.sst")).isEqualTo(50);
    }
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.good("a.sst")).isZero();
      assertThat(in.resumedBytes()).isEqualTo(50);
      // Fetched again, it counts.
      write(in, "a.sst", a, 0, 100);
      in.synced("a.sst", 100);
      assertThat(in.check("a.sst")).isTrue();
    }
  }

  @Test
  void checkResetsAFileLongerOrShorterThanTheManifest() throws IOException {
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      write(in, "a.sst", a, 0, 99);
      in.synced("a.sst", 99);
      assertThat(in.check("a.sst")).isFalse();
      assertThat(in.good("a.sst")).isZero();
    }
    Files.write(sm.resolve("incoming." + ID).resolve("b.sst"), bytes(2, 51)); // the right bytes and one more
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.check("b.sst")).isFalse();
      assertThat(Files.size(sm.resolve("incoming." + ID).resolve("b.sst"))).isZero();
    }
  }

  @Test
  void openingOneSnapshotDiscardsEveryOtherStaging() throws IOException {
    String other = "3_100-11111111";
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, other, manifest)) {
      write(in, "a.sst", a, 0, 100);
      in.synced("a.sst", 100);
    }
    Files.createDirectories(sm.resolve("snapshot.3_100"));
    Files.writeString(sm.resolve("snapshot.3_100").resolve("x"), "kept");
    Files.writeString(sm.resolve("unrelated"), "kept");
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      write(in, "b.sst", b, 0, 50);
      in.synced("b.sst", 50);
    }
    assertThat(names(sm)).containsExactlyInAnyOrder("incoming." + ID, "incoming." + ID + ".journal", "snapshot.3_100", "unrelated");
  }

  @Test
  void discardOthersKeepsOnlyTheNamedStaging() throws IOException {
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      write(in, "b.sst", b, 0, 50);
      in.synced("b.sst", 50);
    }
    Files.createDirectories(sm.resolve("incoming.1_1-aaaaaaaa"));
    Files.writeString(sm.resolve("incoming.1_1-aaaaaaaa").resolve("a.sst"), "old");
    Files.writeString(sm.resolve("incoming.1_1-aaaaaaaa.journal"), "old");
    Files.writeString(sm.resolve("incoming.1_1-bbbbbbbb.journal"), "a journal whose staging is gone");
    Files.createDirectories(sm.resolve("snapshot.1_1"));

    IncomingSnapshot.discardOthers(sm, "incoming." + ID);
    assertThat(names(sm)).containsExactlyInAnyOrder("incoming." + ID, "incoming." + ID + ".journal", "snapshot.1_1");
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThat(in.good("b.sst")).isEqualTo(50);
    }

    IncomingSnapshot.discardOthers(sm, null);
    assertThat(names(sm)).containsExactly("snapshot.1_1");
    IncomingSnapshot.discardOthers(sm.resolve("missing"), null); // nothing to do
  }

  @Test
  void discardDeletesTheStagingAndItsJournal() throws IOException {
    IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest);
    write(in, "a.sst", a, 0, 10);
    in.synced("a.sst", 10);
    in.discard();
    assertThat(names(sm)).isEmpty();
  }

  @Test
  void moveFilesToMovesEachFileInTheOrderGivenAndForgetsTheStaging() throws IOException {
    Path target = Files.createDirectories(sm.resolve("target"));
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      write(in, "a.sst", a, 0, 100);
      in.synced("a.sst", 100);
      write(in, "b.sst", b, 0, 50);
      in.synced("b.sst", 50);
      in.moveFilesTo(target, List.of("b.sst", "a.sst"));
    }
    assertThat(Files.readAllBytes(target.resolve("a.sst"))).isEqualTo(a);
    assertThat(Files.readAllBytes(target.resolve("b.sst"))).isEqualTo(b);
    assertThat(names(sm)).containsExactly("target");
  }

  @Test
  void badSnapshotIdsAreRefusedAndNothingIsCreated() {
    for (String id : List.of("", "..", ".", "a/b", "a\\b", "../snapshot.1_1", "a\nb", "a\u0000b", "a.b", "a b", "ü")) {
      assertThatThrownBy(() -> IncomingSnapshot.open(sm, id, manifest)).as(id).isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(names(sm)).isEmpty();
  }

  @Test
  void badFileNamesAreRefused() {
    for (String name : List.of("", ".", "..", "a/b", "/a", "a\\b", "..\\a", "a\nb", "a\rb", "a\u0000b", "\t")) {
      assertThatThrownBy(() -> new SnapshotFile(name, 1, 0)).as(name).isInstanceOf(IllegalArgumentException.class);
    }
    assertThatThrownBy(() -> new SnapshotFile("a", -1, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aManifestNamingOneFileTwiceIsRefused() {
    List<SnapshotFile> twice = List.of(entry("a.sst", a), entry("a.sst", b));
    assertThatThrownBy(() -> IncomingSnapshot.open(sm, ID, twice)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("a.sst");
  }

  @Test
  void writesAndSyncsOutsideAFileAreRefused() throws IOException {
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, manifest)) {
      assertThatThrownBy(() -> in.write("a.sst", -1, ByteBuffer.wrap(new byte[1]))).hasMessageContaining("outside");
      assertThatThrownBy(() -> in.write("a.sst", 99, ByteBuffer.wrap(new byte[2]))).hasMessageContaining("outside");
      assertThatThrownBy(() -> in.write("a.sst", 101, ByteBuffer.wrap(new byte[0]))).hasMessageContaining("outside");
      // offset + length overflows a long: still outside
      assertThatThrownBy(() -> in.write("a.sst", Long.MAX_VALUE, ByteBuffer.wrap(new byte[1]))).hasMessageContaining("outside");
      assertThatThrownBy(() -> in.write("a.sst", Long.MAX_VALUE - 1, ByteBuffer.wrap(new byte[4]))).hasMessageContaining("outside");
      assertThatThrownBy(() -> in.write("empty", 0, ByteBuffer.wrap(new byte[1]))).hasMessageContaining("outside");
      assertThatThrownBy(() -> in.write("nope", 0, ByteBuffer.wrap(new byte[1]))).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> in.synced("a.sst", 101)).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> in.synced("a.sst", -1)).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> in.synced("nope", 0)).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> in.good("nope")).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> in.check("nope")).isInstanceOf(IllegalArgumentException.class);

      in.write("a.sst", 100, ByteBuffer.wrap(new byte[0])); // the empty range at the end is inside
      write(in, "a.sst", a, 90, 100);
      Path file = in.directory().resolve("a.sst");
      assertThat(Files.size(file)).as("nothing was written past the file").isEqualTo(100);
      assertThat(in.good("a.sst")).isZero();
    }
  }

  @Test
  void aZeroFileSnapshotStagesNothing() throws IOException {
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, List.of())) {
      assertThat(in.files()).isEmpty();
      assertThat(in.resumedBytes()).isZero();
      in.syncAll();
    }
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, List.of())) {
      assertThat(in.resumedBytes()).isZero();
      assertThat(names(in.directory())).isEmpty();
    }
  }

  @Test
  void oddFileNamesResumeLikeAnyOther() throws IOException {
    byte[] c = bytes(3, 10);
    // Spaces and digits (the journal separates the offset by a space), a name equal to the
    // journal's, a leading dot, and letters outside Latin-1.
    List<String> odd = List.of("x 5", "trailing ", " 7", "incoming." + ID + ".journal", "..a", ".hidden", "файл-数据", "e\u0301", "a:b");
    List<SnapshotFile> files = odd.stream().map(n -> entry(n, c)).toList();
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, files)) {
      for (int i = 0; i < odd.size(); i++) {
        write(in, odd.get(i), c, 0, 10);
        in.synced(odd.get(i), i + 1);
      }
    }
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, ID, files)) {
      for (int i = 0; i < odd.size(); i++) {
        assertThat(in.good(odd.get(i))).as(odd.get(i)).isEqualTo(i + 1);
      }
      for (String n : odd) {
        write(in, n, c, 0, 10);
        in.synced(n, 10);
        assertThat(in.check(n)).as(n).isTrue();
      }
      assertThat(names(in.directory())).containsExactlyInAnyOrderElementsOf(odd);
    }
    assertThat(Files.isRegularFile(sm.resolve("incoming." + ID + ".journal"))).isTrue();
  }

  @Test
  void theIdsSnapshotFileMakesAreAcceptedAsStagingIds() throws IOException {
    String id = SnapshotFile.snapshotId(Long.MAX_VALUE, Long.MAX_VALUE, manifest);
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, id, manifest)) {
      assertThat(in.snapshotId()).isEqualTo(id);
    }
    String none = SnapshotFile.snapshotId(0, 0, List.of());
    try (IncomingSnapshot in = IncomingSnapshot.open(sm, none, List.of())) {
      assertThat(in.snapshotId()).isEqualTo(none);
    }
  }

  // --- helpers ---

  static byte[] bytes(long seed, int n) {
    byte[] out = new byte[n];
    new Random(seed).nextBytes(out);
    return out;
  }

  static SnapshotFile entry(String name, byte[] content) {
    CRC32C crc = new CRC32C();
    crc.update(content);
    return new SnapshotFile(name, content.length, (int) crc.getValue());
  }

  private static void write(IncomingSnapshot in, String name, byte[] content, int from, int to) throws IOException {
    in.write(name, from, ByteBuffer.wrap(Arrays.copyOfRange(content, from, to)));
  }

  /** A journal line as the staging writes it: the record, a space, the CRC32C of the record's bytes. */
  private static String line(String record) {
    CRC32C crc = new CRC32C();
    crc.update(record.getBytes(StandardCharsets.UTF_8));
    return record + " " + String.format("%08x", (int) crc.getValue());
  }

  static List<String> names(Path dir) {
    try (Stream<Path> entries = Files.list(dir)) {
      return entries.map(p -> p.getFileName().toString()).toList();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
