package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BREAK: a tokens file saved by an editor that writes a UTF-8 byte order mark (Notepad, some
 * Windows tools) is refused: the BOM is not whitespace to {@code String.strip()}, so the first
 * line's role reads "\uFEFFoperator" and the whole file fails ("unknown role"). At start the node
 * does not start; on a reload the edit (a revocation, say) is ignored and the old tokens stay.
 * CRLF line ends, by contrast, are taken.
 */
class TokenFileBomBreakTest {
  @TempDir Path dir;

  @Test
  void aTokensFileWithAByteOrderMarkIsRead() throws Exception {
    Path file = dir.resolve("tokens");
    String token = TokenFile.create(file, Role.OPERATOR);
    String content = Files.readString(file, StandardCharsets.UTF_8).replace("\n", "\r\n");
    Files.writeString(file, "\uFEFF" + content, StandardCharsets.UTF_8);
    TokenFile tokens = TokenFile.open(file);
    assertThat(tokens.authenticate(token)).isPresent();
  }
}
