package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.workflow.WorkflowProvider;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Where `raftoral node` keeps its data when no --data-dir is given: a restart must find it again. */
class NodeCommandTest {
  private static NodeCommand parse(String... args) {
    CommandLine.ParseResult parsed = RaftoralCli.commandLine().parseArgs(args);
    NodeCommand node = (NodeCommand) parsed.subcommand().commandSpec().userObject();
    node.validate();
    return node;
  }

  @Test
  void aBootstrappingNodeDefaultsToItsIdsDirectory() {
    assertThat(parse("node", "--raft-addr", "127.0.0.1:7001", "--api-addr", "127.0.0.1:8001", "--bootstrap")
        .defaultDataDirectory()).isEqualTo(Path.of("raftoral_data", "node-1"));
    assertThat(parse("node", "--raft-addr", "127.0.0.1:7004", "--api-addr", "127.0.0.1:8004", "--bootstrap", "--node-id", "4")
        .defaultDataDirectory()).isEqualTo(Path.of("raftoral_data", "node-4"));
  }

  @Test
  void aJoiningNodeDefaultsToItsRaftAddressesDirectory() {
    assertThat(parse("node", "--raft-addr", "127.0.0.1:7002", "--api-addr", "127.0.0.1:8002", "--join", "127.0.0.1:8001")
        .defaultDataDirectory()).isEqualTo(Path.of("raftoral_data", "node-127.0.0.1-7002"));
  }

  @Test
  void inMemoryAndADataDirectoryExcludeEachOther() {
    assertThatThrownBy(() -> parse("node", "--raft-addr", "127.0.0.1:7001", "--api-addr", "127.0.0.1:8001", "--bootstrap",
        "--in-memory", "--data-dir", "/tmp/x"))
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("mutually exclusive");
    assertThat(parse("node", "--raft-addr", "127.0.0.1:7001", "--api-addr", "127.0.0.1:8001", "--bootstrap", "--in-memory")
        .inMemory).isTrue();
  }

  // The ranges are NodeOptions's; the CLI reports a value out of range with the flag's name.
  @Test
  void anOptionOutOfRangeIsAUsageErrorNamingTheFlag() {
    String[] base = {"node", "--raft-address", "127.0.0.1:7001", "--api-address", "127.0.0.1:8001", "--in-memory"};
    assertThatThrownBy(() -> parse(concat(base, "--bootstrap", "--snapshot-threshold", "0")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--snapshot-threshold must be >= 1, got 0");
    assertThatThrownBy(() -> parse(concat(base, "--bootstrap", "--execution-groups", "2000")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--execution-groups must be between 1 and 1024");
    assertThatThrownBy(() -> parse(concat(base, "--bootstrap", "--batch-linger", "2s")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--batch-linger");
    assertThatThrownBy(() -> parse(concat(base, "--bootstrap", "--snapshot-transfer-rate", "-1")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--snapshot-transfer-rate must be >= 0, got -1");
    assertThatThrownBy(() -> parse(concat(base, "--bootstrap", "--snapshot-chunk-bytes", "1024")))
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("--snapshot-chunk-bytes must be between 65536 and 8388608, got 1024");
    assertThatThrownBy(() -> parse(concat(base, "--bootstrap", "--snapshot-chunk-bytes", "9999999999")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--snapshot-chunk-bytes");
    assertThat(parse(concat(base, "--bootstrap", "--snapshot-transfer-rate", "104857600", "--snapshot-chunk-bytes", "65536"))
        .builder().options())
        .satisfies(o -> assertThat(List.of(o.snapshotTransferRate(), (long) o.snapshotChunkBytes())).containsExactly(104857600L, 65536L));
    assertThatThrownBy(() -> parse(concat(base, "--join", "127.0.0.1:8002", "--members", "1=127.0.0.1:7001")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--members is only for --bootstrap");
    assertThatThrownBy(() -> parse(concat(base, "--bootstrap", "--members", "2=127.0.0.1:7002")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("must include this node");
    // The older spellings still work.
    assertThat(parse("node", "--raft-addr", "127.0.0.1:7001", "--api-addr", "127.0.0.1:8001", "--bootstrap", "--in-memory",
        "--snapshot-every", "20", "--min-group-size", "1", "--group-size", "1", "--no-rejoin").builder().options())
        .satisfies(o -> assertThat(List.of(o.snapshotThreshold(), o.minGroupSize(), o.targetGroupSize(), o.rejoinAfterRemoval()))
            .containsExactly(20L, 1, 1, false));
  }

  // The group sizes bound each other (min <= target <= max, max >= 2 * min - 1): a usage error naming the flag.
  @Test
  void groupSizesThatContradictEachOtherAreAUsageErrorNamingTheFlag() {
    String[] base = {"node", "--raft-address", "127.0.0.1:7001", "--api-address", "127.0.0.1:8001", "--in-memory", "--bootstrap"};
    assertThatThrownBy(() -> parse(concat(base, "--min-group-size", "4", "--target-group-size", "3", "--max-group-size", "7")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--target-group-size must be between 4 and 99, got 3");
    assertThatThrownBy(() -> parse(concat(base, "--target-group-size", "6", "--max-group-size", "5")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--max-group-size must be between 6 and 99, got 5");
    assertThatThrownBy(() -> parse(concat(base, "--min-group-size", "3", "--max-group-size", "4")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--max-group-size must be between 5 and 99, got 4");
    assertThatThrownBy(() -> parse(concat(base, "--min-group-size", "51", "--target-group-size", "99", "--max-group-size", "99")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--min-group-size must be between 1 and 50, got 51");
    assertThat(parse(concat(base, "--min-group-size", "2", "--target-group-size", "4", "--max-group-size", "9")).builder().options())
        .satisfies(o -> assertThat(List.of(o.minGroupSize(), o.targetGroupSize(), o.maxGroupSize())).containsExactly(2, 4, 9));
  }

  // Edge values: a usage error naming the flag, never an ArithmeticException or a failed bind later.
  @Test
  void aHugeDurationOrAPaddedAddressIsAUsageErrorNamingTheFlag() {
    String[] base = {"node", "--api-address", "127.0.0.1:8001", "--in-memory", "--bootstrap"};
    assertThatThrownBy(() -> parse(concat(base, "--raft-address", "127.0.0.1:7001", "--election-timeout", "1000000000000d")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--election-timeout must be between 1 ms and");
    assertThatThrownBy(() -> parse(concat(base, "--raft-address", "127.0.0.1:7001", "--retention", "PT2562047788015216H")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--retention");
    assertThatThrownBy(() -> parse(concat(base, "--raft-address", " 127.0.0.1:7001")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--raft-address must be host:port");
    assertThatThrownBy(() -> parse(concat(base, "--raft-address", "127.0.0.1:7001", "--members", "1= 127.0.0.1:7001")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--members");
  }

  // A member listed twice is one the operator mistyped: which address would win is an accident.
  @Test
  void aMemberGivenTwiceIsAUsageError() {
    String[] base = {"node", "--raft-address", "127.0.0.1:7001", "--api-address", "127.0.0.1:8001", "--in-memory", "--bootstrap"};
    assertThatThrownBy(() -> parse(concat(base, "--members", "1=127.0.0.1:7001,1=127.0.0.1:7009")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--members");
    assertThatThrownBy(() -> parse(concat(base, "--members", "1=127.0.0.1:7001,01=127.0.0.1:7009")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--members");
    assertThatThrownBy(() -> parse(concat(base, "--members", "1=127.0.0.1:7001", "--members", "1=127.0.0.1:7009")))
        .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--members");
  }

  private static String[] concat(String[] a, String... b) {
    return java.util.stream.Stream.concat(java.util.Arrays.stream(a), java.util.Arrays.stream(b)).toArray(String[]::new);
  }

  @Test
  void aWorkflowProviderThatCannotBeLoadedIsAOneLineErrorNotAStackTrace(@TempDir Path classes) throws Exception {
    Path services = Files.createDirectories(classes.resolve("META-INF/services"));
    Files.writeString(services.resolve(WorkflowProvider.class.getName()), "com.example.MissingProvider\n");
    StringWriter err = new StringWriter();
    CommandLine cli = RaftoralCli.commandLine();
    cli.setErr(new PrintWriter(err, true));
    ClassLoader before = Thread.currentThread().getContextClassLoader();
    int code;
    try (URLClassLoader withBadProvider = new URLClassLoader(new URL[] {classes.toUri().toURL()}, before)) {
      Thread.currentThread().setContextClassLoader(withBadProvider);
      code = cli.execute("node", "--raft-address", "127.0.0.1:1", "--api-address", "127.0.0.1:2", "--bootstrap", "--in-memory");
    } finally {
      Thread.currentThread().setContextClassLoader(before);
    }
    assertThat(code).isEqualTo(1);
    assertThat(err.toString())
        .contains("raftoral: cannot load the workflow providers on the classpath")
        .contains("com.example.MissingProvider")
        .doesNotContain("\tat ");
  }
}
