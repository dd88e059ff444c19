package io.raftoral.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.security.CertificateAuthority;
import io.raftoral.security.Role;
import io.raftoral.security.TokenFile;
import io.raftoral.workflow.WorkflowDefinition;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP port of a node with tlsCert, tlsKey, tlsCa and authTokens (docs/SECURITY.md): HTTPS
 * with the node's certificate, health and the console's files open, metrics and the console's API
 * behind a bearer token whose role must allow the request.
 */
class SecureHttpTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  static Path dir;

  private static RaftoralNode node;
  private static HttpClient https;
  private static String reader;
  private static String operator;
  private static String worker;

  static WorkflowDefinition<String, String> waitForever() {
    return WorkflowDefinition.of("wait", 1, String.class, String.class, (ctx, in) -> {
      ctx.checkpointCompute("sleep", String.class, () -> {
        Thread.sleep(Long.MAX_VALUE);
        return "never";
      });
      return in;
    });
  }

  @BeforeAll
  static void start() throws Exception {
    Path certs = dir.resolve("certs");
    CertificateAuthority.init(certs);
    Path tokens = dir.resolve("tokens");
    reader = TokenFile.create(tokens, Role.READER);
    operator = TokenFile.create(tokens, Role.OPERATOR);
    worker = TokenFile.create(tokens, Role.WORKER);
    Map<Long, String> raft = LocalCluster.freeAddresses(1);
    node = RaftoralNode.builder().nodeId(1).members(raft).electionTimeout(Duration.ofMillis(500))
        .tlsCert(certs.resolve("node.pem")).tlsKey(certs.resolve("node-key.pem")).tlsCa(certs.resolve("ca.pem"))
        .authTokens(tokens).httpAddress("127.0.0.1:0").register(waitForever()).start();
    https = HttpClient.newBuilder().sslContext(trusting(certs.resolve("ca.pem")))
        .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(10)).build();
  }

  private static SSLContext trusting(Path caPem) throws Exception {
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(caPem)) {
      trust.setCertificateEntry("ca", (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    return context;
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  private static URI uri(String path) {
    return URI.create("https://" + node.httpAddress() + path);
  }

  private static HttpResponse<String> get(String path, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30)).GET();
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return https.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> terminate(String workflowId, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri("/api/v1/workflows/" + workflowId + "/terminate"))
        .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json").header("X-Raftoral-Console", "1")
        .POST(HttpRequest.BodyPublishers.ofString("{\"reason\":\"from the console\"}"));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return https.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void healthAndTheConsolesFilesNeedNoToken() throws Exception {
    assertThat(get("/health/live", null).statusCode()).isEqualTo(200);
    HttpResponse<String> ready = get("/health/ready", null);
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(ready.body()).get("status").asText()).isEqualTo("UP");
    assertThat(get("/console/", null).statusCode()).isEqualTo(200);
    assertThat(get("/console/app.js", null).body()).contains("Authorization");
    assertThat(get("/", null).statusCode()).isEqualTo(302);
  }

  @Test
  void metricsNeedAReadersToken() throws Exception {
    HttpResponse<String> refused = get("/metrics", null);
    assertThat(refused.statusCode()).isEqualTo(401);
    assertThat(refused.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"raftoral\"");
    JsonNode error = JSON.readTree(refused.body());
    assertThat(error.get("code").asText()).isEqualTo("UNAUTHENTICATED");
    assertThat(error.get("error").asText()).contains("Bearer");

    HttpResponse<String> scraped = get("/metrics", reader);
    assertThat(scraped.statusCode()).isEqualTo(200);
    assertThat(scraped.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
    assertThat(scraped.body()).contains("# TYPE").contains("raftoral_");

    assertThat(get("/metrics", worker).statusCode()).as("a worker's token reads nothing").isEqualTo(403);
  }

  @Test
  void aReaderListsButMayNotTerminateAndAnOperatorMay() throws Exception {
    node.start("wait", 1, "x", String.class, "held-http");
    HttpResponse<String> list = get("/api/v1/workflows", reader);
    assertThat(list.statusCode()).isEqualTo(200);
    assertThat(list.body()).contains("held-http");
    assertThat(get("/api/v1/workflows", null).statusCode()).isEqualTo(401);
    assertThat(get("/api/v1/workflows", worker).statusCode()).isEqualTo(403);

    HttpResponse<String> denied = terminate("held-http", reader);
    assertThat(denied.statusCode()).isEqualTo(403);
    JsonNode error = JSON.readTree(denied.body());
    assertThat(error.get("code").asText()).isEqualTo("PERMISSION_DENIED");
    assertThat(error.get("error").asText()).contains("(reader) may not POST");
    assertThat(terminate("held-http", null).statusCode()).isEqualTo(401);
    assertThat(node.describe("held-http").status()).as("the refused terminates did nothing").isEqualTo(WorkflowStatus.RUNNING);

    HttpResponse<String> done = terminate("held-http", operator);
    assertThat(done.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(done.body()).get("status").asText()).isEqualTo("TERMINATED");
    assertThat(node.describe("held-http").status()).isEqualTo(WorkflowStatus.TERMINATED);
  }

  @Test
  void aWrongTokenIsRefusedAndItsSecretIsNeitherAnsweredNorLogged() throws Exception {
    String secret = reader.substring(reader.lastIndexOf('_') + 1);
    String wrong = reader.substring(0, reader.length() - secret.length()) + new StringBuilder(secret).reverse();
    String wrongSecret = wrong.substring(wrong.lastIndexOf('_') + 1);
    assertThat(wrongSecret).isNotEqualTo(secret);
    Thread.sleep(300); // past the refusal log's rate limit
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream err = System.err;
    System.setErr(new PrintStream(new Tee(err, log), true, StandardCharsets.UTF_8));
    HttpResponse<String> refused;
    try {
      refused = get("/api/v1/workflows?x=1", wrong);
    } finally {
      System.setErr(err);
    }
    assertThat(refused.statusCode()).isEqualTo(401);
    assertThat(refused.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"raftoral\"");
    assertThat(refused.body()).contains("token " + TokenFile.idOf(reader) + " is not one of this node's tokens")
        .doesNotContain(wrongSecret).doesNotContain(secret);
    String logged = log.toString(StandardCharsets.UTF_8);
    assertThat(logged).contains("refused http GET /api/v1/workflows").contains(TokenFile.idOf(reader))
        .doesNotContain(wrongSecret).doesNotContain(secret);
  }

  @Test
  void plainHttpToTheTlsPortGetsNoAnswer() {
    HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + node.httpAddress() + "/health/live"))
        .timeout(Duration.ofSeconds(10)).build();
    assertThatThrownBy(() -> plain.send(request, HttpResponse.BodyHandlers.ofString())).isInstanceOf(IOException.class);
  }

  /** Writes to both. */
  private static final class Tee extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    Tee(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public synchronized void write(int c) throws IOException {
      a.write(c);
      b.write(c);
    }

    @Override
    public synchronized void write(byte[] bytes, int off, int len) throws IOException {
      a.write(bytes, off, len);
      b.write(bytes, off, len);
    }

    @Override
    public void flush() throws IOException {
      a.flush();
      b.flush();
    }
  }
}
