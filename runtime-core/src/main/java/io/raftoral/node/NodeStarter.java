package io.raftoral.node;

import io.raftoral.common.RaftoralException;
import io.raftoral.config.NodeOptions;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.raftoral.runtime.NodeMetrics;
import io.raftoral.runtime.NodeRuntime;
import io.raftoral.runtime.NodeTracing;
import io.raftoral.runtime.Payloads;
import io.raftoral.security.NodeSecurity;
import io.raftoral.workflow.PayloadCodec;
import io.raftoral.workflow.WorkflowRegistry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import io.raftoral.worker.WorkerHost;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a node (docs/ARCHITECTURE.md, "Starting a node"): probes its addresses, locks its
 * data directory and checks the identity there, chooses how it enters its cluster ({@link
 * StartPlan}), starts its runtime (a failure diagnosed by {@link StartDiagnosis}), waits for
 * its admission when it joined, serves the API, and hands all of it to a {@link RunningNode}.
 * A failed start closes what it opened, in reverse order, and withdraws a join.
 */
public final class NodeStarter {
  private static final Logger LOG = LoggerFactory.getLogger(NodeStarter.class);

  private NodeStarter() {}

  /**
   * @param options validated
   * @throws RaftoralException saying why the node cannot start (an {@code InvalidArgumentException}
   *     for options that do not fit together or a tuning property out of range)
   */
  public static RunningNode start(NodeOptions options, WorkflowRegistry registry, PayloadCodec codec) {
    return start(options, registry, codec, null);
  }

  /**
   * @param tracing the node's tracing, or null for {@link NodeTracing#fromEnvironment()}
   */
  public static RunningNode start(NodeOptions options, WorkflowRegistry registry, PayloadCodec codec, NodeTracing tracing) {
    NodeOptions o = Tuning.apply(options.validate(), System.getProperties());
    List<AutoCloseable> opened = new ArrayList<>();
    try {
      NodeTracing t = tracing != null ? tracing : NodeTracing.fromEnvironment();
      opened.add(t);
      return startOrThrow(o, registry, codec, t, opened);
    } catch (RuntimeException e) {
      for (AutoCloseable c : opened.reversed()) {
        try {
          c.close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e instanceof RaftoralException re ? re : new RaftoralException("cannot start node " + o.nodeId() + ": " + e.getMessage(), e);
    }
  }

  private static RunningNode startOrThrow(NodeOptions o, WorkflowRegistry registry, PayloadCodec codec, NodeTracing tracing,
      List<AutoCloseable> opened) {
    String selfRaft = o.raftAddress() != null ? o.raftAddress() : o.members().get(o.nodeId());
    // Both addresses first: a node that cannot bind them must not write its identity nor
    // register with a cluster.
    if (selfRaft != null) {
      PortProbe.ensureBindable("raft", selfRaft);
    }
    if (o.apiAddress() != null) {
      PortProbe.ensureBindable("api", o.apiAddress());
    }
    if (o.workerAddress() != null) {
      PortProbe.ensureBindable("worker", o.workerAddress());
    }
    if (o.httpAddress() != null) {
      PortProbe.ensureBindable("http", o.httpAddress());
    }
    // Its files are read before anything is written or registered: a bad one fails the start.
    NodeSecurity security = NodeSecurity.load(o);
    NodeHome home = NodeHome.of(o.dataDir());
    DataDirectoryLock lock = null;
    NodeIdentity identity = null;
    if (home.temporary()) {
      opened.add(home::deleteIfTemporary);
    } else {
      lock = DataDirectoryLock.acquire(home.dataDir());
      opened.add(lock);
      identity = NodeIdentity.read(home.dataDir());
      if (identity != null) {
        identity.check(home.dataDir(), o.clusterId(), o.nodeId(), selfRaft);
      }
    }
    home.prepare();
    StartPlan plan = StartPlan.choose(o, security, identity, home, opened);
    long id = plan.id();
    if (!home.temporary()) {
      LOG.info("node {}: data directory {} ({})", id, home.dataDir().toAbsolutePath(), plan.entry());
    } else {
      LOG.info("node {}: no data directory configured: the Raft log and the workflow state live in {}, "
          + "deleted when the node stops; nothing survives a restart", id, home.path());
    }
    PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    NodeMetrics metrics = new NodeMetrics(meters).withJvmMeters();
    Launch launch = new Launch(o, plan.peers().get(id), home, registry, new Payloads(codec, o.payloadLimitBytes()), metrics,
        tracing, security);
    NodeRuntime runtime;
    try {
      runtime = launch.newRuntime(id, plan.peers(), plan.incarnation());
      opened.add(runtime);
      runtime.start(plan.entry());
    } catch (IOException | RuntimeException e) {
      throw StartDiagnosis.diagnose(e, o.dataDir(), id, plan.peers().get(id));
    }
    if (plan.entry() == NodeRuntime.Entry.JOIN) {
      Launch.awaitAdmission(runtime, id);
    }
    ApiServer api = null;
    if (o.apiAddress() != null) {
      try {
        api = ApiServer.start(o.apiAddress(), runtime, security);
      } catch (IOException e) {
        throw new RaftoralException("node " + id + ": cannot serve the api on " + o.apiAddress() + ": " + e.getMessage(), e);
      }
    }
    if (api != null) {
      opened.add(api);
    }
    // The node's runtime is replaced on restarts and rejoins; the worker host and the http
    // endpoint ask for the current one.
    AtomicReference<RunningNode> running = new AtomicReference<>();
    NodeRuntime first = runtime;
    Supplier<NodeRuntime> current = () -> running.get() != null ? running.get().runtime() : first;
    HttpEndpoint http = null;
    if (o.httpAddress() != null) {
      try {
        http = HttpEndpoint.start(o.httpAddress(), security, current, meters, metrics);
      } catch (IOException e) {
        throw new RaftoralException("node " + id + ": cannot serve http on " + o.httpAddress() + ": " + e.getMessage(), e);
      }
      opened.add(http);
    }
    WorkerHost workers = null;
    if (o.workerAddress() != null) {
      try {
        workers = WorkerHost.start(o.workerAddress(), new WorkerHost.Node(() -> current.get().nodeId(), o.clusterId(),
            registry, o.payloadLimitBytes(), () -> current.get().startMissingRuns()), security, MalformedRequests::guard);
      } catch (IOException e) {
        throw new RaftoralException("node " + id + ": cannot serve workers on " + o.workerAddress() + ": " + e.getMessage(), e);
      }
    }
    RunningNode node = RunningNode.watch(launch, runtime, api, http, workers, lock, plan.entry() == NodeRuntime.Entry.RECOVER);
    running.set(node);
    return node;
  }
}
