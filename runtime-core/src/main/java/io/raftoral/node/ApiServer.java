package io.raftoral.node;

import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.raftoral.api.Errors;
import io.raftoral.client.HostPort;
import io.raftoral.proto.client.NodeServiceGrpc;
import io.raftoral.proto.client.RaftoralApiGrpc;
import io.raftoral.runtime.NodeRuntime;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's gRPC endpoint: {@code RaftoralApi} for clients, {@code NodeService} for joining
 * nodes and the standard {@code grpc.health.v1} health service (SERVING while the node runs,
 * NOT_SERVING once it or this server closes).
 *
 * <p>Handlers block on the runtime (a start waits for its commit, an await for the end), so they
 * run on virtual threads, never on Netty's event loop.
 */
public final class ApiServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
  /** Room above the default 4 MiB payload limit for the message around a payload. */
  static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
  private static final long GRACE_MILLIS = 3000;

  private final Server server;
  private final ExecutorService executor;
  private final HealthStatusManager health;
  private final String host;
  private final Thread healthWatch;
  private volatile boolean closed;

  private ApiServer(Server server, ExecutorService executor, HealthStatusManager health, String host, NodeRuntime runtime) {
    this.server = server;
    this.executor = executor;
    this.health = health;
    this.host = host;
    // The runtime may close before this server does (the node's close order is not ours to
    // assume); health must say so as soon as it happens.
    this.healthWatch = Thread.ofVirtual().name("raftoral-api-health").start(() -> {
      while (!closed) {
        if (runtime.isClosed()) {
          health.enterTerminalState();
          return;
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
   * @throws IOException when the address cannot be bound; for a port in use the message names
   *     the address and says it is in use
   * @throws Errors.InvalidArgumentException when {@code hostPort} is not host:port
   */
  public static ApiServer start(String hostPort, NodeRuntime runtime) throws IOException {
    HostPort hp = HostPort.parse(hostPort, true);
    InetSocketAddress bind = new InetSocketAddress(hp.host(), hp.port());
    if (bind.isUnresolved()) {
      throw new IOException("cannot bind the api address " + hp + ": unknown host " + hp.host());
    }
    ExecutorService executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("raftoral-api-", 0).factory());
    HealthStatusManager health = new HealthStatusManager();
    Server server = NettyServerBuilder.forAddress(bind)
        .executor(executor)
        .maxInboundMessageSize(MAX_MESSAGE_BYTES)
        // A request that does not parse is INVALID_ARGUMENT, not UNKNOWN plus a logged stack trace.
        .addService(MalformedRequests.guard(new RaftoralApiService(runtime).bindService()))
        .addService(MalformedRequests.guard(new NodeServiceImpl(runtime).bindService()))
        .addService(MalformedRequests.guard(health.getHealthService().bindService()))
        .build();
    try {
      server.start();
    } catch (IOException e) {
      executor.shutdownNow();
      throw bindFailure(hp, e);
    }
    for (String service : List.of(HealthStatusManager.SERVICE_NAME_ALL_SERVICES,
        RaftoralApiGrpc.SERVICE_NAME, NodeServiceGrpc.SERVICE_NAME)) {
      health.setStatus(service, ServingStatus.SERVING);
    }
    ApiServer api = new ApiServer(server, executor, health, hp.host(), runtime);
    LOG.info("node {}: serving the api on {}", runtime.nodeId(), api.address());
    return api;
  }

  private static IOException bindFailure(HostPort address, IOException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof BindException be) {
        String why = be.getMessage() == null ? "" : be.getMessage();
        if (why.toLowerCase().contains("in use")) {
          return new IOException("the api address " + address + " is in use (another process listens on it)", e);
        }
        return new IOException("cannot bind the api address " + address + ": " + why, e);
      }
    }
    return new IOException("cannot bind the api address " + address + ": " + e.getMessage(), e);
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
}
