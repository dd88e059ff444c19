package io.raftoral.client;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.raftoral.common.Errors;
import io.raftoral.common.HistoryEntry;
import io.raftoral.common.HistoryPage;
import io.raftoral.common.HistoryQuery;
import io.raftoral.common.ReplayReport;
import io.raftoral.common.ListPage;
import io.raftoral.common.ListQuery;
import io.raftoral.common.WorkflowInfo;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.common.WorkflowType;
import io.raftoral.proto.client.AwaitRequest;
import io.raftoral.proto.client.ClusterInfoReply;
import io.raftoral.proto.client.ClusterInfoRequest;
import io.raftoral.proto.client.DescribeRequest;
import io.raftoral.proto.client.RaftoralApiGrpc;
import io.raftoral.proto.client.StartReply;
import io.raftoral.proto.client.StartRequest;
import io.raftoral.proto.client.TerminateRequest;
import io.raftoral.proto.client.WorkflowOutcome;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;

/**
 * A client of one Raftoral node's gRPC API. Any node answers any request (it forwards to the
 * right group itself), so one address is enough.
 *
 * <p>Every method throws the {@link Errors} exception the node threw (see {@link GrpcErrors});
 * an unreachable node is {@link Errors.UnavailableException} naming the address. Thread-safe;
 * share one instance and close it when done.
 */
public final class RaftoralClient implements AutoCloseable {
  /** How long a call other than {@link #await} may take by default. */
  public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(60);
  /** Room above the node's payload limit (4 MiB by default) for the message around it. */
  static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
  /** Extra deadline over an await's timeout, so that the node's own timeout answer arrives first. */
  private static final Duration AWAIT_MARGIN = Duration.ofSeconds(5);

  /** A committed start: the workflow's id and its execution group. */
  public record Started(String workflowId, String executionGroup) {}

  /**
   * A final workflow as {@link #await} returns it.
   *
   * @param result the encoded result (JSON by default) for {@code COMPLETED}, else empty
   */
  public record Outcome(WorkflowInfo info, byte[] result) {
    /**
     * The result of a {@code COMPLETED} workflow.
     *
     * @throws Errors.WorkflowFailedException for FAILED
     * @throws Errors.WorkflowTerminatedException for TERMINATED
     */
    public byte[] resultOrThrow() {
      return switch (info.status()) {
        case COMPLETED -> result;
        case FAILED -> throw new Errors.WorkflowFailedException(info.workflowId(),
            info.errorType().orElse(""), info.errorMessage().orElse(""));
        case TERMINATED -> throw new Errors.WorkflowTerminatedException(info.workflowId(), info.errorMessage().orElse(""));
        case RUNNING -> throw new IllegalStateException("workflow " + info.workflowId() + " is still running");
      };
    }
  }

  private final String address;
  private final ManagedChannel channel;
  private final RaftoralApiGrpc.RaftoralApiBlockingStub stub;
  private final Duration callTimeout;
  private final GroupChooser groups;

  RaftoralClient(String address, ManagedChannel channel, Duration callTimeout) {
    this.address = address;
    this.channel = channel;
    this.stub = RaftoralApiGrpc.newBlockingStub(channel).withMaxInboundMessageSize(MAX_MESSAGE_BYTES)
        .withMaxOutboundMessageSize(MAX_MESSAGE_BYTES);
    this.callTimeout = callTimeout;
    this.groups = new GroupChooser(() -> stub(callTimeout).clusterInfo(ClusterInfoRequest.getDefaultInstance()));
  }

  /**
   * A client of the node at {@code hostPort}. Connecting is lazy: an unreachable node shows up
   * at the first call.
   *
   * @throws Errors.InvalidArgumentException when {@code hostPort} is not host:port
   */
  public static RaftoralClient connect(String hostPort) {
    return connect(hostPort, DEFAULT_CALL_TIMEOUT);
  }

  /** As {@link #connect(String)}, with the deadline of every call other than {@link #await}. */
  public static RaftoralClient connect(String hostPort, Duration callTimeout) {
    return builder(hostPort).callTimeout(callTimeout).build();
  }

  /**
   * A client of the node at {@code hostPort} with more settings: TLS, a client certificate, a
   * bearer token (a node with {@code tlsCert}, {@code tlsCa} or {@code authTokens} asks for
   * them; docs/SECURITY.md).
   */
  public static Builder builder(String hostPort) {
    return new Builder(hostPort);
  }

  /** The settings of a client; {@link #build} checks them and reads the files. Not thread-safe. */
  public static final class Builder {
    private final String hostPort;
    private Duration callTimeout = DEFAULT_CALL_TIMEOUT;
    private boolean tls;
    private Path tlsCa;
    private Path certificate;
    private Path key;
    private String token;
    private boolean tokenInPlaintext;

    private Builder(String hostPort) {
      this.hostPort = hostPort;
    }

    /** The deadline of every call other than {@link #await} (default {@link #DEFAULT_CALL_TIMEOUT}). */
    public Builder callTimeout(Duration timeout) {
      this.callTimeout = timeout;
      return this;
    }

    /** Speak TLS, trusting the JDK's certificate authorities (see {@link #tlsCa} for a cluster's own). */
    public Builder tls() {
      this.tls = true;
      return this;
    }

    /** Speak TLS, trusting the CA certificates of this PEM file (a cluster's {@code ca.pem}). */
    public Builder tlsCa(Path caCertificates) {
      this.tls = true;
      this.tlsCa = caCertificates;
      return this;
    }

    /** Present this client certificate chain (PEM) with its key (PKCS#8 PEM) over TLS. */
    public Builder clientCertificate(Path certificateChain, Path privateKey) {
      this.tls = true;
      this.certificate = certificateChain;
      this.key = privateKey;
      return this;
    }

    /** Send this bearer token with every call ({@code raftoral token create} prints one). */
    public Builder token(String bearerToken) {
      this.token = bearerToken;
      return this;
    }

    /**
     * Allow the token to go without TLS to a node beyond this machine, where anyone on the path
     * can read it. Without this, such a client is refused; to loopback it always may.
     */
    public Builder allowTokenInPlaintext() {
      this.tokenInPlaintext = true;
      return this;
    }

    /**
     * Connecting is lazy: an unreachable node shows up at the first call.
     *
     * @throws Errors.InvalidArgumentException for a bad address, timeout or token, or a TLS file
     *     that cannot be read or used
     */
    public RaftoralClient build() {
      HostPort hp = HostPort.parse(hostPort);
      requirePositive(callTimeout, "callTimeout");
      NettyChannelBuilder channel = NettyChannelBuilder.forAddress(hp.host(), hp.port())
          .maxInboundMessageSize(MAX_MESSAGE_BYTES)
          // The caller's span, if any, goes with each call: a start's workflow joins its trace.
          .intercept(new TraceContextInterceptor());
      if (token != null) {
        if (!tls && !tokenInPlaintext && !isLoopback(hp.host())) {
          throw new Errors.InvalidArgumentException("a token goes to " + hp + " only over TLS: give the node's CA (tlsCa, "
              + "--tls-ca, RAFTORAL_TLS_CA), or allowTokenInPlaintext() to send it readable to anyone on the path");
        }
        channel.intercept(new BearerTokenInterceptor(token));
      }
      if (tls) {
        channel.sslContext(sslContext());
      } else {
        channel.usePlaintext();
      }
      return new RaftoralClient(hp.toString(), channel.build(), callTimeout);
    }

    private SslContext sslContext() {
      try {
        SslContextBuilder b = GrpcSslContexts.forClient();
        if (tlsCa != null) {
          b.trustManager(readable(tlsCa, "tlsCa").toFile());
        }
        if (certificate != null || key != null) {
          b.keyManager(readable(certificate, "client certificate").toFile(), readable(key, "client key").toFile());
        }
        return b.build();
      } catch (SSLException | IllegalArgumentException e) {
        Throwable root = e;
        while (root.getCause() != null) {
          root = root.getCause();
        }
        throw new Errors.InvalidArgumentException("cannot use the TLS files (" + (tlsCa != null ? "CA " + tlsCa : "")
            + (certificate != null ? " certificate " + certificate + " key " + key : "") + "): " + root.getMessage());
      }
    }

    /** Whether {@code host} (a name or an address) is this machine's loopback; a name that does not resolve is not. */
    private static boolean isLoopback(String host) {
      try {
        String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        return java.net.InetAddress.getByName(bare).isLoopbackAddress();
      } catch (java.net.UnknownHostException e) {
        return false;
      }
    }

    private static Path readable(Path file, String what) {
      if (file == null) {
        throw new Errors.InvalidArgumentException(what + " must be given");
      }
      if (!Files.isReadable(file)) {
        throw new Errors.InvalidArgumentException("cannot read the " + what + " " + file);
      }
      return file;
    }
  }

  /** The address this client talks to, as host:port. */
  public String address() {
    return address;
  }

  /**
   * Starts a workflow and returns once its start is committed. The start is idempotent by id:
   * the same id, type, version and input return the existing workflow, and it never runs twice.
   * Without an id this client generates one before sending anything: {@code g<group>-<uuid>},
   * naming the least-loaded execution group the node reported (see
   * {@link io.raftoral.common.WorkflowIds}), or a plain UUID before it named one. A start
   * that ends with {@link Errors.TimeoutException}, {@link Errors.UnavailableException} or
   * {@link Errors.NodeClosedException} may have been committed all the same: the exception's message names the id sent, and starting
   * that id again is safe (pass your own id to retry without reading messages).
   *
   * @param input the input as the node's codec encodes it (JSON text's UTF-8 bytes by default)
   * @param workflowId null for a UUID generated here
   * @throws Errors.NotRegisteredException when the (type, version) is not registered
   * @throws Errors.AlreadyExistsException for an existing id with another type, version or input
   */
  public Started start(String type, int version, byte[] input, String workflowId) {
    WorkflowType t = new WorkflowType(type, version);
    if (input == null) {
      throw new Errors.InvalidArgumentException("input must not be null");
    }
    if (workflowId != null && workflowId.isBlank()) {
      throw new Errors.InvalidArgumentException("workflow id must not be blank (pass null to generate one)");
    }
    if (workflowId != null) {
      io.raftoral.common.Text.requireWellFormed("workflow id", workflowId);
    }
    String id = workflowId != null ? workflowId : mintId();
    StartRequest request = StartRequest.newBuilder().setType(t.name()).setVersion(t.version())
        .setInput(ByteString.copyFrom(input)).setWorkflowId(id).build();
    StartReply reply;
    try {
      reply = call(id, () -> stub(callTimeout).start(request));
    } catch (Errors.TimeoutException e) {
      throw new Errors.TimeoutException(uncertainStart(id, e));
    } catch (Errors.UnavailableException e) {
      throw new Errors.UnavailableException(uncertainStart(id, e), e);
    } catch (Errors.NodeClosedException e) {
      throw new Errors.NodeClosedException(uncertainStart(id, e));
    }
    return new Started(reply.getWorkflowId(), reply.getExecutionGroup());
  }

  /**
   * Waits until the workflow is final. FAILED and TERMINATED are outcomes, not exceptions; use
   * {@link Outcome#resultOrThrow()} to turn them into one. A timeout of more than
   * {@code Long.MAX_VALUE} milliseconds (up to the largest {@link Duration}) is taken as that
   * many: in effect, forever.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   * @throws Errors.TimeoutException when {@code timeout} passes first
   */
  public Outcome await(String workflowId, Duration timeout) {
    requireId(workflowId);
    requirePositive(timeout, "timeout");
    long millis = Math.max(1, saturatedMillis(timeout));
    AwaitRequest request = AwaitRequest.newBuilder().setWorkflowId(workflowId).setTimeoutMillis(millis).build();
    // gRPC caps a deadline at about 100 years itself; only the sum must not overflow here.
    long deadlineMillis = millis > Long.MAX_VALUE - AWAIT_MARGIN.toMillis() ? Long.MAX_VALUE : millis + AWAIT_MARGIN.toMillis();
    WorkflowOutcome outcome = call(workflowId,
        () -> stub.withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS).await(request));
    WorkflowInfo info = Protos.fromProto(outcome.getInfo());
    return new Outcome(info, info.status() == WorkflowStatus.COMPLETED ? outcome.getResult().toByteArray() : new byte[0]);
  }

  /** @throws Errors.WorkflowNotFoundException for an unknown id */
  public WorkflowInfo describe(String workflowId) {
    requireId(workflowId);
    DescribeRequest request = DescribeRequest.newBuilder().setWorkflowId(workflowId).build();
    return Protos.fromProto(call(workflowId, () -> stub(callTimeout).describe(request)));
  }

  /** One page of the workflows matching {@code query}, across every execution group. */
  public ListPage list(ListQuery query) {
    Objects.requireNonNull(query, "query");
    return Protos.fromProto(call(null, () -> stub(callTimeout).list(Protos.toProto(query))));
  }

  /**
   * One page of the workflow's committed checkpoints (see {@link HistoryQuery} for the order);
   * pass the page's token in {@link HistoryQuery#after} for the next one.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   */
  public HistoryPage history(String workflowId, HistoryQuery query) {
    requireId(workflowId);
    Objects.requireNonNull(query, "query");
    return Protos.fromProto(call(workflowId, () -> stub(callTimeout).history(Protos.toProto(workflowId, query))));
  }

  /** Every committed checkpoint of the workflow, every key (or one key when {@code key} is not null), read to the last page. */
  public List<HistoryEntry> history(String workflowId, String key) {
    List<HistoryEntry> all = new java.util.ArrayList<>();
    HistoryQuery q = new HistoryQuery(key, HistoryQuery.DEFAULT_LIMIT, null);
    while (true) {
      HistoryPage page = history(workflowId, q);
      all.addAll(page.entries());
      if (page.nextPageToken() == null) {
        return all;
      }
      q = q.after(page.nextPageToken());
    }
  }

  /**
   * Has the answering node replay the workflow with the definition it registered for the
   * workflow's type and version: the function runs there read-only against the recorded input
   * and history (no side effect runs, nothing is written) and the report says whether it
   * matches or where it first diverges.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   * @throws Errors.NotRegisteredException when that node has no definition for the workflow's type and version
   * @throws Errors.TimeoutException when the function blocks outside checkpoint calls past the node's request timeout
   */
  public ReplayReport replay(String workflowId) {
    requireId(workflowId);
    return Protos.fromProto(call(workflowId, () -> stub(callTimeout).replay(
        io.raftoral.proto.client.ReplayRequest.newBuilder().setWorkflowId(workflowId).build())));
  }

  /**
   * Terminates a running workflow; a finished one is left as it is. Returns the workflow after
   * the call.
   *
   * @throws Errors.WorkflowNotFoundException for an unknown id
   */
  public WorkflowInfo terminate(String workflowId, String reason) {
    requireId(workflowId);
    if (reason == null || reason.isBlank()) {
      throw new Errors.InvalidArgumentException("a termination reason is required");
    }
    TerminateRequest request = TerminateRequest.newBuilder().setWorkflowId(workflowId).setReason(reason).build();
    return Protos.fromProto(call(workflowId, () -> stub(callTimeout).terminate(request)));
  }

  /** Members, roles, execution groups and their leaders, as the node sees them. */
  public ClusterInfoReply clusterInfo() {
    return clusterInfo(false);
  }

  /** With {@code replicaDigests}, the answering node also digests its replicas (costs time proportional to its state). */
  public ClusterInfoReply clusterInfo(boolean replicaDigests) {
    return clusterInfo(ClusterInfoRequest.newBuilder().setReplicaDigests(replicaDigests).build());
  }

  /**
   * As asked: with {@code group_status} the node also asks every execution group's leader for its
   * running workflows, commit index and each member's lag (a query per group).
   */
  public ClusterInfoReply clusterInfo(ClusterInfoRequest request) {
    return call(null, () -> stub(callTimeout).clusterInfo(request));
  }

  /**
   * A new id that names its group ({@link io.raftoral.common.WorkflowIds}): found in one step and
   * kept by a retry. Before the node names an open group, a plain UUID (the node indexes it).
   */
  private String mintId() {
    OptionalInt group = groups.choose();
    return group.isPresent() ? io.raftoral.common.WorkflowIds.mint(group.getAsInt()) : UUID.randomUUID().toString();
  }

  /** Closes the connection, waiting briefly for calls in flight. */
  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  private RaftoralApiGrpc.RaftoralApiBlockingStub stub(Duration deadline) {
    return stub.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
  }

  private <T> T call(String workflowId, Supplier<T> rpc) {
    try {
      return rpc.get();
    } catch (StatusRuntimeException e) {
      throw GrpcErrors.fromStatus(e, address, workflowId);
    }
  }

  private static long saturatedMillis(Duration d) {
    return d.compareTo(Duration.ofMillis(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : d.toMillis();
  }

  private static String uncertainStart(String id, RuntimeException e) {
    return "start of workflow " + id + " did not complete (" + e.getMessage() + "); it may have started: start it again"
        + " with this id (idempotent) or await it";
  }

  private static void requireId(String workflowId) {
    if (workflowId == null || workflowId.isBlank()) {
      throw new Errors.InvalidArgumentException("workflow id must not be null or blank");
    }
    io.raftoral.common.Text.requireWellFormed("workflow id", workflowId);
  }

  private static void requirePositive(Duration d, String what) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new Errors.InvalidArgumentException(what + " must be positive, got " + d);
    }
  }

  @Override
  public String toString() {
    return "RaftoralClient[" + address + "]";
  }
}
