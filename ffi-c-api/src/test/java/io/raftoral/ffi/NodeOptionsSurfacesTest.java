package io.raftoral.ffi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.api.RaftoralNode;
import io.raftoral.cli.RaftoralCli;
import io.raftoral.common.Errors;
import io.raftoral.config.NodeOptions;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every node option ({@link NodeOptions#OPTIONS}) exists on every surface under the name the
 * naming rule gives it, and a value set there reaches the node's options: the Java builder, the
 * CLI's {@code raftoral node}, the C ABI's JSON configuration, Python's {@code Node} keywords,
 * Go's {@code Config}, the C header's documentation and docs/CONFIGURATION.md. A surface that
 * misses an option, or has one that is not a node option, fails here.
 */
class NodeOptionsSurfacesTest {
  private static final Path REPO = Path.of("..").toAbsolutePath().normalize();

  /** A value of each option (none of them its default) as each surface spells it. */
  private record Sample(Object value, List<String> cli, String json) {}

  private static final Map<String, Sample> SAMPLES = new LinkedHashMap<>();

  static {
    sample("nodeId", 5L, List.of("--node-id", "5"), "5");
    // The raft address the CLI case also gives (127.0.0.1:7001): a member entry must agree with it.
    sample("members", Map.of(1L, "127.0.0.1:7001"), List.of("--members", "1=127.0.0.1:7001"), "{\"1\": \"127.0.0.1:7001\"}");
    sample("raftAddress", "127.0.0.1:7009", List.of("--raft-address", "127.0.0.1:7009"), "\"127.0.0.1:7009\"");
    sample("apiAddress", "127.0.0.1:8009", List.of("--api-address", "127.0.0.1:8009"), "\"127.0.0.1:8009\"");
    sample("workerAddress", "127.0.0.1:9009", List.of("--worker-address", "127.0.0.1:9009"), "\"127.0.0.1:9009\"");
    sample("httpAddress", "127.0.0.1:9109", List.of("--http-address", "127.0.0.1:9109"), "\"127.0.0.1:9109\"");
    sample("join", List.of("127.0.0.1:8001"), List.of("--join", "127.0.0.1:8001"), "[\"127.0.0.1:8001\"]");
    sample("dataDir", Path.of("/tmp/raftoral-x"), List.of("--data-dir", "/tmp/raftoral-x"), "\"/tmp/raftoral-x\"");
    sample("clusterId", "blue", List.of("--cluster-id", "blue"), "\"blue\"");
    sample("executionGroups", 4, List.of("--execution-groups", "4"), "4");
    sample("electionTimeout", Duration.ofMillis(700), List.of("--election-timeout", "700ms"), "700");
    sample("requestTimeout", Duration.ofSeconds(9), List.of("--request-timeout", "9s"), "9000");
    sample("maxInFlightEntries", 6, List.of("--max-in-flight-entries", "6"), "6");
    sample("batchLinger", Duration.ofNanos(300_000), List.of("--batch-linger", "300us"), "300");
    sample("maxVoters", 5, List.of("--max-voters", "5"), "5");
    sample("minGroupSize", 2, List.of("--min-group-size", "2"), "2");
    sample("targetGroupSize", 5, List.of("--target-group-size", "5"), "5");
    sample("maxGroupSize", 7, List.of("--max-group-size", "7"), "7");
    sample("nodeFailureTimeout", Duration.ofSeconds(45), List.of("--node-failure-timeout", "45s"), "45000");
    sample("rejoinAfterRemoval", false, List.of("--rejoin-after-removal", "false"), "false");
    sample("retention", Duration.ofHours(12), List.of("--retention", "12h"), "43200000");
    sample("snapshotThreshold", 50L, List.of("--snapshot-threshold", "50"), "50");
    sample("payloadLimitBytes", 1000, List.of("--payload-limit-bytes", "1000"), "1000");
    sample("snapshotTransferRate", 52428800L, List.of("--snapshot-transfer-rate", "52428800"), "52428800");
    sample("snapshotChunkBytes", 262144, List.of("--snapshot-chunk-bytes", "262144"), "262144");
    sample("tlsCert", Path.of("/tmp/n.pem"), List.of("--tls-cert", "/tmp/n.pem"), "\"/tmp/n.pem\"");
    sample("tlsKey", Path.of("/tmp/n-key.pem"), List.of("--tls-key", "/tmp/n-key.pem"), "\"/tmp/n-key.pem\"");
    sample("tlsCa", Path.of("/tmp/ca.pem"), List.of("--tls-ca", "/tmp/ca.pem"), "\"/tmp/ca.pem\"");
    sample("authTokens", Path.of("/tmp/tokens"), List.of("--auth-tokens", "/tmp/tokens"), "\"/tmp/tokens\"");
  }

  /** Options valid only with others (a TLS key needs its certificate): the other options' samples go along. */
  private static final Map<String, List<String>> COMPANIONS = Map.of(
      "tlsCert", List.of("tlsKey"), "tlsKey", List.of("tlsCert"), "tlsCa", List.of("tlsCert", "tlsKey"));

  private static void sample(String name, Object value, List<String> cli, String json) {
    SAMPLES.put(name, new Sample(value, cli, json));
  }

  @Test
  void theCatalogDescribesEveryOptionOnceAndEachHasASample() {
    List<String> components = java.util.Arrays.stream(NodeOptions.class.getRecordComponents()).map(RecordComponent::getName).toList();
    assertThat(NodeOptions.OPTIONS.stream().map(NodeOptions.Option::name).toList()).containsExactlyElementsOf(components);
    assertThat(SAMPLES.keySet()).as("a sample for each option (add one for a new option)").containsExactlyElementsOf(components);
    for (NodeOptions.Option o : NodeOptions.OPTIONS) {
      assertThat(o.doc()).as(o.name()).isNotBlank();
      assertThat(o.defaultValue()).as(o.name()).isNotBlank();
      assertThat(o.range()).as(o.name()).isNotBlank();
      assertThat(value(NodeOptions.defaults(), o)).as(o.name() + ": the sample must differ from the default")
          .isNotEqualTo(SAMPLES.get(o.name()).value());
    }
  }

  @Test
  void theNamingRule() {
    NodeOptions.Option o = NodeOptions.option("snapshotThreshold");
    assertThat(List.of(o.cliName(), o.cKey(), o.pythonName(), o.goName()))
        .containsExactly("--snapshot-threshold", "snapshot_threshold", "snapshot_threshold", "SnapshotThreshold");
    assertThat(NodeOptions.option("retention").cKey()).isEqualTo("retention_ms");
    assertThat(NodeOptions.option("batchLinger").cKey()).isEqualTo("batch_linger_us");
    assertThat(NodeOptions.option("nodeId").goName()).isEqualTo("NodeID");
    assertThat(NodeOptions.option("apiAddress").goName()).isEqualTo("APIAddress");
  }

  @Test
  void theBuilderHasAMethodPerOptionThatSetsIt() throws Exception {
    for (NodeOptions.Option o : NodeOptions.OPTIONS) {
      Object sample = SAMPLES.get(o.name()).value();
      Method setter = java.util.Arrays.stream(RaftoralNode.Builder.class.getMethods())
          .filter(m -> m.getName().equals(o.name()) && m.getParameterCount() == 1).findFirst()
          .orElseThrow(() -> new AssertionError("RaftoralNode.Builder has no method " + o.name()));
      RaftoralNode.Builder b = RaftoralNode.builder();
      setter.invoke(b, sample);
      assertThat(value(b.options(), o)).as(o.name()).isEqualTo(sample);
    }
  }

  @Test
  void theCliHasAFlagPerOptionThatSetsIt() throws Exception {
    Set<String> notOptions = Set.of("--in-memory", "--bootstrap", "--output", "--help", "--no-rejoin", "--workflows");
    CommandLine node = RaftoralCli.commandLine().getSubcommands().get("node");
    for (OptionSpec spec : node.getCommandSpec().options()) {
      boolean isOption = NodeOptions.OPTIONS.stream().anyMatch(o -> List.of(spec.names()).contains(o.cliName()));
      assertThat(isOption || notOptions.contains(spec.longestName()))
          .as("raftoral node " + spec.longestName() + " is a node option named by the rule, or a flag of the CLI's own").isTrue();
    }
    for (NodeOptions.Option o : NodeOptions.OPTIONS) {
      assertThat(node.getCommandSpec().findOption(o.cliName())).as("raftoral node " + o.cliName()).isNotNull();
      Sample sample = SAMPLES.get(o.name());
      List<String> args = new ArrayList<>(List.of("node"));
      if (!o.name().equals("raftAddress")) {
        args.addAll(List.of("--raft-address", "127.0.0.1:7001"));
      }
      if (!o.name().equals("apiAddress")) {
        args.addAll(List.of("--api-address", "127.0.0.1:8001"));
      }
      if (!o.name().equals("join")) {
        args.add("--bootstrap");
      }
      if (!o.name().equals("dataDir")) {
        args.add("--in-memory");
      }
      args.addAll(sample.cli());
      COMPANIONS.getOrDefault(o.name(), List.of()).forEach(c -> args.addAll(SAMPLES.get(c).cli()));
      if (o.name().equals("members")) {
        args.addAll(List.of("--node-id", "1"));
      }
      CommandLine cli = RaftoralCli.commandLine();
      CommandLine.ParseResult parsed = cli.parseArgs(args.toArray(String[]::new));
      Object command = parsed.subcommand().commandSpec().userObject();
      Method validate = command.getClass().getDeclaredMethod("validate");
      validate.setAccessible(true);
      validate.invoke(command);
      Method builder = command.getClass().getDeclaredMethod("builder");
      builder.setAccessible(true);
      NodeOptions options = ((RaftoralNode.Builder) builder.invoke(command)).options();
      assertThat(value(options, o)).as(String.join(" ", args)).isEqualTo(sample.value());
    }
  }

  @Test
  void theCAbiConfigurationHasAKeyPerOptionThatSetsIt() {
    for (NodeOptions.Option o : NodeOptions.OPTIONS) {
      Sample sample = SAMPLES.get(o.name());
      StringBuilder json = new StringBuilder("{\"" + o.cKey() + "\": " + sample.json());
      COMPANIONS.getOrDefault(o.name(), List.of())
          .forEach(c -> json.append(", \"").append(NodeOptions.option(c).cKey()).append("\": ").append(SAMPLES.get(c).json()));
      NodeOptions options = NodeConfig.parse(json.append("}").toString()).builder().options();
      assertThat(value(options, o)).as(o.cKey()).isEqualTo(sample.value());
    }
    // Ranges are NodeOptions's, named as the C ABI names the key.
    assertThatThrownBy(() -> NodeConfig.parse("{\"snapshot_threshold\": 0}"))
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining("snapshot_threshold must be >= 1");
    assertThatThrownBy(() -> NodeConfig.parse("{\"batch_linger_us\": 1000001}"))
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining("batch_linger_us");
  }

  @Test
  void pythonHasAKeywordPerOption() throws IOException {
    String source = Files.readString(REPO.resolve("bindings-python/raftoral/_node.py"));
    String init = between(source, "    def __init__(\n", ") -> None:");
    Set<String> keywords = names(init, "^\\s+(\\w+):", Pattern.MULTILINE);
    Set<String> own = Set.of("self", "start_timeout", "close_grace", "codec", "options");
    for (NodeOptions.Option o : NodeOptions.OPTIONS) {
      assertThat(keywords).as("Node(" + o.pythonName() + "=...)").contains(o.pythonName());
      assertThat(source).as("_node.py sends " + o.cKey()).containsAnyOf("\"" + o.cKey() + "\"", "(\"" + o.pythonName() + "\", ");
    }
    for (String k : keywords) {
      assertThat(own.contains(k) || NodeOptions.OPTIONS.stream().anyMatch(o -> o.pythonName().equals(k)))
          .as("Python keyword " + k + " is a node option or the binding's own").isTrue();
    }
  }

  @Test
  void goHasAConfigFieldPerOption() throws IOException {
    String source = Files.readString(REPO.resolve("bindings-go/node.go"));
    String struct = between(source, "type Config struct {\n", "\n}\n");
    Set<String> fields = names(struct, "^\\t(\\w+) ", Pattern.MULTILINE);
    Set<String> own = Set.of("StartTimeout", "CloseGrace");
    for (NodeOptions.Option o : NodeOptions.OPTIONS) {
      assertThat(fields).as("Config." + o.goName()).contains(o.goName());
      assertThat(source).as("node.go sends " + o.cKey()).contains("\"" + o.cKey() + "\"");
    }
    for (String f : fields) {
      assertThat(own.contains(f) || NodeOptions.OPTIONS.stream().anyMatch(o -> o.goName().equals(f)))
          .as("Go Config." + f + " is a node option or the binding's own").isTrue();
    }
  }

  @Test
  void theHeaderAndTheDocsListEveryOption() throws IOException {
    String header = Files.readString(REPO.resolve("ffi-c-api/include/raftoral.h"));
    List<String> docs = Files.readAllLines(REPO.resolve("docs/CONFIGURATION.md"));
    for (NodeOptions.Option o : NodeOptions.OPTIONS) {
      assertThat(header).as("raftoral.h documents " + o.cKey()).contains("\"" + o.cKey() + "\"");
      List<String> names = List.of("`" + o.name() + "`", "`" + o.cliName() + "`", "`" + o.cKey() + "`", "`" + o.pythonName() + "`",
          "`" + o.goName() + "`");
      assertThat(docs.stream().anyMatch(line -> names.stream().allMatch(line::contains)))
          .as("docs/CONFIGURATION.md has a row naming " + names).isTrue();
    }
  }

  private static Object value(NodeOptions options, NodeOptions.Option o) {
    try {
      return NodeOptions.class.getMethod(o.name()).invoke(options);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  private static String between(String s, String from, String to) {
    int a = s.indexOf(from);
    assertThat(a).as("finds " + from.strip()).isNotNegative();
    int b = s.indexOf(to, a + from.length());
    return s.substring(a + from.length(), b);
  }

  private static Set<String> names(String text, String regex, int flags) {
    Matcher m = Pattern.compile(regex, flags).matcher(text);
    Set<String> out = new java.util.LinkedHashSet<>();
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }
}
