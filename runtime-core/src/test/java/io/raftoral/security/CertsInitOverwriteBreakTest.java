package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BREAK: {@code raftoral certs init DIR} refuses a directory with a {@code ca.pem}, "so that a CA the
 * cluster trusts is never replaced by accident", but silently overwrites a node's certificate and
 * private key (and a client's) that are already there when the CA lives elsewhere (or under
 * another name): a node's key, lost for good.
 */
class CertsInitOverwriteBreakTest {
  @TempDir Path dir;

  @Test
  void certsInitDoesNotOverwriteAnExistingNodeKey() throws Exception {
    Files.writeString(dir.resolve("node.pem"), "the node's own certificate\n");
    Files.writeString(dir.resolve("node-key.pem"), "the node's own private key\n");
    try {
      CertificateAuthority.init(dir);
    } catch (RuntimeException refused) {
      // refusing is fine: what must not happen is losing the files
    }
    assertThat(Files.readString(dir.resolve("node-key.pem"))).as("node-key.pem after certs init")
        .isEqualTo("the node's own private key\n");
    assertThat(Files.readString(dir.resolve("node.pem"))).as("node.pem after certs init")
        .isEqualTo("the node's own certificate\n");
  }
}
