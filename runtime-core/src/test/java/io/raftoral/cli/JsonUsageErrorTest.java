package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * docs/CLI.md: "With --output json stdout carries exactly one JSON object (one line), also for
 * errors". A usage error the CLI finds itself (exit 2, before any call) is an error too: a script
 * reading stdout must not get nothing.
 */
class JsonUsageErrorTest {
  @ParameterizedTest
  @ValueSource(strings = {"describe| ", "list|--limit|-5", "list|--status|NOPE", "start|t|--version|1|--input|{bad", "nope"})
  void aUsageErrorWithOutputJsonIsOneJsonObjectToo(String args) throws IOException {
    StringWriter out = new StringWriter();
    CommandLine cli = RaftoralCli.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(new StringWriter(), true));
    // No node listens on port 1: none of these may get as far as calling one.
    String[] command = Stream.concat(Arrays.stream(args.split("\\|")), Stream.of("--api", "127.0.0.1:1", "--output", "json"))
        .toArray(String[]::new);
    int exit = cli.execute(command);
    assertThat(exit).isEqualTo(2);
    JsonNode json = new ObjectMapper().readTree(out.toString());
    assertThat(json.path("error").path("message").asText()).as("stdout of %s: '%s'", args, out).isNotBlank();
    assertThat(json.path("error").path("kind").asText()).isEqualTo("InvalidArgumentException");
    assertThat(json.path("exitCode").asInt()).isEqualTo(2);
  }
}
