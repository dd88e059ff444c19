package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.common.Errors;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP port's rules ({@link HttpAccess}): who may ask what, and what a refusal says; and {@link PemKeyMaterial}'s errors. */
class HttpAccessTest {
  @TempDir
  static Path dir;

  private static HttpAccess access;
  private static String reader;
  private static String operator;
  private static String worker;

  @BeforeAll
  static void tokens() {
    Path file = dir.resolve("tokens");
    reader = TokenFile.create(file, Role.READER);
    operator = TokenFile.create(file, Role.OPERATOR);
    worker = TokenFile.create(file, Role.WORKER);
    access = new HttpAccess(TokenFile.open(file), () -> 7);
  }

  private static String bearer(String token) {
    return "Bearer " + token;
  }

  @Test
  void healthAndTheConsolesFilesAreOpenToAnyone() {
    for (String path : new String[] {"/health/live", "/health/ready", "/", "/console", "/console/", "/console/index.html",
        "/console/app.js", "/console/style.css", "/console/vendor/htm-preact-standalone.js"}) {
      assertThat(access.check("GET", path, null, "test").allowed()).as(path).isTrue();
    }
    assertThat(access.judge("GET", "/console/../metrics", null).status()).isEqualTo(401);
  }

  @Test
  void readingNeedsAReadersOrAnOperatorsToken() {
    for (String path : new String[] {"/metrics", "/api/v1/workflows", "/api/v1/workflows/x/history", "/api/v1/cluster", "/nothing"}) {
      assertThat(access.judge("GET", path, null).status()).as(path).isEqualTo(401);
      assertThat(access.judge("GET", path, bearer(reader)).allowed()).as(path).isTrue();
      assertThat(access.judge("HEAD", path, bearer(reader)).allowed()).as(path).isTrue();
      assertThat(access.judge("GET", path, bearer(operator)).allowed()).as(path).isTrue();
      HttpAccess.Verdict w = access.judge("GET", path, bearer(worker));
      assertThat(w.status()).as(path).isEqualTo(403);
      assertThat(w.code()).isEqualTo("PERMISSION_DENIED");
      assertThat(w.reason()).contains("token " + TokenFile.idOf(worker) + " (worker) may not GET " + path).doesNotContain(worker);
    }
  }

  @Test
  void aTerminateNeedsAnOperatorsToken() {
    String terminate = "/api/v1/workflows/w1/terminate";
    assertThat(access.judge("POST", terminate, bearer(operator)).allowed()).isTrue();
    HttpAccess.Verdict r = access.judge("POST", terminate, bearer(reader));
    assertThat(r.status()).isEqualTo(403);
    assertThat(r.reason()).contains("(reader) may not POST " + terminate).contains("operator");
    assertThat(access.judge("POST", terminate, bearer(worker)).status()).isEqualTo(403);
    assertThat(access.judge("DELETE", "/api/v1/workflows/w1", bearer(reader)).status()).isEqualTo(403);
    assertThat(access.judge("POST", terminate, null).status()).isEqualTo(401);
  }

  @Test
  void missingMalformedUnknownOrWrongTokensAreUnauthenticatedWithoutTheSecret() {
    HttpAccess.Verdict none = access.judge("GET", "/metrics", null);
    assertThat(none.status()).isEqualTo(401);
    assertThat(none.code()).isEqualTo("UNAUTHENTICATED");
    assertThat(none.reason()).contains("Authorization: Bearer TOKEN");
    assertThat(access.judge("GET", "/metrics", "").status()).isEqualTo(401);
    assertThat(access.judge("GET", "/metrics", "Basic dXNlcjpwYXNz").reason()).contains("must be 'Bearer TOKEN'");
    assertThat(access.judge("GET", "/metrics", "Bearer nonsense").reason()).contains("token malformed is not");
    assertThat(access.judge("GET", "/metrics", "bearer " + reader).allowed()).as("the scheme in any case").isTrue();
    // the right id with another secret
    String wrong = reader.substring(0, reader.length() - 4) + (reader.endsWith("AAAA") ? "BBBB" : "AAAA");
    HttpAccess.Verdict v = access.check("GET", "/metrics", bearer(wrong), "test");
    assertThat(v.status()).isEqualTo(401);
    assertThat(v.reason()).contains("token " + TokenFile.idOf(reader) + " is not one of this node's tokens")
        .doesNotContain(wrong.substring(13));
  }

  @Test
  void aNodeWithACaButNoTokensServesOnlyTheOpenPaths() {
    HttpAccess certificatesOnly = new HttpAccess(null, () -> 7);
    assertThat(certificatesOnly.judge("GET", "/health/ready", null).allowed()).isTrue();
    assertThat(certificatesOnly.judge("GET", "/console/app.js", null).allowed()).isTrue();
    HttpAccess.Verdict v = certificatesOnly.judge("GET", "/api/v1/workflows", bearer(reader));
    assertThat(v.status()).isEqualTo(401);
    assertThat(v.reason()).contains("authenticates by bearer token only").contains("no authTokens file");
  }

  @Test
  void noAccessCheckWithoutTokensOrCa() {
    assertThat(HttpAccess.of(NodeSecurity.none(), () -> 1)).isEmpty();
  }

  @Test
  void pemKeyMaterialReadsTheCertsOfRaftoralCertsAndNamesTheBadFile() throws Exception {
    Path certs = dir.resolve("certs");
    CertificateAuthority.init(certs);
    PemKeyMaterial m = PemKeyMaterial.load(certs.resolve("node.pem"), certs.resolve("node-key.pem"));
    assertThat(m.chain()).isNotEmpty();
    assertThat(m.serverContext().getProtocol()).isEqualTo("TLS");

    Path missing = dir.resolve("missing.pem");
    assertThatThrownBy(() -> PemKeyMaterial.load(missing, certs.resolve("node-key.pem")))
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining("tlsCert").hasMessageContaining(missing.toString());
    Path notACert = Files.writeString(dir.resolve("junk.pem"), "hello");
    assertThatThrownBy(() -> PemKeyMaterial.load(notACert, certs.resolve("node-key.pem")))
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining("tlsCert: " + notACert);
    assertThatThrownBy(() -> PemKeyMaterial.load(certs.resolve("node.pem"), certs.resolve("node.pem")))
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining("tlsKey: " + certs.resolve("node.pem"))
        .hasMessageContaining("PKCS#8");
    Path oldForm = Files.writeString(dir.resolve("old-key.pem"), "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
    assertThatThrownBy(() -> PemKeyMaterial.load(certs.resolve("node.pem"), oldForm))
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining("openssl pkcs8");
    Path garbage = Files.writeString(dir.resolve("bad-key.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assertThatThrownBy(() -> PemKeyMaterial.load(certs.resolve("node.pem"), garbage))
        .isInstanceOf(Errors.InvalidArgumentException.class).hasMessageContaining("tlsKey: " + garbage);
  }
}
