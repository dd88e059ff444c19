package io.raftoral.graal;

import java.nio.file.Path;
import org.graalvm.polyglot.Source;

/** One workflow module file: its path and its source, parsed once and shared by the contexts of the engine. */
record JsModule(Path file, Source source) {}
