package io.raftoral.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * One line of a token file: {@code <role> <id> <salt> <sha256(salt||secret)>}, salt and hash in
 * base64url. It holds no secret, only what checks one.
 */
record TokenLine(Role role, String id, byte[] salt, byte[] hash) {
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
