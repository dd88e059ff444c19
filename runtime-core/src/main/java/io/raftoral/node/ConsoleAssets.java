package io.raftoral.node;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/** The console's static files, served from this jar (resources {@code io/raftoral/console/}): nothing is fetched from elsewhere. */
final class ConsoleAssets {
  static final String PREFIX = "/console/";

  record Asset(String contentType, byte[] bytes) {}

  // Only these names: a request path never reaches the class path otherwise.
  private static final Map<String, String> FILES = Map.of(
      "", "index.html",
      "index.html", "index.html",
      "app.js", "app.js",
      "style.css", "style.css",
      "vendor/htm-preact-standalone.js", "vendor/htm-preact-standalone.js");

  private ConsoleAssets() {}

  /** The file at {@code path} (under {@link #PREFIX}), or null when there is none. */
  static Asset get(String path) {
    String name = FILES.get(path.substring(PREFIX.length()));
    if (name == null) {
      return null;
    }
    try (InputStream in = ConsoleAssets.class.getResourceAsStream("/io/raftoral/console/" + name)) {
      if (in == null) {
        throw new IllegalStateException("the console's " + name + " is missing from the jar");
      }
      return new Asset(contentType(name), in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String contentType(String name) {
    if (name.endsWith(".html")) {
      return "text/html; charset=utf-8";
    } else if (name.endsWith(".js")) {
      return "text/javascript; charset=utf-8";
    }
    return "text/css; charset=utf-8";
  }
}
