package io.raftoral.cli;

import io.raftoral.security.CertificateAuthority;
import io.raftoral.security.Role;
import io.raftoral.security.TokenFile;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * The commands that make credentials, without a node: {@code certs init} (a CA and certificates
 * for a test cluster's mutual TLS) and {@code token create} (a bearer token with a role).
 */
final class SecurityCommands {
  private SecurityCommands() {}

  /** {@code raftoral certs}: a group; its commands do the work. */
  @Command(name = "certs", synopsisSubcommandLabel = "COMMAND", subcommands = Certs.Init.class,
      description = "Make certificates for mutual TLS.")
  static final class Certs implements Runnable {
    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Override
    public void run() {
      throw new ParameterException(spec.commandLine(), "a command is required: init");
    }

    @Command(name = "init", description = {
        "Write a new CA and certificates for a test cluster on this machine into DIR: ca.pem, ca-key.pem,",
        "node.pem, node-key.pem (127.0.0.1, localhost, ::1) and client.pem, client-key.pem (role operator).",
        "Refuses a DIR that already has a ca.pem. For production, use your organisation's CA."})
    static final class Init implements Callable<Integer>, HasOutput {
      @Spec
      CommandSpec spec;

      @Parameters(index = "0", paramLabel = "DIR", description = "The directory to write to (created if missing).")
      Path dir;

      @Option(names = "--output", paramLabel = "FORMAT", description = "text (default: the files, one a line) or json.")
      OutputFormat output;

      @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
      boolean help;

      @Override
      public OutputFormat output() {
        return HasOutput.resolve(output, top(spec));
      }

      @Override
      public Integer call() {
        Path[] written = CertificateAuthority.init(dir);
        var json = Printer.JSON.createObjectNode();
        var files = json.putArray("files");
        Arrays.stream(written).forEach(file -> files.add(file.toString()));
        String text = Arrays.stream(written).map(Path::toString).collect(Collectors.joining(System.lineSeparator()));
        new Printer(spec.commandLine().getOut(), output()).print(json, text);
        return ExitCode.OK;
      }
    }
  }

  /** {@code raftoral token}: a group; its commands do the work. */
  @Command(name = "token", synopsisSubcommandLabel = "COMMAND", subcommands = Token.Create.class,
      description = "Make bearer tokens for the API.")
  static final class Token implements Runnable {
    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
    boolean help;

    @Override
    public void run() {
      throw new ParameterException(spec.commandLine(), "a command is required: create");
    }

    @Command(name = "create", sortOptions = false, description = {
        "Add a token with ROLE to FILE (created owner-only if missing) and print it alone on stdout:",
        "  TOKEN=$(raftoral token create --role operator --file tokens)",
        "FILE keeps only a salted hash: the token is shown this once. Remove its line to revoke it."})
    static final class Create implements Callable<Integer>, HasOutput {
      @Spec
      CommandSpec spec;

      @Option(names = "--role", required = true, paramLabel = "ROLE", converter = RoleConverter.class,
          description = "reader, operator or worker.")
      Role role;

      @Option(names = "--file", required = true, paramLabel = "FILE", description = "The token file the nodes read.")
      Path file;

      @Option(names = "--output", paramLabel = "FORMAT", description = "text (default: the token alone) or json.")
      OutputFormat output;

      @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help.")
      boolean help;

      @Override
      public OutputFormat output() {
        return HasOutput.resolve(output, top(spec));
      }

      @Override
      public Integer call() {
        String token = TokenFile.create(file, role);
        String id = TokenFile.idOf(token);
        var json = Printer.JSON.createObjectNode()
            .put("token", token).put("tokenId", id).put("role", role.wireName()).put("file", file.toString());
        new Printer(spec.commandLine().getOut(), output()).print(json, token);
        PrintWriter err = spec.commandLine().getErr();
        err.println("raftoral: token " + id + " (" + role.wireName() + ") added to " + file
            + "; it is shown only this once: keep it now");
        err.flush();
        return ExitCode.OK;
      }
    }
  }

  /** {@code --role}: a role's name in any case; anything else is a usage error listing the names. */
  static final class RoleConverter implements ITypeConverter<Role> {
    @Override
    public Role convert(String value) {
      try {
        return Role.parse(value);
      } catch (RuntimeException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }

  /** The top-level command, for its {@code --output}; null when a test runs a command alone. */
  private static RaftoralCli top(CommandSpec spec) {
    return spec.root().userObject() instanceof RaftoralCli cli ? cli : null;
  }
}
