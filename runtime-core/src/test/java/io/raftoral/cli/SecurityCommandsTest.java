package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.security.Role;
import io.raftoral.security.TokenFile;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code raftoral certs init} and {@code raftoral token create}, run as the CLI runs them. */
class SecurityCommandsTest {
  @TempDir
  Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine cli = RaftoralCli.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  private List<String> outLines() {
    return out.toString().lines().toList();
  }

  @Test
  void certsInitWritesTheFilesAndPrintsThemOneALine() {
    Path certs = dir.resolve("certs");
    assertThat(run("certs", "init", certs.toString())).isEqualTo(ExitCode.OK);

    List<String> names = List.of("ca.pem", "ca-key.pem", "node.pem", "node-key.pem", "client.pem", "client-key.pem");
    assertThat(outLines()).containsExactlyElementsOf(names.stream().map(n -> certs.resolve(n).toString()).toList());
    names.forEach(n -> assertThat(certs.resolve(n)).isRegularFile());
    assertThat(err.toString()).isEmpty();
  }

  @Test
  void certsInitPrintsOneJsonObjectWithOutputJson() throws Exception {
    assertThat(run("--output", "json", "certs", "init", dir.resolve("a").toString())).isEqualTo(ExitCode.OK);
    assertThat(run("certs", "init", dir.resolve("b").toString(), "--output", "json")).isEqualTo(ExitCode.OK);

    List<String> lines = outLines();
    assertThat(lines).hasSize(2);
    for (int i = 0; i < 2; i++) {
      JsonNode json = new ObjectMapper().readTree(lines.get(i));
      assertThat(json.path("files")).hasSize(6);
      assertThat(json.path("files").get(0).asText()).isEqualTo(dir.resolve(i == 0 ? "a" : "b").resolve("ca.pem").toString());
    }
  }

  @Test
  void certsInitRefusesADirectoryWithACa() throws Exception {
    assertThat(run("certs", "init", dir.toString())).isEqualTo(ExitCode.OK);
    byte[] ca = Files.readAllBytes(dir.resolve("ca.pem"));
    out.getBuffer().setLength(0);

    assertThat(run("certs", "init", dir.toString())).isEqualTo(ExitCode.USAGE);
    assertThat(err.toString().lines().toList()).singleElement().asString()
        .startsWith("raftoral: ").contains(dir.toString()).contains("ca.pem").contains("refusing");
    assertThat(out.toString()).isEmpty();
    assertThat(Files.readAllBytes(dir.resolve("ca.pem"))).isEqualTo(ca);
  }

  @Test
  void aRefusedInitWithOutputJsonIsOneJsonError() throws Exception {
    assertThat(run("certs", "init", dir.toString())).isEqualTo(ExitCode.OK);
    out.getBuffer().setLength(0);

    assertThat(run("certs", "init", dir.toString(), "--output", "json")).isEqualTo(ExitCode.USAGE);
    JsonNode json = new ObjectMapper().readTree(out.toString());
    assertThat(json.path("error").path("kind").asText()).isEqualTo("InvalidArgumentException");
    assertThat(json.path("error").path("message").asText()).contains("ca.pem");
    assertThat(json.path("exitCode").asInt()).isEqualTo(ExitCode.USAGE);
  }

  @Test
  void certsWithoutACommandOrDirIsAUsageError() {
    assertThat(run("certs")).isEqualTo(ExitCode.USAGE);
    assertThat(err.toString()).startsWith("raftoral: a command is required: init");
    err.getBuffer().setLength(0);
    assertThat(run("certs", "init")).isEqualTo(ExitCode.USAGE);
    assertThat(err.toString()).startsWith("raftoral: ").contains("DIR");
  }

  @Test
  void tokenCreatePrintsTheTokenAloneAndItAuthenticates() {
    Path file = dir.resolve("conf/tokens");
    assertThat(run("token", "create", "--role", "Operator", "--file", file.toString())).isEqualTo(ExitCode.OK);

    String token = out.toString().strip();
    assertThat(out.toString()).isEqualTo(token + System.lineSeparator());
    assertThat(token).matches("rft_[0-9a-f]{8}_[A-Za-z0-9_-]{43}");
    assertThat(TokenFile.open(file).authenticate(token))
        .contains(new TokenFile.Authenticated(TokenFile.idOf(token), Role.OPERATOR));
    assertThat(err.toString()).contains(TokenFile.idOf(token)).contains("only").doesNotContain(token);
  }

  @Test
  void tokenCreateWithOutputJsonCarriesTheTokenAndItsRole() throws Exception {
    Path file = dir.resolve("tokens");
    assertThat(run("token", "create", "--role", "worker", "--file", file.toString(), "--output", "json")).isEqualTo(ExitCode.OK);

    JsonNode json = new ObjectMapper().readTree(out.toString());
    String token = json.path("token").asText();
    assertThat(json.path("tokenId").asText()).isEqualTo(TokenFile.idOf(token));
    assertThat(json.path("role").asText()).isEqualTo("worker");
    assertThat(TokenFile.open(file).authenticate(token)).map(TokenFile.Authenticated::role).contains(Role.WORKER);
  }

  @Test
  void anUnknownRoleIsAUsageErrorListingTheRoles() {
    Path file = dir.resolve("tokens");
    assertThat(run("token", "create", "--role", "admin", "--file", file.toString())).isEqualTo(ExitCode.USAGE);
    assertThat(err.toString().lines().findFirst()).get().asString()
        .startsWith("raftoral: ").contains("admin").contains("reader, operator, worker");
    assertThat(out.toString()).isEmpty();
    assertThat(file).doesNotExist();
  }

  @Test
  void aMissingOptionIsAUsageError() {
    assertThat(run("token", "create", "--role", "reader")).isEqualTo(ExitCode.USAGE);
    assertThat(err.toString()).startsWith("raftoral: ").contains("--file");
    assertThat(out.toString()).isEmpty();
  }

  @Test
  void aMalformedTokenFileIsRefusedNamingTheLine() throws Exception {
    Path file = dir.resolve("tokens");
    Files.writeString(file, "# tokens\nnot a token\n");
    assertThat(run("token", "create", "--role", "reader", "--file", file.toString())).isEqualTo(ExitCode.USAGE);
    assertThat(err.toString().lines().toList()).singleElement().asString()
        .startsWith("raftoral: ").contains(file.toString()).contains("line 2");
    assertThat(out.toString()).isEmpty();
    assertThat(Files.readString(file)).isEqualTo("# tokens\nnot a token\n");
  }
}
