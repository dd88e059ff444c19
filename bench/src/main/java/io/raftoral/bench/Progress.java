package io.raftoral.bench;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The progress of one row on a terminal: a line on stderr, rewritten every second (warm-up or
 * measuring, seconds gone of the phase, workflows ended, their rate, errors) and erased when the
 * row ends. Nothing is printed when stderr is not a terminal (a file, a pipe, CI).
 */
final class Progress implements AutoCloseable {
  private final Thread painter;
  private final PrintStream out;

  private Progress(Thread painter, PrintStream out) {
    this.painter = painter;
    this.out = out;
  }

  /** Paints until closed; {@code ended} and {@code errors} count workflows since the row began. */
  static Progress start(String label, long warmupEnd, long end, LongSupplier ended, LongSupplier errors) {
    var console = System.console();
    if (console == null || !console.isTerminal()) {
      return new Progress(null, null);
    }
    PrintStream out = System.err;
    long began = System.nanoTime();
    Thread painter = Thread.ofVirtual().name("bench-progress").start(() -> {
      long lastEnded = 0;
      long lastAt = began;
      while (!Thread.currentThread().isInterrupted()) {
        try {
          Thread.sleep(1000);
        } catch (InterruptedException e) {
          return;
        }
        long now = System.nanoTime();
        long n = ended.getAsLong();
        out.print("\r" + line(label, now, began, warmupEnd, end, n, (n - lastEnded) / ((now - lastAt) / 1e9), errors.getAsLong())
            + "\u001b[K");
        out.flush();
        lastEnded = n;
        lastAt = now;
      }
    });
    return new Progress(painter, out);
  }

  /** The line for the moment {@code now}: which phase, its seconds, workflows ended, their recent rate, errors. */
  static String line(String label, long now, long began, long warmupEnd, long end, long ended, double perSecond, long errors) {
    boolean warming = now < warmupEnd;
    long phaseStart = warming ? began : warmupEnd;
    long phaseEnd = warming ? warmupEnd : end;
    return String.format(Locale.ROOT, "%s %s %d/%d s: %,d workflows ended, %,.0f/s, %d errors", label,
        warming ? "warm-up" : "measuring", Math.min((now - phaseStart) / 1_000_000_000L, (phaseEnd - phaseStart) / 1_000_000_000L),
        (phaseEnd - phaseStart) / 1_000_000_000L, ended, perSecond, errors);
  }

  @Override
  public void close() {
    if (painter != null) {
      painter.interrupt();
      try {
        painter.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      out.print("\r\u001b[K"); // erase the line: the row's report follows
      out.flush();
    }
  }
}
