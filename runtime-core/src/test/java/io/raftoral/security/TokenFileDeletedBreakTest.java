package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BREAK (fail-open): deleting the tokens file, the obvious "revoke everything now" after a leak,
 * revokes nothing: {@link TokenFile} treats a missing file like a bad edit and keeps every token
 * it had loaded, for as long as the node runs. docs/SECURITY.md says only that a file that "no
 * longer parses" keeps the tokens read before; a missing file should revoke all tokens (or the
 * node should at least refuse every token until the file is back), not keep them.
 */
class TokenFileDeletedBreakTest {
  @TempDir Path dir;

  @Test
  void deletingTheTokensFileRevokesItsTokens() throws Exception {
    Path file = dir.resolve("tokens");
    String token = TokenFile.create(file, Role.OPERATOR);
    TokenFile tokens = TokenFile.open(file);
    assertThat(tokens.authenticate(token)).isPresent();
    Files.delete(file);
    Thread.sleep(300);
    tokens.authenticate(token); // the look at the file
    Thread.sleep(300);
    assertThat(tokens.authenticate(token)).as("an operator's token 600 ms after its tokens file was deleted").isEmpty();
  }
}
