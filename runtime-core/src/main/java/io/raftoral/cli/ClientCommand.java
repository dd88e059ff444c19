package io.raftoral.cli;

import io.raftoral.api.Errors;
import io.raftoral.client.HostPort;
import io.raftoral.client.RaftoralClient;
import java.util.concurrent.Callable;
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
    try (RaftoralClient client = RaftoralClient.connect(address)) {
      return run(client, new Printer(spec.commandLine().getOut(), output()));
    }
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
