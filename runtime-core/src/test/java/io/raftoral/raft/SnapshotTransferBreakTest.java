package io.raftoral.raft;

import static io.raftoral.raft.TestReplicas.checkpoint;
import static io.raftoral.raft.TestReplicas.owner;
import static io.raftoral.raft.TestReplicas.start;
import static io.raftoral.raft.TransferPeers.letters;
import static io.raftoral.raft.TransferPeers.reloaded;
import static io.raftoral.raft.TransferPeers.writeAndSnapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.raftoral.proto.transfer.Chunk;
import io.raftoral.proto.transfer.FetchRequest;
import io.raftoral.proto.transfer.FileEntry;
import io.raftoral.proto.transfer.ListReply;
import io.raftoral.proto.transfer.ListRequest;
import io.raftoral.proto.transfer.Manifest;
import io.raftoral.raft.SnapshotFetcher.Source;
import io.raftoral.raft.SnapshotFetcher.Stats;
import io.raftoral.raft.TestReplicas.Replica;
import io.raftoral.storage.SnapshotFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.thirdparty.io.grpc.CallOptions;
import org.apache.ratis.thirdparty.io.grpc.ClientCall;
import org.apache.ratis.thirdparty.io.grpc.ManagedChannel;
import org.apache.ratis.thirdparty.io.grpc.Metadata;
import org.apache.ratis.thirdparty.io.grpc.ServerServiceDefinition;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.apache.ratis.thirdparty.io.grpc.StatusRuntimeException;
import org.apache.ratis.thirdparty.io.grpc.netty.NettyChannelBuilder;
import org.apache.ratis.thirdparty.io.grpc.stub.ClientCalls;
import org.apache.ratis.thirdparty.io.grpc.stub.ServerCalls;
import org.apache.ratis.thirdparty.io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Out-of-band snapshot transfer against bad peers: a serving side asked for what it does not
 * have or more than it serves at once, and a fetching side fed a broken stream or manifest by a
 * fake source (the real method descriptors over a real socket). Every bad input ends the
 * attempt with a clear error, leaves nothing installed, and the server keeps serving.
 */
class SnapshotTransferBreakTest {
  private static final String FILE = "000001.sst";
  private static final byte[] DATA = "0123456789abcdefghijklmnopqrstuvwxyz".repeat(30).getBytes();

  @TempDir Path tmp;
  private final TransferPeers peers = new TransferPeers();
  private final List<ManagedChannel> channels = new ArrayList<>();

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    peers.close();
  }

  // --- the serving side ---

  @Test
  void badFetchRequestsGetTypedErrorsAndTheServerKeepsServing() throws Exception {
    try (TestReplicas replicas = new TestReplicas(tmp)) {
      Replica leader = replicas.replica("n1");
      writeAndSnapshot(leader, 1);
      Source source = peers.serve(1, leader, 1 << 10, 0);
      ManagedChannel ch = channel(source);
      Manifest m = list(ch, 0, leader.machine.group().uuid().toString()).getSnapshots(0);
      FileEntry f = m.getFilesList().stream().max(java.util.Comparator.comparingLong(FileEntry::getSize)).orElseThrow();
      String group = leader.machine.group().uuid().toString();
      FetchRequest good = FetchRequest.newBuilder().setGroupId(group).setSnapshotId(m.getSnapshotId()).setFile(f.getName()).build();

      assertThat(fetchStatus(ch, good.toBuilder().setOffset(-1).build())).isEqualTo(Status.Code.OUT_OF_RANGE);
      assertThat(fetchStatus(ch, good.toBuilder().setLength(-1).build())).isEqualTo(Status.Code.OUT_OF_RANGE);
      assertThat(fetchStatus(ch, good.toBuilder().setOffset(f.getSize() + 1).build())).isEqualTo(Status.Code.OUT_OF_RANGE);
      assertThat(fetchStatus(ch, good.toBuilder().setOffset(1).setLength(Long.MAX_VALUE).build())).isEqualTo(Status.Code.OUT_OF_RANGE);
      assertThat(fetchStatus(ch, good.toBuilder().setOffset(Long.MAX_VALUE).setLength(Long.MAX_VALUE).build()))
          .isEqualTo(Status.Code.OUT_OF_RANGE);
      assertThat(fetchStatus(ch, good.toBuilder().setGroupId("not-a-uuid").build())).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(fetchStatus(ch, good.toBuilder().setGroupId("00000000-0000-0000-0000-0000000000ff").build()))
          .isEqualTo(Status.Code.NOT_FOUND);
      assertThat(fetchStatus(ch, good.toBuilder().setSnapshotId("1_1-deadbeef").build())).isEqualTo(Status.Code.NOT_FOUND);
      assertThat(fetchStatus(ch, good.toBuilder().setSnapshotId("../../etc").build())).isEqualTo(Status.Code.NOT_FOUND);
      assertThat(fetchStatus(ch, good.toBuilder().setFile("../" + f.getName()).build())).isEqualTo(Status.Code.NOT_FOUND);
      assertThatThrownBy(() -> list(ch, 0, "not-a-uuid")).isInstanceOfSatisfying(StatusRuntimeException.class,
          e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));

      // Still serving: the whole file, then an exact tail.
      assertThat(fetchBytes(ch, good)).isEqualTo(f.getSize());
      assertThat(fetchBytes(ch, good.toBuilder().setOffset(f.getSize() - 10).setLength(10).build())).isEqualTo(10);
      assertThat(fetchBytes(ch, good.toBuilder().setOffset(f.getSize()).build())).isZero();
    }
  }

  @Test
  void moreThanMaxStreamsFetchesAreRefusedAndStalledReadersGiveTheirPermitsBackWhenTheyCancel() throws Exception {
    try (TestReplicas replicas = new TestReplicas(tmp)) {
      Replica leader = replicas.replica("n1");
      writeAndSnapshot(leader, 2);
      Source source = peers.serve(1, leader, 1 << 10, 1_000); // 1 KB/s: a stream lasts long past this test
      ManagedChannel ch = channel(source);
      Manifest m = list(ch, 0, leader.machine.group().uuid().toString()).getSnapshots(0);
      FileEntry f = m.getFilesList().stream().max(java.util.Comparator.comparingLong(FileEntry::getSize)).orElseThrow();
      FetchRequest req = FetchRequest.newBuilder().setGroupId(leader.machine.group().uuid().toString()).setSnapshotId(m.getSnapshotId())
          .setFile(f.getName()).build();

      List<ClientCall<FetchRequest, Chunk>> open = new ArrayList<>();
      List<LinkedBlockingQueue<Object>> arrivals = new ArrayList<>();
      for (int i = 0; i < SnapshotTransferService.MAX_STREAMS; i++) {
        LinkedBlockingQueue<Object> q = new LinkedBlockingQueue<>();
        open.add(startFetch(ch, req, q));
        arrivals.add(q);
      }
      for (LinkedBlockingQueue<Object> q : arrivals) {
        assertThat(q.poll(30, TimeUnit.SECONDS)).as("each admitted stream sends a chunk").isInstanceOf(Chunk.class);
      }
      assertThat(fetchStatus(ch, req)).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);

      open.forEach(c -> c.cancel("the reader goes away", null));
      // The cancelled senders notice and return their permits: a full fetch goes through again.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      Status.Code code;
      while ((code = fetchStatus(ch, req.toBuilder().setOffset(f.getSize() - 100).build())) != Status.Code.OK) {
        assertThat(code).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(System.nanoTime()).as("permits come back").isLessThan(deadline);
        Thread.sleep(20);
      }
      // All of them: MAX_STREAMS at once are admitted again.
      List<ClientCall<FetchRequest, Chunk>> again = new ArrayList<>();
      List<LinkedBlockingQueue<Object>> againArrivals = new ArrayList<>();
      for (int i = 0; i < SnapshotTransferService.MAX_STREAMS; i++) {
        LinkedBlockingQueue<Object> q = new LinkedBlockingQueue<>();
        again.add(startFetch(ch, req, q));
        againArrivals.add(q);
      }
      for (LinkedBlockingQueue<Object> q : againArrivals) {
        assertThat(q.poll(30, TimeUnit.SECONDS)).isInstanceOf(Chunk.class);
      }
      again.forEach(c -> c.cancel("done", null));
    }
  }

  @Test
  void aReaderThatStopsTakingChunksWithoutCancellingLosesItsStreamAndItsPermit() throws Exception {
    try (TestReplicas replicas = new TestReplicas(tmp)) {
      Replica leader = replicas.replica("n1");
      // One file of some MB: more than the reader's flow-control window, so the sender blocks on it.
      leader.apply(1, 1, owner(1));
      leader.apply(2, 1, start("wf"));
      java.util.Random random = new java.util.Random(1);
      long index = 2;
      for (int k = 0; k < 800; k++) {
        leader.apply(++index, 1, checkpoint("wf", "k" + k, 0, letters(random, 4096)));
      }
      assertThat(leader.machine.takeSnapshot()).isEqualTo(index);
      SnapshotTransferService service = new SnapshotTransferService(64 << 10, 0, java.time.Duration.ofSeconds(1));
      service.serve(group -> leader.machine, group -> true);
      Source served = peers.serve(1, service);
      ManagedChannel ch = channel(served);
      Manifest m = list(ch, 0, leader.machine.group().uuid().toString()).getSnapshots(0);
      FileEntry f = m.getFilesList().stream().max(java.util.Comparator.comparingLong(FileEntry::getSize)).orElseThrow();
      assertThat(f.getSize()).as("larger than a flow-control window").isGreaterThan(2L << 20);
      FetchRequest req = FetchRequest.newBuilder().setGroupId(leader.machine.group().uuid().toString()).setSnapshotId(m.getSnapshotId())
          .setFile(f.getName()).build();

      // Frozen readers: they take nothing and never cancel (a stopped process keeps its connection).
      List<LinkedBlockingQueue<Object>> frozen = new ArrayList<>();
      for (int i = 0; i < SnapshotTransferService.MAX_STREAMS; i++) {
        LinkedBlockingQueue<Object> q = new LinkedBlockingQueue<>();
        ClientCall<FetchRequest, Chunk> call = ch.newCall(SnapshotTransferService.FETCH, CallOptions.DEFAULT);
        call.start(new ClientCall.Listener<>() {
          @Override
          public void onClose(Status status, Metadata trailers) {
            q.add(status);
          }
        }, new Metadata());
        call.sendMessage(req);
        call.halfClose();
        frozen.add(q);
      }
      // Each frozen call holds a permit before anything else fetches (the calls above are
      // asynchronous: a fetch below could otherwise take a permit first and refuse one of them).
      long accepted = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (service.freeStreams() > 0) {
        assertThat(System.nanoTime()).as("the frozen readers' fetches are served").isLessThan(accepted);
        Thread.sleep(10);
      }
      // The server gives each of them up (their end waits behind the data they do not read, as
      // HTTP/2 orders it) and its permits come back: a whole file is served again, on another
      // connection (the frozen streams hold this one's window).
      ManagedChannel other = channel(served);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      Status.Code code;
      while ((code = fetchStatus(other, req)) != Status.Code.OK) {
        assertThat(code).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(System.nanoTime()).as("the stalled streams' permits come back").isLessThan(deadline);
        Thread.sleep(100);
      }
      assertThat(fetchBytes(other, req)).isEqualTo(f.getSize());
      assertThat(frozen).allSatisfy(q -> assertThat(q).as("a frozen reader hears nothing until it reads").isEmpty());
    }
  }

  // --- the fetching side, against a fake source ---

  @Test
  void aChunkOutOfOrderFailsTheTransferAndInstallsNothing() throws Exception {
    assertFetchFails(manifest(FILE, DATA), (req, out) -> {
      out.onNext(chunk(10, slice(10, 20)));
      out.onCompleted();
    }, "where [0, ...) was due");
  }

  @Test
  void anEmptyChunkFailsTheTransfer() throws Exception {
    assertFetchFails(manifest(FILE, DATA), (req, out) -> {
      out.onNext(chunk(req.getOffset(), new byte[0]));
      out.onCompleted();
    }, "where [0, ...) was due");
  }

  @Test
  void aChunkPastTheEndOfTheFileFailsTheTransfer() throws Exception {
    assertFetchFails(manifest(FILE, DATA), (req, out) -> {
      byte[] more = java.util.Arrays.copyOf(DATA, DATA.length + 5);
      out.onNext(chunk(0, more));
      out.onCompleted();
    }, "where [0, ...) was due");
  }

  @Test
  void aStreamEndingEarlyFailsTheTransfer() throws Exception {
    assertFetchFails(manifest(FILE, DATA), (req, out) -> {
      if (req.getOffset() == 0) {
        out.onNext(chunk(0, slice(0, 100)));
      }
      out.onCompleted();
    }, "ended " + FILE + " at byte 100");
  }

  @Test
  void aManifestWithAPathAsFileNameIsLeftOutAndNothingIsWrittenOutside() throws Exception {
    for (String name : List.of("../escaped", "a/b", "..", "evil\nname")) {
      Manifest bad = manifest(FILE, DATA).toBuilder().setFiles(0, FileEntry.newBuilder().setName(name).setSize(DATA.length)
          .setCrc32C(crc(DATA))).build();
      assertFetchFails(bad, (req, out) -> {
        out.onNext(chunk(0, DATA));
        out.onCompleted();
      }, "no peer holds a snapshot");
    }
    try (Stream<Path> all = Files.walk(tmp)) {
      assertThat(all.filter(p -> p.getFileName().toString().contains("escaped"))).isEmpty();
    }
  }

  @Test
  void aSnapshotIdWithOddCharactersIsLeftOut() throws Exception {
    assertFetchFails(manifest(FILE, DATA).toBuilder().setSnapshotId("../../1_5-x").build(), (req, out) -> {
      out.onNext(chunk(0, DATA));
      out.onCompleted();
    }, "no peer holds a snapshot");
  }

  @Test
  void aFileWhoseBytesNeverMatchTheManifestFailsTheTransfer() throws Exception {
    int wrong = crc(DATA) ^ 1;
    Manifest lying = manifest(FILE, DATA).toBuilder().setFiles(0, FileEntry.newBuilder().setName(FILE).setSize(DATA.length)
        .setCrc32C(wrong)).setSnapshotId(SnapshotFile.snapshotId(1, 5, List.of(new SnapshotFile(FILE, DATA.length, wrong)))).build();
    assertFetchFails(lying, (req, out) -> {
      out.onNext(chunk(req.getOffset(), slice((int) req.getOffset(), DATA.length)));
      out.onCompleted();
    }, "never matched its checksum");
  }

  @Test
  void aSourceWhoseChunksNeverMatchTheirChecksumFailsTheTransferInsteadOfLoopingForever() throws Exception {
    assertFetchFails(manifest(FILE, DATA), (req, out) -> {
      byte[] bytes = slice((int) req.getOffset(), DATA.length);
      out.onNext(Chunk.newBuilder().setOffset(req.getOffset()).setData(ByteString.copyFrom(bytes)).setCrc32C(crc(bytes) ^ 1).build());
      out.onCompleted();
    }, "in a row that do not match their checksum");
  }

  @Test
  void aMalformedNewerManifestFromOnePeerDoesNotKeepTheGoodSnapshotOfAnotherFromBeingInstalled() throws Exception {
    try (TestReplicas replicas = new TestReplicas(tmp)) {
      Replica leader = replicas.replica("n1");
      String digest = writeAndSnapshot(leader, 1);
      Replica follower = replicas.replica("n3");
      Source good = peers.serve(1, leader, 1 << 10, 0);
      List<Source> sources = new ArrayList<>();
      for (Manifest bad : List.of(
          // A path as a file name; an id that is no directory name; a total that is not the files' sum; an id
          // that does not name these files (all newer than the good snapshot).
          manifest(FILE, DATA, 1000).toBuilder().setFiles(0, FileEntry.newBuilder().setName("../x").setSize(1)).build(),
          manifest(FILE, DATA, 1001).toBuilder().setSnapshotId("1_1001/../x").build(),
          manifest(FILE, DATA, 1002).toBuilder().setTotalBytes(-5).build(),
          manifest(FILE, DATA, 1003).toBuilder().setSnapshotId("1_1003-00000000").build())) {
        sources.add(serveFake(bad, (req, out) -> out.onError(Status.NOT_FOUND.asRuntimeException())));
      }
      sources.add(good);
      try (SnapshotFetcher fetcher = new SnapshotFetcher(3)) {
        TermIndex at = fetcher.fetchFrom(follower.machine, sources, TermIndex.valueOf(1, 0)).get(60, TimeUnit.SECONDS);
        assertThat(at.getIndex()).isEqualTo(leader.machine.getStateMachineStorage().latest().index());
      }
      assertThat(reloaded(follower)).isEqualTo(digest);
    }
  }

  @Test
  void twoTransfersIntoOneReplicaAtOnceLeaveOneWholeSnapshotAndNoStaging() throws Exception {
    try (TestReplicas replicas = new TestReplicas(tmp)) {
      Replica leader = replicas.replica("n1");
      String digest = writeAndSnapshot(leader, 4);
      Replica follower = replicas.replica("n3");
      Source source = peers.serve(1, leader, 1 << 10, 0);
      try (SnapshotFetcher fetcher = new SnapshotFetcher(3)) {
        var a = fetcher.fetchFrom(follower.machine, List.of(source), TermIndex.valueOf(1, 0));
        var b = fetcher.fetchFrom(follower.machine, List.of(source), TermIndex.valueOf(1, 0));
        int installed = 0;
        for (var t : List.of(a, b)) {
          try {
            assertThat(t.get(60, TimeUnit.SECONDS).getIndex()).isEqualTo(leader.machine.getStateMachineStorage().latest().index());
            installed++;
          } catch (ExecutionException e) {
            // the other one installed it meanwhile
          }
        }
        assertThat(installed).isPositive();
      }
      Path sm = follower.storage.getStorageDir().getStateMachineDir().toPath();
      try (Stream<Path> entries = Files.list(sm)) {
        assertThat(entries.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("incoming."));
      }
      assertThat(reloaded(follower)).isEqualTo(digest);
    }
  }

  // --- resuming ---

  @Test
  void aTransferStoppedByClosingTheFetcherResumesFromItsJournal() throws Exception {
    try (TestReplicas replicas = new TestReplicas(tmp)) {
      Replica leader = replicas.replica("n1");
      String digest = writeAndSnapshot(leader, 4);
      Replica follower = replicas.replica("n3");
      Path sm = follower.storage.getStorageDir().getStateMachineDir().toPath();
      Source slow = peers.serve(1, leader, 1 << 10, 100_000);

      SnapshotFetcher first = new SnapshotFetcher(3);
      var stopped = first.fetchFrom(follower.machine, List.of(slow), TermIndex.valueOf(1, 0));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (journaledBytes(sm) == 0) {
        assertThat(System.nanoTime()).as("some bytes are journaled").isLessThan(deadline);
        assertThat(stopped).isNotDone();
        Thread.sleep(10);
      }
      first.close();
      assertThatThrownBy(() -> stopped.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
      long journaled = journaledBytes(sm);
      assertThat(journaled).isPositive();
      assertThat(follower.machine.getStateMachineStorage().latest()).as("nothing installed").isNull();

      Source fast = peers.serve(1, leader, 1 << 10, 0);
      Stats stats;
      try (SnapshotFetcher second = new SnapshotFetcher(3)) {
        second.fetchFrom(follower.machine, List.of(fast), TermIndex.valueOf(1, 0)).get(60, TimeUnit.SECONDS);
        stats = second.lastTransfer(follower.machine.group());
      }
      assertThat(stats.resumedBytes()).isGreaterThanOrEqualTo(journaled);
      assertThat(stats.fetchedBytes() + stats.resumedBytes()).isEqualTo(stats.totalBytes());
      assertThat(reloaded(follower)).isEqualTo(digest);
    }
  }

  // --- helpers ---

  /** Fetches {@code listed} from a fake source answering Fetch with {@code fetch}: the transfer fails with {@code message}. */
  private void assertFetchFails(Manifest listed, BiConsumer<FetchRequest, StreamObserver<Chunk>> fetch, String message)
      throws Exception {
    Path dir = Files.createTempDirectory(tmp, "case");
    try (TestReplicas replicas = new TestReplicas(dir)) {
      Replica follower = replicas.replica("n3");
      Source fake = serveFake(listed, fetch);
      try (SnapshotFetcher fetcher = new SnapshotFetcher(3)) {
        // The leader's log starts at 1: without a snapshot this follower cannot catch up.
        var transfer = fetcher.fetchFrom(follower.machine, List.of(fake), TermIndex.valueOf(1, 1));
        assertThatThrownBy(() -> transfer.get(60, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
            .satisfies(e -> assertThat(chain(e)).contains(message));
      }
      assertThat(follower.machine.getStateMachineStorage().latest()).as("nothing installed").isNull();
      Path sm = follower.storage.getStorageDir().getStateMachineDir().toPath();
      try (Stream<Path> entries = Files.list(sm)) {
        assertThat(entries.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("snapshot."));
      }
    }
  }

  private static String chain(Throwable e) {
    StringBuilder s = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      s.append(t).append(" <- ");
    }
    return s.toString();
  }

  private Source serveFake(Manifest listed, BiConsumer<FetchRequest, StreamObserver<Chunk>> fetch) throws Exception {
    ServerServiceDefinition fake = ServerServiceDefinition.builder(SnapshotTransferService.SERVICE)
        .addMethod(SnapshotTransferService.LIST, ServerCalls.asyncUnaryCall((ListRequest r, StreamObserver<ListReply> out) -> {
          out.onNext(ListReply.newBuilder().addSnapshots(listed).build());
          out.onCompleted();
        }))
        .addMethod(SnapshotTransferService.FETCH, ServerCalls.asyncServerStreamingCall(fetch::accept))
        .build();
    return peers.serve(7, fake);
  }

  private static Manifest manifest(String name, byte[] data) {
    return manifest(name, data, 5);
  }

  private static Manifest manifest(String name, byte[] data, long index) {
    List<SnapshotFile> files = List.of(new SnapshotFile(name, data.length, crc(data)));
    return Manifest.newBuilder().setSnapshotId(SnapshotFile.snapshotId(1, index, files)).setTerm(1).setIndex(index)
        .setTotalBytes(data.length)
        .addFiles(FileEntry.newBuilder().setName(name).setSize(data.length).setCrc32C(crc(data))).build();
  }

  private static Chunk chunk(long offset, byte[] data) {
    return Chunk.newBuilder().setOffset(offset).setData(ByteString.copyFrom(data)).setCrc32C(crc(data)).build();
  }

  private static byte[] slice(int from, int to) {
    return java.util.Arrays.copyOfRange(DATA, from, to);
  }

  private static int crc(byte[] data) {
    CRC32C c = new CRC32C();
    c.update(data);
    return (int) c.getValue();
  }

  /** The bytes the journal in {@code sm} says are good, over every file (0: none, or no journal). */
  private static long journaledBytes(Path sm) throws Exception {
    long total = 0;
    try (Stream<Path> entries = Files.list(sm)) {
      for (Path j : entries.filter(p -> p.getFileName().toString().endsWith(".journal")).toList()) {
        java.util.Map<String, Long> last = new java.util.HashMap<>();
        List<String> lines;
        try {
          lines = Files.readAllLines(j);
        } catch (java.nio.file.NoSuchFileException | java.nio.charset.MalformedInputException e) {
          continue; // being rewritten, or a torn tail
        }
        for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
          String[] parts = line.split(" ");
          if (parts.length == 3) {
            last.put(parts[0], Long.parseLong(parts[1]));
          }
        }
        total += last.values().stream().mapToLong(Long::longValue).sum();
      }
    }
    return total;
  }

  private ManagedChannel channel(Source s) {
    ManagedChannel ch = NettyChannelBuilder.forTarget(s.address()).usePlaintext().build();
    channels.add(ch);
    return ch;
  }

  private static ListReply list(ManagedChannel ch, long holder, String group) {
    return ClientCalls.blockingUnaryCall(ch, SnapshotTransferService.LIST, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
        ListRequest.newBuilder().setGroupId(group).setHolderNode(holder).build());
  }

  private static ClientCall<FetchRequest, Chunk> startFetch(ManagedChannel ch, FetchRequest req, LinkedBlockingQueue<Object> arrivals) {
    ClientCall<FetchRequest, Chunk> call = ch.newCall(SnapshotTransferService.FETCH, CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(Chunk chunk) {
        arrivals.add(chunk);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        arrivals.add(status);
      }
    }, new Metadata());
    call.sendMessage(req);
    call.halfClose();
    call.request(1); // one chunk, then the reader stalls
    return call;
  }

  /** Fetches to the end: the status code (OK when it ended well). */
  private static Status.Code fetchStatus(ManagedChannel ch, FetchRequest req) {
    try {
      fetchBytes(ch, req);
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
  }

  private static long fetchBytes(ManagedChannel ch, FetchRequest req) {
    long n = 0;
    var it = ClientCalls.blockingServerStreamingCall(ch, SnapshotTransferService.FETCH, CallOptions.DEFAULT.withDeadlineAfter(30,
        TimeUnit.SECONDS), req);
    while (it.hasNext()) {
      n += it.next().getData().size();
    }
    return n;
  }
}
