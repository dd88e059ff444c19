package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * BREAK: {@link TokenFile} tells a changed file by (modification time, size, inode) only. A token
 * revoked by rewriting the file in place with a line of the same length (one reader's token
 * replaced by another's: every reader line has the same length) within the same timestamp tick
 * as the version the node read is never reloaded: the revoked token stays in force, and the new
 * one is never accepted, until some later, unrelated edit. ("racy git": a file modified in the
 * tick its stamp was taken in must be treated as possibly changed, e.g. by comparing content or a
 * hash when mtime is within a tick of the last check.)
 */
class TokenFileStampBreakTest {
  @TempDir Path dir;

  @Test
  void aRevocationWrittenInTheTickTheFileWasReadIsSeen() throws Exception {
    Path file = dir.resolve("tokens");
    Path other = dir.resolve("other");
    String revoked = TokenFile.create(file, Role.READER);
    String replacement = TokenFile.create(other, Role.READER);
    byte[] replacementContent = Files.readAllBytes(other);
    assertThat(replacementContent.length).isEqualTo(Files.size(file));
    FileTime before = Files.getLastModifiedTime(file);
    TokenFile tokens = TokenFile.open(file);
    assertThat(tokens.authenticate(revoked)).isPresent();
    // Rewritten in place (same inode, same size), its mtime the same as the version read: what a
    // second write within one coarse timestamp tick (jiffy on Linux, 1-2 s on some filesystems) or
    // a tool that keeps mtimes (rsync --inplace -t, cp -p over it) leaves.
    Files.write(file, replacementContent);
    Files.setLastModifiedTime(file, before);
    Thread.sleep(300);
    tokens.authenticate(replacement); // triggers the look at the file
    Thread.sleep(300);
    assertThat(tokens.authenticate(revoked)).as("the revoked token, 600 ms after its line was replaced").isEmpty();
    assertThat(tokens.authenticate(replacement)).as("the token that replaced it").isPresent();
  }
}
