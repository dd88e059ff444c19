package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
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
}
