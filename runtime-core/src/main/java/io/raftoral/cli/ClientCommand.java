package io.raftoral.cli;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.raftoral.client.HostPort;
import io.raftoral.client.RaftoralClient;
import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** A command that talks to one node's API: the shared {@code --api} and {@code --output} options. */
abstract class ClientCommand implements Callable<Integer>, HasOutput {
  @Spec
  CommandSpec spec;

  static final String DEFAULT_API = "127.0.0.1:8001";

  @ParentCommand
  RaftoralCli parent;

  // No picocli defaults: a value given before the command name (raftoral --api X cluster) applies
  // unless the command repeats the option.
  @Option(names = "--api", paramLabel = "HOST:PORT",
      description = "The node to talk to (default: env RAFTORAL_API, else " + DEFAULT_API + ").")
  String api;

  @Option(names = "--tls-ca", paramLabel = "FILE",
      description = "Speak TLS to the node, trusting these CA certificates (PEM; default: env RAFTORAL_TLS_CA, else plaintext).")
  Path tlsCa;

  @Option(names = "--tls-cert", paramLabel = "FILE", description = "Present this client certificate (PEM; needs --tls-key and TLS).")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", description = "The private key of --tls-cert (PKCS#8 PEM).")
  Path tlsKey;

  @Option(names = "--token", paramLabel = "TOKEN",
      description = "The bearer token to send (default: env RAFTORAL_TOKEN, which keeps it out of the process list).")
  String token;

  @Option(names = "--output", paramLabel = "FORMAT", description = "text (default) or json (one JSON object).")
  OutputFormat output;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Override
  public OutputFormat output() {
    return HasOutput.resolve(output, parent);
  }

  /** --api of the command, else of the top level, else RAFTORAL_API, else the default. */
  String api() {
    if (api != null) {
      return api;
    }
    if (parent != null && parent.api != null) {
      return parent.api;
    }
    String env = System.getenv("RAFTORAL_API");
    return env != null && !env.isBlank() ? env.strip() : DEFAULT_API;
  }

  @Override
  public final Integer call() {
    validate();
    String address = api();
    try {
      HostPort.parse(address);
    } catch (Errors.InvalidArgumentException e) {
      throw usage("--api: " + e.getMessage());
    }
    try (RaftoralClient client = connect(address)) {
      Printer printer = new Printer(spec.commandLine().getOut(), output());
      Duration bound = timeout();
      return bound == null ? run(client, printer) : withDeadline(bound, () -> run(client, printer));
    } catch (Errors.UnavailableException e) {
      if (!tls() && isReset(e)) {
        // A TLS port resets a plaintext connection: the likeliest reason when the node is there.
        throw new Errors.UnavailableException(e.getMessage() + " (if the node serves TLS, give --tls-ca or RAFTORAL_TLS_CA)", e);
      }
      throw e;
    } catch (RaftoralException e) {
      if (e.getCause() instanceof StatusRuntimeException s && s.getStatus().getCode() == Status.Code.UNIMPLEMENTED) {
        // What any gRPC server without our service answers, e.g. the node's Raft port.
        throw new Errors.InvalidArgumentException(address
            + " answered but serves no Raftoral API: is it the node's --raft-addr? use its --api-addr");
      }
      throw e;
    }
  }

  /** The client, with TLS and a token when the options or the environment give them. */
  private RaftoralClient connect(String address) {
    RaftoralClient.Builder b = RaftoralClient.builder(address);
    Path ca = tlsCa != null ? tlsCa : env("RAFTORAL_TLS_CA").map(Path::of).orElse(null);
    if (ca != null) {
      b.tlsCa(ca);
    }
    if ((tlsCert == null) != (tlsKey == null)) {
      throw usage("--tls-cert and --tls-key go together");
    }
    if (tlsCert != null) {
      b.clientCertificate(tlsCert, tlsKey);
    }
    String t = token != null ? token : env("RAFTORAL_TOKEN").orElse(null);
    if (t != null) {
      b.token(t);
    }
    return b.build();
  }

  private boolean tls() {
    return tlsCa != null || tlsCert != null || env("RAFTORAL_TLS_CA").isPresent();
  }

  private static boolean isReset(Throwable e) {
    String m = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
    return m.contains("connection reset") || m.contains("connection closed") || m.contains("network closed");
  }

  private static java.util.Optional<String> env(String name) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? java.util.Optional.empty() : java.util.Optional.of(v.strip());
  }

  /**
   * Runs {@code body} under a gRPC context whose deadline is {@code bound} from now: every call
   * it makes (a start, then an await) ends by then, whatever the node does, and a call that
   * runs out ends as {@link Errors.TimeoutException}.
   */
  private static int withDeadline(Duration bound, Callable<Integer> body) {
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().factory());
    try (Context.CancellableContext context = Context.current().withDeadlineAfter(bound.toMillis(), TimeUnit.MILLISECONDS, timer)) {
      return context.call(body);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e); // run() declares no checked exception
    } finally {
      timer.shutdownNow();
    }
  }

  /** What is left of the command's deadline ({@link #timeout()}); {@code fallback} without one. */
  static Duration remaining(Duration fallback) {
    Deadline deadline = Context.current().getDeadline();
    return deadline == null ? fallback : Duration.ofMillis(deadline.timeRemaining(TimeUnit.MILLISECONDS));
  }

  /** The bound of the whole command (its {@code --timeout}), or null for the client's per-call default. */
  Duration timeout() {
    return null;
  }

  /** Checks the options before any call; throw {@link #usage} for a bad one. */
  void validate() {}

  abstract int run(RaftoralClient client, Printer printer);

  ParameterException usage(String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  /** For a command that ends with an error of its own (not an exception): the reason goes to stderr. */
  void error(String message) {
    spec.commandLine().getErr().println("raftoral: " + message);
    spec.commandLine().getErr().flush();
  }
}
