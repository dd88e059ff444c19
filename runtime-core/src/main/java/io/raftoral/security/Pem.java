package io.raftoral.security;

import io.raftoral.common.Errors;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/** Reads and writes the PEM files of certificates and PKCS#8 keys; keys are written owner-only. */
final class Pem {
  private Pem() {}

  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

  static void writeCertificate(X509Certificate certificate, Path file) {
    try {
      write(file, block("CERTIFICATE", certificate.getEncoded()), false);
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException("a certificate we hold cannot be encoded", e);
    }
  }

  /** PKCS#8 ({@code BEGIN PRIVATE KEY}), the form Netty and most TLS stacks read. */
  static void writeKey(PrivateKey key, Path file) {
    write(file, block("PRIVATE KEY", key.getEncoded()), true);
  }

  static X509Certificate readCertificate(Path file) {
    if (!(readObject(file) instanceof X509CertificateHolder holder)) {
      throw new Errors.InvalidArgumentException(file + " holds no PEM certificate");
    }
    try {
      return new JcaX509CertificateConverter().getCertificate(holder);
    } catch (CertificateException e) {
      throw new Errors.InvalidArgumentException(file + " holds an unreadable certificate: " + e.getMessage());
    }
  }

  /** A PKCS#8 key or an OpenSSL "EC PRIVATE KEY". */
  static PrivateKey readKey(Path file) {
    Object object = readObject(file);
    try {
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      return switch (object) {
        case PrivateKeyInfo info -> converter.getPrivateKey(info);
        case PEMKeyPair pair -> converter.getKeyPair(pair).getPrivate();
        case null, default -> throw new Errors.InvalidArgumentException(file + " holds no unencrypted PEM private key");
      };
    } catch (IOException e) {
      throw new Errors.InvalidArgumentException(file + " holds an unreadable private key: " + e.getMessage());
    }
  }

  private static Object readObject(Path file) {
    try (Reader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser parser = new PEMParser(reader)) {
      return parser.readObject();
    } catch (NoSuchFileException e) {
      throw new Errors.InvalidArgumentException("no such file: " + file);
    } catch (IOException | RuntimeException e) {
      throw new Errors.InvalidArgumentException("cannot read " + file + ": " + e.getMessage());
    }
  }

  private static String block(String type, byte[] der) {
    String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
  }

  private static void write(Path file, String text, boolean ownerOnly) {
    try {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      boolean posix = file.getFileSystem().supportedFileAttributeViews().contains("posix");
      FileAttribute<?>[] attributes = ownerOnly && posix
          ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)} : new FileAttribute<?>[0];
      try (var channel = Files.newByteChannel(file, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING), attributes); Writer writer = Channels.newWriter(channel, StandardCharsets.US_ASCII)) {
        if (ownerOnly && posix) {
          Files.setPosixFilePermissions(file, OWNER_ONLY); // an existing file keeps its mode when opened
        }
        writer.write(text);
      }
    } catch (IOException e) {
      throw new Errors.InvalidArgumentException("cannot write " + file + ": " + e);
    }
  }
}
