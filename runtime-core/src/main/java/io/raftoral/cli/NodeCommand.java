package io.raftoral.cli;

import io.raftoral.api.RaftoralNode;
import io.raftoral.client.HostPort;
import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import io.raftoral.common.WorkflowType;
import io.raftoral.config.NodeOptions;
import io.raftoral.workflow.WorkflowFileLoader;
import io.raftoral.workflow.WorkflowProvider;
import io.raftoral.workflow.WorkflowRegistry;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code raftoral node}: runs one node in the foreground until SIGINT or SIGTERM, serving the
 * client API. Every workflow a {@link WorkflowProvider} on the classpath contributes is registered,
 * and every workflow of a {@code --workflows} file (through a {@link WorkflowFileLoader}). Once
 * serving, one line goes to stdout (for scripts and tests to wait on); logs go to stderr.
 */
@Command(name = "node", sortOptions = false, description = {
    "Run a node in the foreground until SIGINT/SIGTERM (which close it cleanly, handing off leadership).",
    "Prints 'node N serving api HOST:PORT raft HOST:PORT' on stdout once it serves; logs go to stderr."})
final class NodeCommand implements Callable<Integer>, HasOutput {
  @Spec
  CommandSpec spec;

  // Each node option of io.raftoral.config.NodeOptions is one flag named by its rule
  // (snapshotThreshold: --snapshot-threshold); older spellings stay as aliases.
  @Option(names = {"--raft-address", "--raft-addr"}, required = true, paramLabel = "HOST:PORT",
      description = "Where this node's Raft server listens; peers reach it here.")
  String raftAddress;

  @Option(names = {"--api-address", "--api-addr"}, required = true, paramLabel = "HOST:PORT",
      description = "Where this node serves the client API (gRPC).")
  String apiAddress;

  @Option(names = {"--worker-address", "--worker-listen"}, paramLabel = "HOST:PORT", description = "Serve worker "
      + "processes here (the worker protocol, worker.proto): they run workflow types beside this node in any language. "
      + "Keep it on loopback. Default: no workers.")
  String workerAddress;

  @Option(names = {"--http-address", "--http-addr"}, paramLabel = "HOST:PORT", description = "Serve the web console, "
      + "Prometheus metrics (/metrics) and health (/health/live, /health/ready) over HTTP here. The console can terminate "
      + "workflows: keep it on a trusted network. Default: no HTTP.")
  String httpAddress;

  @Option(names = "--tls-cert", paramLabel = "FILE", description = "This node's certificate chain (PEM): serve the client "
      + "API over TLS, and present it when joining. Needs --tls-key. Default: plaintext (docs/SECURITY.md).")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "The private key of --tls-cert (PKCS#8 PEM, as 'raftoral certs init' writes it).")
  Path tlsKey;

  @Option(names = "--tls-ca", paramLabel = "FILE", description = "The cluster's CA certificates (PEM): API calls must then "
      + "authenticate (a client certificate of this CA, its role in its OU, or a token); a join trusts the cluster by them. Needs --tls-cert.")
  Path tlsCa;

  @Option(names = "--auth-tokens", paramLabel = "FILE", description = "Bearer tokens ('raftoral token create'): API calls must "
      + "present one whose role allows the call (reader, operator, worker). Reloaded when the file changes.")
  Path authTokens;

  @Option(names = "--data-dir", paramLabel = "DIR", description = {
      "Keep the node's identity, Raft log and state here. Default: raftoral_data/node-<id> with --bootstrap,",
      "raftoral_data/node-<host>-<port> of --raft-address with --join (the cluster assigns the id)."})
  Path dataDirectory;

  @Option(names = "--workflows", paramLabel = "FILE", description = {
      "Load the workflows this file defines (repeatable): JavaScript modules (.mjs, .js) through polyglot-graal,",
      "in addition to those of the WorkflowProviders on the classpath. Give every node the same files."})
  List<Path> workflowFiles;

  @Option(names = "--in-memory", description = "Keep everything in memory (tests, demos): nothing survives the process.")
  boolean inMemory;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Mode mode;

  static final class Mode {
    @Option(names = "--bootstrap", required = true, description = "Start a new cluster with this node as its first member.")
    boolean bootstrap;

    @Option(names = "--join", required = true, split = ",", paramLabel = "SEED",
        description = "Join a running cluster through these nodes' API addresses (comma-separated).")
    List<String> seeds;
  }

  @Option(names = "--node-id", paramLabel = "N", description = "With --bootstrap: this node's id (default 1). A joining node gets its id from the cluster.")
  Long nodeId;

  @Option(names = "--members", split = ",", paramLabel = "ID=HOST:PORT", description = {
      "With --bootstrap: every bootstrap member's Raft address, this node included (default: this node alone);",
      "start each member with the same list."})
  Map<Long, String> members;

  @Option(names = "--cluster-id", paramLabel = "NAME", defaultValue = "raftoral", description = "The cluster's name; a join checks it (default ${DEFAULT-VALUE}).")
  String clusterId;

  @Option(names = "--execution-groups", paramLabel = "N", description = "How many execution groups the cluster runs, 1..1024 (default 1; with --bootstrap).")
  Integer executionGroups;

  @Option(names = "--election-timeout", paramLabel = "D", defaultValue = "1s",
      description = "Raft's minimum election timeout (the maximum is twice it), e.g. 500ms; default ${DEFAULT-VALUE}.")
  Duration electionTimeout;

  @Option(names = "--request-timeout", paramLabel = "D", description = "How long a client call waits for the cluster before it fails (default 30s).")
  Duration requestTimeout;

  @Option(names = "--max-in-flight-entries", paramLabel = "N",
      description = "Raft entries a group may have in flight, 1..1024; commands wait and are batched beyond it (default 2).")
  Integer maxInFlightEntries;

  @Option(names = "--batch-linger", paramLabel = "D", converter = Converters.NonNegativeDurationConverter.class,
      description = "Under load, how long a free entry slot waits for more commands, 0..1s, e.g. 200us (default 200us; 0: never).")
  Duration batchLinger;

  @Option(names = "--node-failure-timeout", paramLabel = "D",
      description = "How long a member may be unreachable before the cluster removes it and replaces it in its groups (default 30s).")
  Duration nodeFailureTimeout;

  @Option(names = "--rejoin-after-removal", arity = "1", paramLabel = "BOOL", description = {
      "When the cluster removed this node (unreachable past the failure timeout): true (default) rejoins by itself as a",
      "new node (stale replicas are moved to DATA_DIR/removed-<id>-<time>); false exits 1 saying so."})
  Boolean rejoinAfterRemoval;

  @Option(names = "--no-rejoin", description = "Same as --rejoin-after-removal false.")
  boolean noRejoin;

  @Option(names = "--retention", paramLabel = "D",
      description = "How long finished workflows are kept before they are pruned everywhere (default 7d, e.g. 12h, 30m).")
  Duration retention;

  @Option(names = {"--snapshot-threshold", "--snapshot-every"}, paramLabel = "N",
      description = "Snapshot each group's state every N Raft entries and purge its log up to the snapshot (default 10000).")
  Long snapshotThreshold;

  @Option(names = "--snapshot-transfer-rate", paramLabel = "BYTES_PER_S", description = {
      "The most bytes per second this node sends to followers fetching its snapshots out of band, over all of them",
      "(default 0: no limit)."})
  Long snapshotTransferRate;

  @Option(names = "--snapshot-chunk-bytes", paramLabel = "N",
      description = "The bytes of one chunk of a snapshot transfer, 65536..8388608 (default 1048576).")
  Integer snapshotChunkBytes;

  @Option(names = "--max-voters", paramLabel = "N", description = "Voters of the management group, 1..99; further nodes are listeners (default 3).")
  Integer maxVoters;

  @Option(names = "--min-group-size", paramLabel = "N",
      description = "The fewest members an execution group keeps, 1..50, <= the target (default 3); a group below it is topped up or merged.")
  Integer minGroupSize;

  @Option(names = {"--target-group-size", "--group-size"}, paramLabel = "N",
      description = "Members per execution group the cluster works toward, min..max (default 3).")
  Integer targetGroupSize;

  @Option(names = "--max-group-size", paramLabel = "N",
      description = "The most members an execution group has, target..99 and >= 2 * min - 1 (default 5); beyond it a group splits.")
  Integer maxGroupSize;

  @Option(names = "--payload-limit-bytes", paramLabel = "N", description = "The largest input, checkpoint value or result, in bytes (default 4194304).")
  Integer payloadLimitBytes;

  @Option(names = "--output", paramLabel = "FORMAT", description = "text (default) or json, for the serving line.")
  OutputFormat output;

  @picocli.CommandLine.ParentCommand
  RaftoralCli parent;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Override
  public OutputFormat output() {
    return HasOutput.resolve(output, parent);
  }

  @Override
  public Integer call() throws InterruptedException {
    validate();
    quietLibrariesButShowNodeInfo();
    PrintWriter err = spec.commandLine().getErr();

    WorkflowRegistry workflows = registeredWorkflows();
    List<AutoCloseable> loaded = loadWorkflowFiles(workflows);
    List<WorkflowType> types = workflows.types().stream()
        .sorted(Comparator.comparing(WorkflowType::name).thenComparingInt(WorkflowType::version)).toList();
    if (types.isEmpty()) {
      err.println("raftoral node: warning: no WorkflowProvider on the classpath and no --workflows file registers a workflow; "
          + "this node can run none");
    } else {
      err.println("raftoral node: workflows " + types.stream().map(WorkflowType::toString).collect(Collectors.joining(", ")));
    }
    err.flush();

    RaftoralNode.Builder builder = builder();
    types.forEach(t -> builder.register(workflows.find(t)));

    RaftoralNode node;
    try {
      node = builder.start();
    } catch (RuntimeException | Error e) {
      closeAll(loaded, err);
      throw e;
    }
    // A shutdown hook, so that SIGINT and SIGTERM close the node cleanly (close hands off
    // leadership first); the JVM then exits with 130/143.
    Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("raftoral-node-shutdown").unstarted(() -> {
      err.println("raftoral node: node " + node.nodeId() + " stopping");
      err.flush();
      try {
        node.close();
        err.println("raftoral node: node " + node.nodeId() + " stopped");
      } catch (RuntimeException e) {
        err.println("raftoral node: node " + node.nodeId() + " did not close cleanly: " + e.getMessage());
      }
      closeAll(loaded, err);
      err.flush();
    }));

    String api = node.apiAddress() != null ? node.apiAddress() : apiAddress; // the bound one
    var json = Printer.JSON.createObjectNode().put("event", "serving").put("nodeId", node.nodeId())
        .put("apiAddress", api).put("raftAddress", raftAddress);
    if (node.workerAddress() != null) {
      json.put("workerAddress", node.workerAddress());
    }
    if (node.httpAddress() != null) {
      json.put("httpAddress", node.httpAddress());
    }
    new Printer(spec.commandLine().getOut(), output()).print(json,
        "node " + node.nodeId() + " serving api " + api + " raft " + raftAddress
            + (node.workerAddress() != null ? " workers " + node.workerAddress() : "")
            + (node.httpAddress() != null ? " http " + node.httpAddress() : ""));

    // Until a signal runs the hook and the JVM exits, or the node stops itself (then say why).
    try {
      node.stopped().get();
    } catch (java.util.concurrent.ExecutionException e) {
      err.println("raftoral node: " + e.getCause().getMessage());
      err.flush();
      return ExitCode.FAILED;
    }
    return ExitCode.OK;
  }

  void validate() {
    checkAddress("--raft-address", raftAddress);
    checkAddress("--api-address", apiAddress);
    if (workerAddress != null) {
      checkAddress("--worker-address", workerAddress);
    }
    if (httpAddress != null) {
      checkAddress("--http-address", httpAddress);
    }
    if (mode.seeds != null) {
      if (nodeId != null) {
        throw usage("--node-id is only for --bootstrap; a joining node gets its id from the cluster");
      }
      if (members != null) {
        throw usage("--members is only for --bootstrap; a joining node learns the members from the cluster");
      }
      if (mode.seeds.isEmpty() || mode.seeds.stream().allMatch(String::isBlank)) {
        throw usage("--join needs at least one seed HOST:PORT");
      }
      for (String seed : mode.seeds) {
        checkAddress("--join", seed);
      }
    }
    if (nodeId != null && nodeId < 1) {
      throw usage("--node-id must be >= 1, got " + nodeId);
    }
    if (members != null) {
      // picocli's map keeps the last of a key given twice (1=a,1=b; 01=...): which address
      // a member gets must not be an accident.
      List<String> given = spec.findOption("--members").originalStringValues().stream()
          .flatMap(v -> java.util.Arrays.stream(v.split(","))).toList();
      if (given.size() != members.size()) {
        throw usage("--members lists a node id more than once: " + String.join(",", given));
      }
      for (String member : members.values()) {
        checkAddress("--members", member);
      }
      if (!members.containsKey(nodeId == null ? 1 : nodeId)) {
        throw usage("--members " + members.keySet() + " must include this node (--node-id " + (nodeId == null ? 1 : nodeId) + ")");
      }
    }
    if (inMemory && dataDirectory != null) {
      throw usage("--in-memory and --data-dir are mutually exclusive");
    }
    if (noRejoin && Boolean.TRUE.equals(rejoinAfterRemoval)) {
      throw usage("--no-rejoin and --rejoin-after-removal true contradict each other");
    }
    // Every range check is NodeOptions's, reported with the flag's name.
    NodeOptions.Problem problem = builder().options().problem();
    if (problem != null) {
      throw usage(problem.message(problem.option().cliName()));
    }
  }

  /** The node's builder with every option of the command line, no workflow registered yet. */
  RaftoralNode.Builder builder() {
    RaftoralNode.Builder b = RaftoralNode.builder()
        .raftAddress(raftAddress)
        .apiAddress(apiAddress)
        .workerAddress(workerAddress)
        .httpAddress(httpAddress)
        .tlsCert(tlsCert)
        .tlsKey(tlsKey)
        .tlsCa(tlsCa)
        .authTokens(authTokens)
        .clusterId(clusterId)
        .electionTimeout(electionTimeout)
        .rejoinAfterRemoval(rejoinAfterRemoval != null ? rejoinAfterRemoval : !noRejoin);
    if (inMemory) {
      b.inMemory();
    } else {
      b.dataDir(dataDirectory != null ? dataDirectory : defaultDataDirectory());
    }
    if (mode.bootstrap) {
      b.nodeId(nodeId == null ? 1 : nodeId);
    } else {
      b.join(mode.seeds.stream().map(String::strip).toList());
    }
    if (members != null) {
      b.members(members);
    }
    if (executionGroups != null) {
      b.executionGroups(executionGroups);
    }
    if (requestTimeout != null) {
      b.requestTimeout(requestTimeout);
    }
    if (maxInFlightEntries != null) {
      b.maxInFlightEntries(maxInFlightEntries);
    }
    if (batchLinger != null) {
      b.batchLinger(batchLinger);
    }
    if (nodeFailureTimeout != null) {
      b.nodeFailureTimeout(nodeFailureTimeout);
    }
    if (retention != null) {
      b.retention(retention);
    }
    if (snapshotThreshold != null) {
      b.snapshotThreshold(snapshotThreshold);
    }
    if (maxVoters != null) {
      b.maxVoters(maxVoters);
    }
    if (minGroupSize != null) {
      b.minGroupSize(minGroupSize);
    }
    if (targetGroupSize != null) {
      b.targetGroupSize(targetGroupSize);
    }
    if (maxGroupSize != null) {
      b.maxGroupSize(maxGroupSize);
    }
    if (payloadLimitBytes != null) {
      b.payloadLimitBytes(payloadLimitBytes);
    }
    if (snapshotTransferRate != null) {
      b.snapshotTransferRate(snapshotTransferRate);
    }
    if (snapshotChunkBytes != null) {
      b.snapshotChunkBytes(snapshotChunkBytes);
    }
    return b;
  }

  /**
   * Derived from the command line alone, so that running the same command again restarts the
   * same node: by its id when bootstrapping, by its Raft address when joining (the id is not
   * known before the cluster assigns it).
   */
  Path defaultDataDirectory() {
    if (mode.seeds == null) {
      return Path.of("raftoral_data", "node-" + (nodeId == null ? 1 : nodeId));
    }
    HostPort raft = HostPort.parse(raftAddress);
    return Path.of("raftoral_data", "node-" + raft.host() + "-" + raft.port());
  }

  private void checkAddress(String option, String value) {
    try {
      HostPort.parse(value);
    } catch (Errors.InvalidArgumentException e) {
      throw usage(option + ": " + e.getMessage());
    }
  }

  /**
   * The workflows of every {@link WorkflowProvider} on the classpath. A provider that cannot be
   * loaded (a services file naming a missing class, a failing static initializer) is an error
   * naming it, not a stack trace.
   */
  private static WorkflowRegistry registeredWorkflows() {
    WorkflowRegistry workflows = new WorkflowRegistry();
    try {
      for (WorkflowProvider provider : ServiceLoader.load(WorkflowProvider.class)) {
        provider.register(workflows);
      }
    } catch (ServiceConfigurationError | LinkageError e) {
      throw new RaftoralException("cannot load the workflow providers on the classpath (META-INF/services/"
          + WorkflowProvider.class.getName() + "): " + e.getMessage(), e);
    }
    return workflows;
  }

  /**
   * Registers the workflows of every {@code --workflows} file through the {@link WorkflowFileLoader}
   * on the classpath that loads it; returns what to close once the node has stopped.
   */
  private List<AutoCloseable> loadWorkflowFiles(WorkflowRegistry workflows) {
    if (workflowFiles == null || workflowFiles.isEmpty()) {
      return List.of();
    }
    List<WorkflowFileLoader> loaders = new ArrayList<>();
    try {
      ServiceLoader.load(WorkflowFileLoader.class).forEach(loaders::add);
    } catch (ServiceConfigurationError | LinkageError e) {
      throw new RaftoralException("cannot load the workflow file loaders on the classpath (META-INF/services/"
          + WorkflowFileLoader.class.getName() + "): " + e.getMessage(), e);
    }
    Map<WorkflowFileLoader, List<Path>> byLoader = new LinkedHashMap<>();
    for (Path file : workflowFiles) {
      if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
        throw usage("--workflows " + file + ": no such readable file");
      }
      WorkflowFileLoader loader = loaders.stream().filter(l -> l.loads(file)).findFirst().orElseThrow(() -> usage(
          "--workflows " + file + ": no workflow loader on the classpath reads this kind of file"
              + (loaders.isEmpty() ? " (JavaScript needs the polyglot-graal module)"
                  : " (loaders: " + loaders.stream().map(WorkflowFileLoader::language).collect(Collectors.joining(", ")) + ")")));
      byLoader.computeIfAbsent(loader, l -> new ArrayList<>()).add(file.toAbsolutePath().normalize());
    }
    List<AutoCloseable> loaded = new ArrayList<>();
    try {
      byLoader.forEach((loader, files) -> loaded.add(loader.load(files, workflows)));
    } catch (RuntimeException e) {
      closeAll(loaded, spec.commandLine().getErr());
      throw e;
    }
    return loaded;
  }

  private static void closeAll(List<AutoCloseable> loaded, PrintWriter err) {
    for (AutoCloseable c : loaded) {
      try {
        c.close();
      } catch (Exception e) {
        err.println("raftoral node: the workflows of " + c + " did not close cleanly: " + e.getMessage());
      }
    }
  }

  private ParameterException usage(String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  /**
   * Raftoral's own info lines (data directory, joins, leadership) are worth seeing on a node's
   * stderr; the libraries' are not. A -D setting of the same property wins.
   */
  private static void quietLibrariesButShowNodeInfo() {
    if (System.getProperty("org.slf4j.simpleLogger.log.io.raftoral") == null) {
      System.setProperty("org.slf4j.simpleLogger.log.io.raftoral", "info");
    }
  }
}
