package io.raftoral.cli;

import io.raftoral.client.RaftoralClient;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A client that keeps calling one node until it is stopped, for a test that afterwards compares
 * every answer with what the cluster committed (run inside a node's network namespace, it
 * reaches the node while the node is cut off). It prints one line when a call begins and one
 * when it ends:
 *
 * <pre>
 * BEGIN SEQ BEGAN_MILLIS OPERATION ID
 * END SEQ BEGAN_MILLIS ENDED_MILLIS start ID OK
 * END SEQ BEGAN_MILLIS ENDED_MILLIS describe ID OK STATUS
 * END SEQ BEGAN_MILLIS ENDED_MILLIS await ID OK STATUS RESULT
 * END SEQ BEGAN_MILLIS ENDED_MILLIS OPERATION ID ERR EXCEPTION_CLASS MESSAGE
 * </pre>
 *
 * <p>Arguments: {@code API_ADDRESS START_ID_PREFIX READ_ID...}. Every {@value #EVERY_MILLIS} ms,
 * without waiting for earlier calls, it starts a {@code countdown} with input 1 and id {@code
 * START_ID_PREFIX-SEQ}, and describes and awaits (1 s) each {@code READ_ID}, until its standard
 * input ends; it then waits for the calls in flight. A call's deadline (40 s) is above the node's
 * own request timeout (30 s), so the node's answer, whatever it is, arrives.
 */
public final class ClientProbe {
  static final long EVERY_MILLIS = 500;
  private static final Duration DEADLINE = Duration.ofSeconds(40);
  private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);
  private static final AtomicLong SEQ = new AtomicLong();

  private ClientProbe() {}

  public static void main(String[] args) throws InterruptedException {
    String api = args[0];
    String startPrefix = args[1];
    List<String> reads = List.of(args).subList(2, args.length);
    RaftoralClient client = RaftoralClient.connect(api, DEADLINE);
    AtomicBoolean stop = new AtomicBoolean();
    Thread.ofPlatform().daemon().start(() -> {
      try {
        System.in.transferTo(OutputStream.nullOutputStream());
      } catch (IOException e) {
        // stop all the same
      }
      stop.set(true);
    });
    while (!stop.get()) {
      call("start", null, id -> {
        client.start("countdown", 1, "1".getBytes(StandardCharsets.UTF_8), id);
        return "";
      }, startPrefix);
      for (String read : reads) {
        call("describe", read, id -> client.describe(id).status().name(), null);
        call("await", read, id -> {
          RaftoralClient.Outcome o = client.await(id, Duration.ofSeconds(1));
          return o.info().status() + " " + new String(o.result(), StandardCharsets.UTF_8);
        }, null);
      }
      Thread.sleep(EVERY_MILLIS);
    }
    // The calls in flight run on virtual threads (daemons): the test stops this process once
    // they have all been answered.
    Thread.sleep(Long.MAX_VALUE);
  }

  /** Calls on a thread of its own; {@code id} null: a new id, {@code prefix-SEQ}. */
  private static void call(String operation, String id, Function<String, String> call, String prefix) {
    long seq = SEQ.incrementAndGet();
    String target = id != null ? id : prefix + "-" + seq;
    long began = System.currentTimeMillis();
    OUT.println(String.format(Locale.ROOT, "BEGIN %d %d %s %s", seq, began, operation, target));
    Thread.ofVirtual().start(() -> {
      String outcome;
      try {
        outcome = ("OK " + call.apply(target)).strip();
      } catch (RuntimeException e) {
        outcome = "ERR " + e.getClass().getSimpleName() + " " + String.valueOf(e.getMessage()).replace('\n', ' ');
      }
      OUT.println(String.format(Locale.ROOT, "END %d %d %d %s %s %s", seq, began, System.currentTimeMillis(), operation,
          target, outcome));
    });
  }
}
