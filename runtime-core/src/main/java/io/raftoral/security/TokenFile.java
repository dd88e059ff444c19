package io.raftoral.security;

import io.raftoral.common.Errors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bearer tokens, each with a {@link Role}, kept in a file an operator can edit: one token a line,
 * {@code <role> <id> <salt> <sha256(salt||secret)>} (salt and hash base64url); blank lines and
 * {@code #} comments are ignored. The file never holds a secret, so reading it does not let one
 * call the cluster.
 *
 * <p>A token is {@code rft_<id>_<secret>}: the id (8 hex digits) is public and names the token in
 * logs; the secret is 32 random bytes in base64url. One salted SHA-256 is enough, not a slow
 * password hash: a 256-bit random secret cannot be guessed, however fast each guess is.
 *
 * <p>{@link #authenticate} picks up edits without a restart (a token added, a line removed to
 * revoke one), looking at the file at most every 100 ms. An edit that leaves the file malformed or
 * missing is refused with one warning, and the tokens loaded before stay. Thread-safe.
 */
public final class TokenFile {
  private static final Logger log = LoggerFactory.getLogger(TokenFile.class);
  private static final Pattern TOKEN = Pattern.compile("rft_([0-9a-f]{8})_([A-Za-z0-9_-]{43})");
  private static final long CHECK_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();
  /** Serialises this process's {@link #create} calls; a file lock serialises processes. */
  private static final ReentrantLock CREATE_LOCK = new ReentrantLock();

  /** Who presented a valid token: its public id (for logs) and its role. */
  public record Authenticated(String tokenId, Role role) {}

  /**
   * The tokens read from one version of the file.
   *
   * @param readAtMillis when it was read: a file modified within {@link #RACY_MILLIS} of that may
   *     have changed again in the same timestamp tick, so its content is compared until it is older
   * @param content what was read, to compare
   */
  private record Loaded(FileStamp stamp, Map<String, TokenLine> byId, long readAtMillis, String content) {}

  /** Wider than any file system's timestamp resolution (ext4: 1-4 ms; FAT: 2 s). */
  private static final long RACY_MILLIS = 2500;

  private final Path file;
  private volatile Loaded loaded;
  /** The stamp of the last version refused, so that one bad edit warns once. */
  private FileStamp refused;
  private int refusedChanges;
  private final AtomicLong nextCheck;
  private final ReentrantLock reloadLock = new ReentrantLock();

  private TokenFile(Path file, Loaded loaded) {
    this.file = file;
    this.loaded = loaded;
    this.nextCheck = new AtomicLong(System.nanoTime() + CHECK_INTERVAL_NANOS);
  }

  /** Reads {@code file}; a missing, unreadable or malformed one is refused, naming the file and line. */
  public static TokenFile open(Path file) {
    FileStamp stamp = FileStamp.of(file);
    long readAt = System.currentTimeMillis();
    String content = read(file);
    return new TokenFile(file, new Loaded(stamp, parse(file, content), readAt, content));
  }

  /**
   * The caller a token stands for, or empty for anything else (malformed, unknown id, wrong
   * secret, null). Picks up a changed file first.
   */
  public Optional<Authenticated> authenticate(String token) {
    if (token == null) {
      return Optional.empty();
    }
    Matcher parts = TOKEN.matcher(token);
    if (!parts.matches()) {
      return Optional.empty();
    }
    reloadIfChanged();
    TokenLine line = loaded.byId().get(parts.group(1));
    if (line == null || !line.matches(parts.group(2))) {
      return Optional.empty();
    }
    return Optional.of(new Authenticated(line.id(), line.role()));
  }

  /** The public id of a token, for logs, or "malformed" for what is not a token. Never the secret. */
  public static String idOf(String token) {
    if (token == null) {
      return "malformed";
    }
    Matcher parts = TOKEN.matcher(token);
    return parts.matches() ? parts.group(1) : "malformed";
  }

  /**
   * Generates a token with {@code role}, appends its line to {@code file} (created rw------- with
   * its directories if missing) and returns the token: it is stored nowhere else, so the caller
   * shows it once.
   */
  public static String create(Path file, Role role) {
    CREATE_LOCK.lock();
    try {
      createFile(file);
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
           FileLock ignored = channel.lock()) {
        String content = readAll(channel);
        Map<String, TokenLine> existing = parse(file, content);
        String id;
        do {
          id = HexFormat.of().toHexDigits(RANDOM.nextInt());
        } while (existing.containsKey(id));
        byte[] secretBytes = new byte[32];
        RANDOM.nextBytes(secretBytes);
        String secret = BASE64URL.encodeToString(secretBytes);
        byte[] salt = new byte[TokenLine.SALT_BYTES];
        RANDOM.nextBytes(salt);
        String separator = content.isEmpty() || content.endsWith("\n") ? "" : "\n";
        String line = separator + TokenLine.of(role, id, salt, secret).format() + "\n";
        ByteBuffer bytes = ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII));
        channel.position(channel.size());
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
        return "rft_" + id + "_" + secret;
      }
    } catch (IOException e) {
      throw new Errors.InvalidArgumentException("cannot write token file " + file + ": " + e);
    } finally {
      CREATE_LOCK.unlock();
    }
  }

  /** How many changed versions of the file were refused (each warned once); for tests. */
  int refusedChanges() {
    reloadLock.lock();
    try {
      return refusedChanges;
    } finally {
      reloadLock.unlock();
    }
  }

  /** Reloads the file if it changed; one caller looks per interval, the others go on with what is loaded. */
  private void reloadIfChanged() {
    long now = System.nanoTime();
    long due = nextCheck.get();
    if (now - due < 0 || !nextCheck.compareAndSet(due, now + CHECK_INTERVAL_NANOS) || !reloadLock.tryLock()) {
      return;
    }
    try {
      FileStamp stamp = FileStamp.of(file);
      if (stamp == FileStamp.MISSING) {
        if (loaded.stamp() != FileStamp.MISSING) {
          // Deleting the file revokes its tokens: keeping them would keep a revoked token alive.
          log.error("token file {} is missing: every token is refused until it is back", file);
          loaded = new Loaded(FileStamp.MISSING, Map.of(), System.currentTimeMillis(), "");
          refused = null;
        }
        return;
      }
      if ((stamp.equals(loaded.stamp()) && !racy(loaded)) || stamp.equals(refused)) {
        return;
      }
      try {
        long readAt = System.currentTimeMillis();
        String content = read(file);
        if (stamp.equals(loaded.stamp()) && content.equals(loaded.content())) {
          loaded = new Loaded(stamp, loaded.byId(), readAt, content); // unchanged; no longer racy once old enough
          return;
        }
        Loaded fresh = new Loaded(stamp, parse(file, content), readAt, content);
        loaded = fresh;
        refused = null;
        log.info("reloaded token file {}: {} tokens", file, fresh.byId().size());
      } catch (Errors.InvalidArgumentException e) {
        refused = stamp;
        refusedChanges++;
        log.warn("{}; keeping the {} tokens loaded before", e.getMessage(), loaded.byId().size());
      }
    } finally {
      reloadLock.unlock();
    }
  }

  /** Whether the loaded version was read so soon after its last modification that another could hide behind the same stamp. */
  private static boolean racy(Loaded version) {
    FileTime modified = version.stamp().lastModified();
    return modified == null || version.readAtMillis() - modified.toMillis() < RACY_MILLIS;
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new Errors.InvalidArgumentException("token file " + file + " does not exist");
    } catch (IOException | RuntimeException e) {
      throw new Errors.InvalidArgumentException("cannot read token file " + file + ": " + e);
    }
  }

  /** The tokens of {@code content}, by id; a bad line is refused naming the file and its number. */
  private static Map<String, TokenLine> parse(Path file, String content) {
    Map<String, TokenLine> byId = new LinkedHashMap<>();
    // An editor's byte order mark is no part of the first line.
    String[] lines = (content.startsWith("\uFEFF") ? content.substring(1) : content).split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      try {
        TokenLine token = TokenLine.parse(line);
        if (byId.putIfAbsent(token.id(), token) != null) {
          throw new IllegalArgumentException("id " + token.id() + " appears twice");
        }
      } catch (IllegalArgumentException e) {
        throw new Errors.InvalidArgumentException("token file " + file + " line " + (i + 1) + ": " + e.getMessage());
      }
    }
    return byId;
  }

  private static void createFile(Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    try {
      if (file.getFileSystem().supportedFileAttributeViews().contains("posix")) {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } else {
        Files.createFile(file);
      }
    } catch (FileAlreadyExistsException e) {
      // appended to below
    }
  }

  private static String readAll(FileChannel channel) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(Math.toIntExact(channel.size()));
    while (buffer.hasRemaining() && channel.read(buffer, buffer.position()) >= 0) {
      // read(dst, position) does not move the channel; loop until full
    }
    return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
  }

  /**
   * One line of a token file: {@code <role> <id> <salt> <sha256(salt||secret)>}, salt and hash in
   * base64url. It holds no secret, only what checks one.
   */
  private record TokenLine(Role role, String id, byte[] salt, byte[] hash) {
    static final Pattern ID = Pattern.compile("[0-9a-f]{8}");
    static final int SALT_BYTES = 16;
    private static final int HASH_BYTES = 32;
    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

    /** The line for a new token whose secret is {@code secret} (the token's last part). */
    static TokenLine of(Role role, String id, byte[] salt, String secret) {
      return new TokenLine(role, id, salt.clone(), hash(salt, secret));
    }

    /** Whether {@code secret} is this token's, in constant time. */
    boolean matches(String secret) {
      return MessageDigest.isEqual(hash, hash(salt, secret));
    }

    String format() {
      return role.wireName() + " " + id + " " + ENCODER.encodeToString(salt) + " " + ENCODER.encodeToString(hash);
    }

    /**
     * Parses one non-blank, non-comment line; the exception's message says what is wrong without
     * quoting the line.
     */
    static TokenLine parse(String line) {
      String[] fields = line.strip().split("\\s+");
      if (fields.length != 4) {
        throw new IllegalArgumentException("expected 4 fields (role id salt hash), found " + fields.length);
      }
      Role role;
      try {
        role = Role.parse(fields[0]);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(e.getMessage());
      }
      if (!ID.matcher(fields[1]).matches()) {
        throw new IllegalArgumentException("the id must be 8 lower-case hex digits");
      }
      byte[] salt = decode(fields[2], "salt");
      if (salt.length == 0) {
        throw new IllegalArgumentException("the salt is empty");
      }
      byte[] hash = decode(fields[3], "hash");
      if (hash.length != HASH_BYTES) {
        throw new IllegalArgumentException("the hash must be " + HASH_BYTES + " bytes, found " + hash.length);
      }
      return new TokenLine(role, fields[1], salt, hash);
    }

    private static byte[] decode(String field, String name) {
      try {
        return DECODER.decode(field);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("the " + name + " is not base64url");
      }
    }

    /** SHA-256 of the salt then the secret's ASCII characters (hashing the text, so each token has one spelling). */
    private static byte[] hash(byte[] salt, String secret) {
      try {
        MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
        sha256.update(salt);
        return sha256.digest(secret.getBytes(StandardCharsets.US_ASCII));
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("every JDK has SHA-256", e);
      }
    }
  }

  /**
   * What tells that a file changed without reading it: its modification time, size and file key
   * (the inode, which a rename over it changes). {@link #MISSING} stands for a file that is gone.
   */
  /** What says a file changed: its times (the change time too: a tool may set the modification time back), size and identity. */
  private record FileStamp(FileTime lastModified, Object changed, long size, Object fileKey) {
    static final FileStamp MISSING = new FileStamp(null, null, -1, null);

    static FileStamp of(Path file) {
      try {
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
        return new FileStamp(attributes.lastModifiedTime(), changeTime(file), attributes.size(), attributes.fileKey());
      } catch (IOException e) {
        return MISSING;
      }
    }

    private static Object changeTime(Path file) {
      try {
        return Files.getAttribute(file, "unix:ctime");
      } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
        return null; // not a POSIX file system: the other fields and the racy check remain
      }
    }
  }
}
