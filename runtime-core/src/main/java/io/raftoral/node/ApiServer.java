package io.raftoral.node;

import io.grpc.HandlerRegistry;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.raftoral.client.HostPort;
import io.raftoral.common.Errors;
import io.raftoral.proto.client.NodeServiceGrpc;
import io.raftoral.proto.client.RaftoralApiGrpc;
import io.raftoral.runtime.NodeRuntime;
import io.raftoral.security.NodeSecurity;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's gRPC endpoint: {@code RaftoralApi} for clients, {@code NodeService} for joining
 * nodes and the standard {@code grpc.health.v1} health service: SERVING while the node runs,
 * NOT_SERVING while its runtime is closed or was removed from its cluster, and for good once
 * this server closes. With the node's {@link NodeSecurity} it speaks TLS and authenticates every
 * call but health's. A node that rejoins its cluster as a new node keeps this server, which
 * then serves the new runtime ({@link #serve}).
 *
 * <p>Handlers block on the runtime (a start waits for its commit, an await for the end), so they
 * run on virtual threads, never on Netty's event loop.
 */
public final class ApiServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
  /** Room above the default 4 MiB payload limit for the message around a payload. */
  static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
  private static final long GRACE_MILLIS = 3000;
  /**
   * Calls one connection may have open at once (HTTP/2's concurrent streams): a client beyond it
   * waits for a stream rather than failing; room for a load generator's awaits, not for a flood.
   */
  static final int MAX_CALLS_PER_CONNECTION = 1024;
  /** Headers of one call: a token and a trace context fit many times over. */
  static final int MAX_METADATA_BYTES = 8 << 10;
  private static final List<String> HEALTH_SERVICES = List.of(HealthStatusManager.SERVICE_NAME_ALL_SERVICES,
      RaftoralApiGrpc.SERVICE_NAME, NodeServiceGrpc.SERVICE_NAME);

  private final Server server;
  private final ExecutorService executor;
  private final HealthStatusManager health;
  private final Services services;
  private final String host;
  private final Thread healthWatch;
  private volatile NodeRuntime runtime;
  private volatile boolean closed;

  private ApiServer(Server server, ExecutorService executor, HealthStatusManager health, Services services,
      String host, NodeRuntime runtime) {
    this.server = server;
    this.executor = executor;
    this.health = health;
    this.services = services;
    this.host = host;
    this.runtime = runtime;
    // The runtime may close (or learn that its cluster removed it) before this server closes;
    // health must say so as soon as it happens, and say SERVING again for a rejoined runtime.
    this.healthWatch = Thread.ofVirtual().name("raftoral-api-health").start(() -> {
      ServingStatus reported = ServingStatus.SERVING;
      while (!closed) {
        NodeRuntime r = this.runtime;
        ServingStatus now = r.notServing() != null || r.removedMessage() != null ? ServingStatus.NOT_SERVING : ServingStatus.SERVING;
        if (now != reported && !closed) {
          HEALTH_SERVICES.forEach(service -> health.setStatus(service, now));
          reported = now;
        }
        try {
          Thread.sleep(250);
        } catch (InterruptedException e) {
          return;
        }
      }
    });
  }

  /**
   * Binds {@code hostPort} (port 0 picks a free one) and serves {@code runtime}.
   *
   * @throws IOException when the address cannot be bound; the message names the address and the
   *     system's reason
   * @throws Errors.InvalidArgumentException when {@code hostPort} is not host:port
   */
  public static ApiServer start(String hostPort, NodeRuntime runtime) throws IOException {
    return start(hostPort, runtime, NodeSecurity.none());
  }

  /** As {@link #start(String, NodeRuntime)}, served with {@code security}'s TLS and access check. */
  public static ApiServer start(String hostPort, NodeRuntime runtime, NodeSecurity security) throws IOException {
    HostPort hp = HostPort.parse(hostPort, true);
    InetSocketAddress bind = new InetSocketAddress(hp.host(), hp.port());
    if (bind.isUnresolved()) {
      throw new IOException("cannot bind the api address " + hp + ": unknown host " + hp.host());
    }
    ExecutorService executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("raftoral-api-", 0).factory());
    HealthStatusManager health = new HealthStatusManager();
    // The node's services sit in a registry of their own, so that serve() can swap them.
    Services services = new Services(security);
    services.serve(runtime);
    Server server = security.secure(NettyServerBuilder.forAddress(bind))
        .executor(executor)
        .maxInboundMessageSize(MAX_MESSAGE_BYTES)
        .maxInboundMetadataSize(MAX_METADATA_BYTES)
        .maxConcurrentCallsPerConnection(MAX_CALLS_PER_CONNECTION)
        .fallbackHandlerRegistry(services)
        // A request that does not parse is INVALID_ARGUMENT, not UNKNOWN plus a logged stack trace.
        .addService(MalformedRequests.guard(health.getHealthService().bindService()))
        .build();
    try {
      server.start();
    } catch (IOException e) {
      executor.shutdownNow();
      throw bindFailure(hp, e);
    }
    HEALTH_SERVICES.forEach(service -> health.setStatus(service, ServingStatus.SERVING));
    security.warnIfExposed("client api", "start, terminate and read workflows, and join the cluster", new InetSocketAddress(hp.host(), server.getPort()), runtime.nodeId());
    ApiServer api = new ApiServer(server, executor, health, services, hp.host(), runtime);
    LOG.info("node {}: serving the api on {}{}", runtime.nodeId(), api.address(),
        (security.tls() ? " over TLS" : "") + (security.authenticates() ? ", authenticated" : ""));
    return api;
  }

  /**
   * A bind failure naming the address. The type says it is a bind failure; which one (in use,
   * not this machine's, not permitted) is the system's reason, quoted rather than guessed from it.
   */
  private static IOException bindFailure(HostPort address, IOException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof BindException be) {
        return new IOException("cannot bind the api address " + address + ": it is in use (another process listens on it)"
            + " or not this machine's (" + be.getMessage() + ")", e);
      }
    }
    return new IOException("cannot bind the api address " + address + ": " + e.getMessage(), e);
  }

  /**
   * Serves {@code next} from now on (the node rejoined its cluster as a new node); calls in
   * flight finish on the runtime they started on.
   */
  public void serve(NodeRuntime next) {
    services.serve(next);
    runtime = next;
    LOG.info("node {}: serving the api on {}", next.nodeId(), address());
  }

  /** The bound port (the chosen one when started with port 0). */
  public int port() {
    return server.getPort();
  }

  /** The bound address as host:port. */
  public String address() {
    return new HostPort(host, port()).toString();
  }

  /**
   * Reports NOT_SERVING, stops accepting calls and gives the calls in flight a few seconds to
   * finish before cancelling them. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    healthWatch.interrupt();
    health.enterTerminalState();
    server.shutdown();
    try {
      if (!server.awaitTermination(GRACE_MILLIS, TimeUnit.MILLISECONDS)) {
        server.shutdownNow();
        server.awaitTermination(GRACE_MILLIS, TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    } finally {
      executor.shutdownNow();
    }
  }

  @Override
  public String toString() {
    return "ApiServer[" + (closed ? "closed" : address()) + "]";
  }

  /** The node's services over one runtime, replaced as a whole by {@link #serve}. */
  private static final class Services extends HandlerRegistry {
    private final Optional<ServerInterceptor> access;
    private volatile List<ServerServiceDefinition> services = List.of();
    private volatile Map<String, ServerMethodDefinition<?, ?>> methods = Map.of();
    private volatile NodeRuntime runtime;

    Services(NodeSecurity security) {
      this.access = security.access(() -> runtime.nodeId());
    }

    void serve(NodeRuntime runtime) {
      List<ServerServiceDefinition> next = List.of(
          checked(ServerInterceptors.intercept(MalformedRequests.guard(new RaftoralApiService(runtime).bindService()),
              new TraceParents())),
          checked(MalformedRequests.guard(new NodeServiceImpl(runtime).bindService())));
      this.runtime = runtime;
      Map<String, ServerMethodDefinition<?, ?>> byName = new HashMap<>();
      next.forEach(service -> service.getMethods().forEach(m -> byName.put(m.getMethodDescriptor().getFullMethodName(), m)));
      methods = Map.copyOf(byName);
      services = next;
    }

    /** The access check runs first: nothing of a call is read before its caller is known. */
    private ServerServiceDefinition checked(ServerServiceDefinition service) {
      return access.map(a -> ServerInterceptors.intercept(service, a)).orElse(service);
    }

    @Override
    public ServerMethodDefinition<?, ?> lookupMethod(String methodName, String authority) {
      return methods.get(methodName);
    }

    @Override
    public List<ServerServiceDefinition> getServices() {
      return services;
    }
  }
}
