package io.raftoral.raft;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import io.raftoral.proto.transfer.Chunk;
import io.raftoral.proto.transfer.FetchRequest;
import io.raftoral.proto.transfer.FileEntry;
import io.raftoral.proto.transfer.ListReply;
import io.raftoral.proto.transfer.ListRequest;
import io.raftoral.proto.transfer.Manifest;
import io.raftoral.proto.transfer.ReleaseReply;
import io.raftoral.proto.transfer.ReleaseRequest;
import io.raftoral.proto.transfer.ReplicaReply;
import io.raftoral.proto.transfer.ReplicaRequest;
import io.raftoral.storage.SnapshotFile;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.zip.CRC32C;
import org.apache.ratis.grpc.server.GrpcServices;
import org.apache.ratis.thirdparty.io.grpc.MethodDescriptor;
import org.apache.ratis.thirdparty.io.grpc.ServerServiceDefinition;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.apache.ratis.thirdparty.io.grpc.StatusRuntimeException;
import org.apache.ratis.thirdparty.io.grpc.stub.ServerCallStreamObserver;
import org.apache.ratis.thirdparty.io.grpc.stub.ServerCalls;
import org.apache.ratis.thirdparty.io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The serving side of out-of-band snapshot transfer ({@code snapshot_transfer.proto}): lists a
 * hosted group's complete snapshots and streams their files in chunks, each with its CRC32C,
 * from the snapshot directories (hard-linked RocksDB checkpoints: the live store keeps
 * writing). It runs on the Raft port, inside Ratis's gRPC server, so every node serves it and
 * every peer knows where; that server is Ratis's shaded gRPC, hence the service is assembled by
 * hand here rather than generated.
 *
 * <p>Bounded: at most {@value #MAX_STREAMS} fetches at once, all of them together paced to the
 * node's transfer rate; a listed snapshot is held (kept from cleanup) for the peer that listed
 * it until it releases it or {@link #HOLD} passes without a fetch.
 */
final class SnapshotTransferService implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SnapshotTransferService.class);
  static final String SERVICE = "raftoral.transfer.v1.SnapshotTransfer";
  static final Duration HOLD = Duration.ofMinutes(10);
  static final int MAX_STREAMS = 4;
  /** A fetch whose receiver takes nothing for this long is ended: a frozen peer must not keep a stream for good. */
  static final Duration STALL = Duration.ofSeconds(60);
  /** Test hook: flips one byte of every N-th chunk sent, after its checksum was computed. */
  static final String CORRUPT_EVERY_PROPERTY = "raftoral.test.snapshot-transfer.corrupt-every";

  static final MethodDescriptor<ListRequest, ListReply> LIST =
      method("List", MethodDescriptor.MethodType.UNARY, ListRequest.getDefaultInstance(), ListReply.getDefaultInstance());
  static final MethodDescriptor<FetchRequest, Chunk> FETCH =
      method("Fetch", MethodDescriptor.MethodType.SERVER_STREAMING, FetchRequest.getDefaultInstance(), Chunk.getDefaultInstance());
  static final MethodDescriptor<ReleaseRequest, ReleaseReply> RELEASE =
      method("Release", MethodDescriptor.MethodType.UNARY, ReleaseRequest.getDefaultInstance(), ReleaseReply.getDefaultInstance());
  static final MethodDescriptor<ReplicaRequest, ReplicaReply> REPLICA =
      method("Replica", MethodDescriptor.MethodType.UNARY, ReplicaRequest.getDefaultInstance(), ReplicaReply.getDefaultInstance());

  /** A snapshot one replica serves: where it ends in the log, its directory, and its files. */
  record Served(long term, long index, Path directory, List<SnapshotFile> files) {
    Served {
      files = List.copyOf(files);
    }

    String id() {
      return SnapshotFile.snapshotId(term, index, files);
    }

    Manifest manifest() {
      Manifest.Builder m = Manifest.newBuilder().setSnapshotId(id()).setTerm(term).setIndex(index);
      long total = 0;
      for (SnapshotFile f : files) {
        m.addFiles(FileEntry.newBuilder().setName(f.name()).setSize(f.size()).setCrc32C(f.crc32c()));
        total += f.size();
      }
      return m.setTotalBytes(total).build();
    }
  }

  private final int chunkBytes;
  private final long stallNanos;
  private final Pacer pacer;
  private final long corruptEvery;
  private final AtomicLong chunksSent = new AtomicLong();
  private final Semaphore streams = new Semaphore(MAX_STREAMS);
  private final ExecutorService senders = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("snapshot-send-", 0).factory());
  private volatile Function<GroupId, GroupStateMachine> machines = g -> null;
  private volatile java.util.function.Predicate<GroupId> started = g -> false;

  SnapshotTransferService(int chunkBytes, long bytesPerSecond) {
    this(chunkBytes, bytesPerSecond, STALL);
  }

  SnapshotTransferService(int chunkBytes, long bytesPerSecond, Duration stall) {
    this.chunkBytes = chunkBytes;
    this.stallNanos = stall.toNanos();
    this.pacer = new Pacer(bytesPerSecond);
    this.corruptEvery = Long.getLong(CORRUPT_EVERY_PROPERTY, 0);
    if (corruptEvery > 0) {
      LOG.warn("TEST HOOK {}={}: every {}th snapshot chunk this node sends is corrupted", CORRUPT_EVERY_PROPERTY, corruptEvery,
          corruptEvery);
    }
  }

  /**
   * Where the service finds a hosted group's state machine (null: not hosted) and whether its
   * replica is started; set once the server exists.
   */
  void serve(Function<GroupId, GroupStateMachine> machines, java.util.function.Predicate<GroupId> started) {
    this.machines = machines;
    this.started = started;
  }

  /** Adds the service to Ratis's server-to-server gRPC server. */
  GrpcServices.Customizer customizer() {
    return (builder, types) -> types.contains(GrpcServices.Type.SERVER) ? builder.addService(definition()) : builder;
  }

  /** The service, for Ratis's gRPC server (or a test's). */
  ServerServiceDefinition definition() {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(LIST, ServerCalls.asyncUnaryCall(this::list))
        .addMethod(FETCH, ServerCalls.asyncServerStreamingCall(this::fetch))
        .addMethod(RELEASE, ServerCalls.asyncUnaryCall(this::release))
        .addMethod(REPLICA, ServerCalls.asyncUnaryCall(this::replica))
        .build();
  }

  private void list(ListRequest request, StreamObserver<ListReply> reply) {
    try {
      GroupStateMachine machine = machine(request.getGroupId());
      ListReply.Builder out = ListReply.newBuilder();
      for (Served s : machine.servedSnapshots()) {
        if (request.getHolderNode() != 0) {
          machine.holdSnapshot(s, request.getHolderNode(), HOLD);
        }
        out.addSnapshots(s.manifest());
      }
      reply.onNext(out.build());
      reply.onCompleted();
    } catch (StatusRuntimeException e) {
      reply.onError(e);
    } catch (IOException | RuntimeException e) {
      reply.onError(Status.UNAVAILABLE.withDescription("cannot list the snapshots of group " + request.getGroupId() + ": " + e)
          .asRuntimeException());
    }
  }

  private void release(ReleaseRequest request, StreamObserver<ReleaseReply> reply) {
    try {
      GroupStateMachine machine = machine(request.getGroupId());
      for (Served s : machine.servedSnapshots()) {
        if (s.id().equals(request.getSnapshotId())) {
          machine.releaseSnapshot(s, request.getHolderNode());
        }
      }
      reply.onNext(ReleaseReply.getDefaultInstance());
      reply.onCompleted();
    } catch (StatusRuntimeException e) {
      reply.onError(e);
    } catch (IOException | RuntimeException e) {
      reply.onError(Status.UNAVAILABLE.withDescription(e.toString()).asRuntimeException());
    }
  }

  private void replica(ReplicaRequest request, StreamObserver<ReplicaReply> reply) {
    GroupId group;
    try {
      group = GroupId.parse(request.getGroupId());
    } catch (IllegalArgumentException e) {
      reply.onError(Status.INVALID_ARGUMENT.withDescription("not a group id: '" + request.getGroupId() + "'").asRuntimeException());
      return;
    }
    reply.onNext(ReplicaReply.newBuilder().setStarted(started.test(group)).build());
    reply.onCompleted();
  }

  private void fetch(FetchRequest request, StreamObserver<Chunk> reply) {
    ServerCallStreamObserver<Chunk> out = (ServerCallStreamObserver<Chunk>) reply;
    Object ready = new Object();
    Runnable wake = () -> {
      synchronized (ready) {
        ready.notifyAll();
      }
    };
    // Both must be set before this method returns.
    out.setOnReadyHandler(wake);
    out.setOnCancelHandler(wake);
    Path file;
    long offset = request.getOffset();
    long end;
    try {
      GroupStateMachine machine = machine(request.getGroupId());
      Served served = machine.servedSnapshots().stream().filter(s -> s.id().equals(request.getSnapshotId())).findFirst()
          .orElseThrow(() -> Status.NOT_FOUND.withDescription("no snapshot " + request.getSnapshotId() + " of group "
              + request.getGroupId() + " here (any more)").asRuntimeException());
      SnapshotFile entry = served.files().stream().filter(f -> f.name().equals(request.getFile())).findFirst()
          .orElseThrow(() -> Status.NOT_FOUND.withDescription("snapshot " + request.getSnapshotId() + " has no file "
              + request.getFile()).asRuntimeException());
      long length = request.getLength();
      if (offset < 0 || length < 0 || offset > entry.size() || length > entry.size() - offset) {
        throw Status.OUT_OF_RANGE.withDescription("bytes from " + Long.toUnsignedString(offset) + ", "
            + Long.toUnsignedString(length) + " long, are outside " + entry.name() + " (" + entry.size() + " bytes)").asRuntimeException();
      }
      end = length == 0 ? entry.size() : offset + length;
      if (end > entry.size()) {
        throw Status.OUT_OF_RANGE.withDescription("bytes [" + offset + ", " + end + ") are outside " + entry.name() + " ("
            + entry.size() + " bytes)").asRuntimeException();
      }
      if (request.getHolderNode() != 0) {
        machine.holdSnapshot(served, request.getHolderNode(), HOLD);
      }
      file = served.directory().resolve(entry.name());
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    } catch (IOException | RuntimeException e) {
      out.onError(Status.UNAVAILABLE.withDescription(e.toString()).asRuntimeException());
      return;
    }
    if (!streams.tryAcquire()) {
      out.onError(Status.RESOURCE_EXHAUSTED.withDescription("this node already serves " + MAX_STREAMS + " snapshot fetches")
          .asRuntimeException());
      return;
    }
    long from = offset;
    try {
      senders.execute(() -> {
        try {
          send(file, from, end, out, ready);
        } finally {
          streams.release();
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      streams.release();
      out.onError(Status.UNAVAILABLE.withDescription("the node is closing").asRuntimeException());
    }
  }

  /** How many more fetches it would serve now (tests wait on it to order their calls). */
  int freeStreams() {
    return streams.availablePermits();
  }

  /** Streams [from, end) of {@code file}, chunk by chunk, as fast as the receiver takes them and the pacer allows. */
  private void send(Path file, long from, long end, ServerCallStreamObserver<Chunk> out, Object ready) {
    // An open file keeps its bytes even when cleanup deletes the snapshot meanwhile.
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long at = from;
      while (at < end) {
        long stalledSince = System.nanoTime();
        boolean stalled = false;
        synchronized (ready) {
          while (!out.isReady() && !out.isCancelled()) {
            long left = stallNanos - (System.nanoTime() - stalledSince);
            if (left <= 0) {
              stalled = true;
              break;
            }
            TimeUnit.NANOSECONDS.timedWait(ready, Math.min(left, TimeUnit.SECONDS.toNanos(1)));
          }
        }
        if (out.isCancelled()) {
          return;
        }
        if (stalled) {
          out.onError(Status.DEADLINE_EXCEEDED.withDescription("the receiver took nothing of " + file.getFileName() + " for "
              + TimeUnit.NANOSECONDS.toSeconds(stallNanos) + " s").asRuntimeException());
          return;
        }
        int n = (int) Math.min(chunkBytes, end - at);
        ByteBuffer buf = ByteBuffer.allocate(n);
        while (buf.hasRemaining()) {
          if (ch.read(buf, at + buf.position()) < 0) {
            throw new IOException(file + " ends before " + end);
          }
        }
        pacer.acquire(n);
        byte[] data = buf.array();
        CRC32C crc = new CRC32C();
        crc.update(data);
        int checksum = (int) crc.getValue();
        if (corruptEvery > 0 && chunksSent.incrementAndGet() % corruptEvery == 0) {
          data[n / 2] ^= 0x5a;
        }
        out.onNext(Chunk.newBuilder().setOffset(at).setData(UnsafeByteOperations.unsafeWrap(data)).setCrc32C(checksum).build());
        at += n;
      }
      out.onCompleted();
    } catch (NoSuchFileException e) {
      out.onError(Status.NOT_FOUND.withDescription("the snapshot file " + file + " is gone").asRuntimeException());
    } catch (IOException | RuntimeException e) {
      LOG.warn("sending {} failed", file, e);
      out.onError(Status.UNAVAILABLE.withDescription("reading " + file + " failed: " + e).asRuntimeException());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      out.onError(Status.UNAVAILABLE.withDescription("the node is closing").asRuntimeException());
    }
  }

  private GroupStateMachine machine(String groupId) {
    GroupId group;
    try {
      group = GroupId.parse(groupId);
    } catch (IllegalArgumentException e) {
      throw Status.INVALID_ARGUMENT.withDescription("not a group id: '" + groupId + "'").asRuntimeException();
    }
    GroupStateMachine machine = machines.apply(group);
    if (machine == null) {
      throw Status.NOT_FOUND.withDescription("group " + groupId + " is not hosted here").asRuntimeException();
    }
    return machine;
  }

  @Override
  public void close() {
    senders.shutdownNow();
  }

  private static <Q extends com.google.protobuf.Message, R extends com.google.protobuf.Message> MethodDescriptor<Q, R> method(
      String name, MethodDescriptor.MethodType type, Q request, R response) {
    return MethodDescriptor.<Q, R>newBuilder()
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .setRequestMarshaller(marshaller(request))
        .setResponseMarshaller(marshaller(response))
        .build();
  }

  /** Our (unshaded) protobuf messages over Ratis's shaded gRPC. */
  private static <T extends com.google.protobuf.Message> MethodDescriptor.Marshaller<T> marshaller(T prototype) {
    return new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(T value) {
        return new ByteArrayInputStream(value.toByteArray());
      }

      @Override
      @SuppressWarnings("unchecked")
      public T parse(InputStream in) {
        try {
          return (T) prototype.getParserForType().parseFrom(in);
        } catch (InvalidProtocolBufferException e) {
          throw Status.INVALID_ARGUMENT.withDescription("malformed " + prototype.getDescriptorForType().getName() + ": "
              + e.getMessage()).withCause(e).asRuntimeException();
        }
      }
    };
  }

  /** Paces bytes to a rate over every caller together (0: no limit). */
  static final class Pacer {
    private final long bytesPerSecond;
    private long nextFreeNanos = System.nanoTime();

    Pacer(long bytesPerSecond) {
      this.bytesPerSecond = bytesPerSecond;
    }

    void acquire(int bytes) throws InterruptedException {
      if (bytesPerSecond <= 0) {
        return;
      }
      long wait;
      synchronized (this) {
        long now = System.nanoTime();
        nextFreeNanos = Math.max(nextFreeNanos, now);
        wait = nextFreeNanos - now;
        nextFreeNanos += (long) (bytes * 1e9 / bytesPerSecond);
      }
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
    }
  }
}
