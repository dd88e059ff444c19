package io.raftoral.graal;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.slf4j.Logger;

/** A context's stdout or stderr ({@code console.log}, {@code console.error}): each line goes to the node's log. */
final class LogStream extends OutputStream {
  private static final int MAX_LINE = 16 * 1024;

  private final Logger log;
  private final boolean error;
  private final Supplier<String> where;
  private final ByteArrayOutputStream line = new ByteArrayOutputStream();

  LogStream(Logger log, boolean error, Supplier<String> where) {
    this.log = log;
    this.error = error;
    this.where = where;
  }

  @Override
  public synchronized void write(int b) {
    if (b == '\n') {
      flushLine();
    } else if (line.size() < MAX_LINE) {
      line.write(b);
    }
  }

  @Override
  public synchronized void write(byte[] b, int off, int len) {
    for (int i = off; i < off + len; i++) {
      write(b[i]);
    }
  }

  @Override
  public synchronized void flush() {
    if (line.size() > 0) {
      flushLine();
    }
  }

  private void flushLine() {
    String text = line.toString(StandardCharsets.UTF_8);
    line.reset();
    if (error) {
      log.warn("{}: {}", where.get(), text);
    } else {
      log.info("{}: {}", where.get(), text);
    }
  }
}
