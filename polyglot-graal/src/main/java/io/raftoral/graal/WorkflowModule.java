package io.raftoral.graal;

import java.nio.file.Path;
import org.graalvm.polyglot.Source;

/**
 * One workflow module file: its path, its language ({@code "js"} or {@code "python"}) and its
 * source, parsed once and shared by the contexts of the engine.
 */
record WorkflowModule(Path file, String language, Source source) {
  static String languageOf(Path file) {
    String name = file.getFileName() == null ? "" : file.getFileName().toString();
    if (name.endsWith(".mjs") || name.endsWith(".js")) {
      return "js";
    }
    if (name.endsWith(".py")) {
      return "python";
    }
    return null;
  }
}
