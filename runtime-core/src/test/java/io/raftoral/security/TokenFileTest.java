package io.raftoral.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.raftoral.common.Errors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenFileTest {
  private static final Duration PATIENCE = Duration.ofSeconds(5);

  @TempDir
  Path dir;

  @Test
  void aCreatedTokenAuthenticatesWithItsRole() {
    Path file = dir.resolve("nested/dirs/tokens");
    String reader = TokenFile.create(file, Role.READER);
    String operator = TokenFile.create(file, Role.OPERATOR);
    String worker = TokenFile.create(file, Role.WORKER);

    TokenFile tokens = TokenFile.open(file);
    assertThat(tokens.authenticate(reader)).contains(new TokenFile.Authenticated(TokenFile.idOf(reader), Role.READER));
    assertThat(tokens.authenticate(operator)).contains(new TokenFile.Authenticated(TokenFile.idOf(operator), Role.OPERATOR));
    assertThat(tokens.authenticate(worker)).contains(new TokenFile.Authenticated(TokenFile.idOf(worker), Role.WORKER));
  }

  @Test
  void tokensHaveTheDocumentedShape() {
    String token = TokenFile.create(dir.resolve("tokens"), Role.READER);
    assertThat(token).matches("rft_[0-9a-f]{8}_[A-Za-z0-9_-]{43}");
    assertThat(TokenFile.idOf(token)).isEqualTo(token.substring(4, 12));
    assertThat(TokenFile.idOf("rft_nothex!!_x")).isEqualTo("malformed");
    assertThat(TokenFile.idOf(null)).isEqualTo("malformed");
  }

  @Test
  void theFileIsPrivateAndHoldsNoSecret() throws Exception {
    Path file = dir.resolve("tokens");
    List<String> secrets = new ArrayList<>();
    for (Role role : Role.values()) {
      secrets.add(TokenFile.create(file, role).substring(13));
    }
    String content = Files.readString(file);
    for (String secret : secrets) {
      assertThat(content).doesNotContain(secret);
    }
    List<String> lines = Files.readAllLines(file);
    assertThat(lines).hasSize(3).allMatch(l -> l.matches("(reader|operator|worker) [0-9a-f]{8} [A-Za-z0-9_-]{22} [A-Za-z0-9_-]{43}"));
    if (file.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      assertThat(Files.getPosixFilePermissions(file))
          .isEqualTo(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
    }
  }

  @Test
  void anythingButAValidTokenIsRefused() {
    Path file = dir.resolve("tokens");
    String token = TokenFile.create(file, Role.OPERATOR);
    TokenFile tokens = TokenFile.open(file);
    String id = TokenFile.idOf(token);
    String otherSecret = TokenFile.create(dir.resolve("other"), Role.OPERATOR).substring(13);
    String unknownId = Integer.toHexString(Integer.parseUnsignedInt(id, 16) ^ 1);
    unknownId = "0".repeat(8 - unknownId.length()) + unknownId;

    assertThat(tokens.authenticate("rft_" + id + "_" + otherSecret)).as("wrong secret").isEmpty();
    assertThat(tokens.authenticate("rft_" + unknownId + "_" + token.substring(13))).as("unknown id").isEmpty();
    assertThat(tokens.authenticate(token + "x")).as("too long").isEmpty();
    assertThat(tokens.authenticate(token.toUpperCase())).as("upper case").isEmpty();
    assertThat(tokens.authenticate("garbage")).isEmpty();
    assertThat(tokens.authenticate("")).isEmpty();
    assertThat(tokens.authenticate(null)).isEmpty();
    assertThat(tokens.authenticate(token)).isPresent();
  }

  @Test
  void commentsAndBlankLinesAreIgnored() throws Exception {
    Path file = dir.resolve("tokens");
    String token = TokenFile.create(file, Role.READER);
    Files.writeString(file, "# the readers\n\n   \n" + Files.readString(file) + "\n# end\n");
    assertThat(TokenFile.open(file).authenticate(token)).map(TokenFile.Authenticated::role).contains(Role.READER);
  }

  @Test
  void aMalformedLineIsRefusedNamingFileAndLine() throws Exception {
    Path file = dir.resolve("tokens");
    TokenFile.create(file, Role.READER);
    Files.writeString(file, Files.readString(file) + "# comment\nadmin 0123abcd c2FsdA " + "A".repeat(43) + "\n");
    assertThatThrownBy(() -> TokenFile.open(file))
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("line 3")
        .hasMessageContaining("admin");

    Files.writeString(file, "reader 0123abcd\n");
    assertThatThrownBy(() -> TokenFile.open(file)).hasMessageContaining("line 1").hasMessageContaining("4 fields");
  }

  @Test
  void aMissingFileIsRefused() {
    Path file = dir.resolve("absent");
    assertThatThrownBy(() -> TokenFile.open(file))
        .isInstanceOf(Errors.InvalidArgumentException.class)
        .hasMessageContaining(file.toString());
  }

  @Test
  void aTokenCreatedAfterOpenIsAcceptedWithoutReopening() {
    Path file = dir.resolve("tokens");
    TokenFile.create(file, Role.READER);
    TokenFile tokens = TokenFile.open(file);
    String later = TokenFile.create(file, Role.WORKER);
    eventually(() -> tokens.authenticate(later).isPresent(), "the token created after open() is accepted");
    assertThat(tokens.authenticate(later)).map(TokenFile.Authenticated::role).contains(Role.WORKER);
  }

  @Test
  void aRemovedLineStopsBeingAccepted() throws Exception {
    Path file = dir.resolve("tokens");
    String kept = TokenFile.create(file, Role.READER);
    String revoked = TokenFile.create(file, Role.OPERATOR);
    TokenFile tokens = TokenFile.open(file);
    assertThat(tokens.authenticate(revoked)).isPresent();

    removeLineOf(file, revoked);
    eventually(() -> tokens.authenticate(revoked).isEmpty(), "the revoked token is refused");
    assertThat(tokens.authenticate(kept)).isPresent();
  }

  @Test
  void aMalformedEditKeepsTheTokensLoadedBeforeAndWarnsOnce() throws Exception {
    Path file = dir.resolve("tokens");
    String first = TokenFile.create(file, Role.READER);
    String second = TokenFile.create(file, Role.OPERATOR);
    TokenFile tokens = TokenFile.open(file);

    // Removes `second` and adds a bad line: were the edit taken, `second` would be refused.
    removeLineOf(file, second);
    Files.writeString(file, Files.readString(file) + "not a token line\n");
    eventually(() -> {
      tokens.authenticate(first);
      return tokens.refusedChanges() == 1;
    }, "the malformed edit is seen");
    for (int i = 0; i < 3; i++) {
      assertThat(tokens.authenticate(first)).isPresent();
      assertThat(tokens.authenticate(second)).isPresent();
    }
    assertThat(tokens.refusedChanges()).as("one warning per change").isEqualTo(1);

    // Deleting the file revokes every token (keeping them would keep a revoked one alive).
    Files.delete(file);
    eventually(() -> tokens.authenticate(first).isEmpty(), "the deletion revokes the tokens");
    assertThat(tokens.authenticate(second)).isEmpty();

    // Fixed again: the edit applies.
    String third = TokenFile.create(file, Role.WORKER);
    eventually(() -> tokens.authenticate(third).isPresent(), "the fixed file is loaded");
    assertThat(tokens.authenticate(first)).isEmpty();
  }

  @Test
  void authenticationIsSafeWhileTokensAreAppended() throws Exception {
    Path file = dir.resolve("tokens");
    List<String> initial = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      initial.add(TokenFile.create(file, Role.values()[i % 3]));
    }
    TokenFile tokens = TokenFile.open(file);
    List<String> appended = new CopyOnWriteArrayList<>();
    ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<String> refused = new ConcurrentLinkedQueue<>();
    AtomicBoolean appending = new AtomicBoolean(true);
    CountDownLatch ready = new CountDownLatch(9);

    List<Thread> readers = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      readers.add(Thread.ofPlatform().start(() -> {
        try {
          ready.countDown();
          ready.await();
          while (appending.get()) {
            for (String token : initial) {
              if (tokens.authenticate(token).isEmpty()) {
                refused.add(TokenFile.idOf(token));
              }
            }
          }
        } catch (Throwable e) {
          failures.add(e);
        }
      }));
    }
    Thread appender = Thread.ofPlatform().start(() -> {
      try {
        ready.countDown();
        ready.await();
        for (int i = 0; i < 50; i++) {
          appended.add(TokenFile.create(file, Role.READER));
          Thread.onSpinWait();
        }
      } catch (Throwable e) {
        failures.add(e);
      } finally {
        appending.set(false);
      }
    });
    appender.join();
    for (Thread reader : readers) {
      reader.join();
    }

    assertThat(failures).isEmpty();
    assertThat(refused).as("valid tokens refused").isEmpty();
    assertThat(appended).hasSize(50);
    eventually(() -> appended.stream().allMatch(t -> tokens.authenticate(t).isPresent()), "every appended token is accepted");
  }

  private static void removeLineOf(Path file, String token) throws Exception {
    String id = TokenFile.idOf(token);
    List<String> lines = new ArrayList<>(Files.readAllLines(file));
    assertThat(lines.removeIf(l -> l.contains(" " + id + " "))).isTrue();
    Files.write(file, lines);
  }

  /** Polls {@code condition} for a few seconds; no fixed sleep stands for the outcome. */
  private static void eventually(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as("within %s: %s", PATIENCE, what).isNegative();
      Thread.onSpinWait();
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
