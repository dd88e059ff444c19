package io.raftoral.cli;

import io.raftoral.common.Errors;
import io.raftoral.common.RaftoralException;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.IExecutionStrategy;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;
import picocli.CommandLine;

/**
 * The {@code raftoral} command line: {@code node} runs a node; the other commands are clients of
 * one node's API ({@code --api}, env {@code RAFTORAL_API}). Exit codes are in {@link ExitCode}
 * and docs/CLI.md. Expected errors print one line to stderr, never a stack trace (set
 * {@code RAFTORAL_DEBUG=1} to see one).
 */
@Command(name = "raftoral", synopsisSubcommandLabel = "COMMAND",
    description = "Durable workflows replicated with Raft. Run a node, or talk to one.",
    subcommands = {
        NodeCommand.class,
        WorkflowCommands.Start.class,
        WorkflowCommands.Result.class,
        WorkflowCommands.Describe.class,
        WorkflowCommands.ListWorkflows.class,
        WorkflowCommands.History.class,
        WorkflowCommands.Replay.class,
        WorkflowCommands.Terminate.class,
        WorkflowCommands.Cluster.class,
        SecurityCommands.Certs.class,
        SecurityCommands.Token.class},
    footer = {"", "Exit codes: 0 ok/COMPLETED, 1 FAILED/TERMINATED or a server error,",
        "2 bad usage or input, 3 node unreachable or unavailable, 4 timeout,",
        "5 replay found a divergence, 6 not authenticated or not permitted.",
        "Run 'raftoral COMMAND --help' for a command's options."})
public final class RaftoralCli implements Runnable {
  @Spec
  CommandSpec spec;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
  boolean help;

  @Option(names = "--api", paramLabel = "HOST:PORT",
      description = "For the client commands: the node to talk to (default: env RAFTORAL_API, else 127.0.0.1:8001).")
  String api;

  @Option(names = "--output", paramLabel = "FORMAT", description = "For every command: text (default) or json.")
  OutputFormat output;

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "a command is required");
  }

  public static void main(String[] args) {
    System.exit(execute(args));
  }

  /** Runs one command line and returns its exit code (System.out and System.err). */
  public static int execute(String... args) {
    return commandLine().execute(args);
  }

  /** The configured command line; tests may redirect its out and err writers. */
  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new RaftoralCli());
    cli.registerConverter(Duration.class, new Converters.DurationConverter());
    cli.registerConverter(Instant.class, new Converters.InstantConverter());
    cli.setCaseInsensitiveEnumValuesAllowed(true);
    cli.setUsageHelpAutoWidth(true);
    cli.setParameterExceptionHandler(RaftoralCli::usageError);
    cli.setExecutionExceptionHandler(RaftoralCli::failure);
    // With --help, picocli ignores words it could not match and prints a help with exit 0: the
    // top help for `raftoral UNKNOWN --help`, a command's for `raftoral cluster EXTRA --help`.
    // Refuse those as it does without --help.
    IExecutionStrategy run = cli.getExecutionStrategy();
    cli.setExecutionStrategy(parsed -> {
      String unknown = unknownCommand(parsed.commandSpec().commandLine(), parsed.originalArgs());
      if (unknown != null) {
        throw new UnmatchedArgumentException(parsed.commandSpec().commandLine(), List.of(unknown));
      }
      for (ParseResult level = parsed; level != null; level = level.subcommand()) {
        if (!level.unmatched().isEmpty()) {
          throw new UnmatchedArgumentException(level.commandSpec().commandLine(), level.unmatched());
        }
      }
      return run.execute(parsed);
    });
    return cli;
  }

  /**
   * The first word of {@code args} at the top level that is not an option or an option's value,
   * when it names no command; null when it names one or there is none.
   */
  static String unknownCommand(CommandLine top, List<String> args) {
    CommandSpec spec = top.getCommandSpec();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.equals("--")) {
        return null;
      }
      if (arg.startsWith("-")) {
        OptionSpec option = spec.findOption(arg);
        if (option != null && option.arity().max() > 0) {
          i++; // its value: --api HOST:PORT
        }
        continue;
      }
      return top.getSubcommands().containsKey(arg) ? null : arg;
    }
    return null;
  }

  private static int usageError(ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    CommandLine top = cmd;
    while (top.getParent() != null) {
      top = top.getParent();
    }
    String unknown = unknownCommand(top, Arrays.asList(args));
    if (unknown != null) {
      // Whatever picocli made of the words after it, the unknown command is the error.
      PrintWriter err = top.getErr();
      err.println("raftoral: unknown command '" + unknown + "'");
      if (!new UnmatchedArgumentException(top, List.of(unknown)).printSuggestions(err)) {
        err.println("Try 'raftoral --help' for the commands.");
      }
      err.flush();
      if (asksForJson(args)) {
        printJsonError(top, Errors.InvalidArgumentException.class.getSimpleName(), "unknown command '" + unknown + "'", ExitCode.USAGE);
      }
      return ExitCode.USAGE;
    }
    PrintWriter err = cmd.getErr();
    String message = String.valueOf(e.getMessage());
    message = message.startsWith("Error: ") ? message.substring("Error: ".length()) : message;
    err.println("raftoral: " + message);
    if (!CommandLine.UnmatchedArgumentException.printSuggestions(e, err)) {
      err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for usage.");
    }
    err.flush();
    // Parsing may have stopped before --output: look at the words as given. A usage error is an
    // invalid argument, which is what the API calls it too.
    if (asksForJson(args)) {
      printJsonError(cmd, Errors.InvalidArgumentException.class.getSimpleName(), message, ExitCode.USAGE);
    }
    return ExitCode.USAGE;
  }

  /** Whether the command line asks for {@code --output json}, wherever it stands. */
  static boolean asksForJson(String[] args) {
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--")) {
        return false;
      }
      if (args[i].equalsIgnoreCase("--output=json") || args[i].equals("--output") && i + 1 < args.length
          && args[i + 1].equalsIgnoreCase("json")) {
        return true;
      }
    }
    return false;
  }

  /** The one JSON object stdout carries for an error with {@code --output json} (docs/CLI.md). */
  private static void printJsonError(CommandLine cmd, String kind, String message, int exitCode) {
    var json = Printer.JSON.createObjectNode();
    json.putObject("error").put("kind", kind).put("message", message);
    json.put("exitCode", exitCode);
    cmd.getOut().println(Printer.write(json));
    cmd.getOut().flush();
  }

  private static int failure(Exception e, CommandLine cmd, ParseResult parsed) {
    int code = ExitCode.of(e);
    String message = describe(e);
    PrintWriter err = cmd.getErr();
    err.println("raftoral: " + message);
    if (System.getenv("RAFTORAL_DEBUG") != null) {
      e.printStackTrace(err);
    }
    err.flush();
    if (cmd.getCommand() instanceof HasOutput h && h.output() == OutputFormat.json) {
      printJsonError(cmd, e.getClass().getSimpleName(), message, code);
    }
    return code;
  }

  /** The message and the causes' messages that add something, without class names for our own errors. */
  static String describe(Throwable e) {
    Set<String> parts = new LinkedHashSet<>();
    String joined = "";
    for (Throwable t = e; t != null && parts.size() < 4; t = t.getCause()) {
      if (t != e && t instanceof io.grpc.StatusRuntimeException) {
        break; // the client already turned the status into the message above
      }
      String m = t.getMessage();
      if (m == null || m.isBlank()) {
        m = t == e ? t.getClass().getSimpleName() : null;
      } else if (!(t instanceof RaftoralException) && t == e) {
        m = t.getClass().getSimpleName() + ": " + m;
      }
      if (m != null && !joined.contains(m.strip())) {
        parts.add(m.strip());
        joined = String.join(": ", parts);
      }
    }
    return joined;
  }
}
