package io.raftoral.bench;

import io.raftoral.workflow.WorkflowDefinition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The soak's workflow, {@code soak_steps} v1: n compute steps; each execution of a step first
 * appends "id step nonce" to a log file shared by every node process, then sleeps, and the
 * committed value is that nonce. The soak, and the suite's process tests, read the
 * log to tell which execution of a step was committed and how often each step ran. Node
 * processes started with this module's classpath register it through {@link BenchWorkflows}.
 */
public final class SoakSteps {
  private SoakSteps() {}

  /** The workflow's input: {@code steps} steps of {@code stepMillis} each, appending to the file {@code log}. */
  public record Input(int steps, long stepMillis, String log) {}

  public static final WorkflowDefinition<Input, String> DEFINITION = WorkflowDefinition.of("soak_steps", 1, Input.class, String.class,
      (ctx, in) -> {
        List<String> committed = new ArrayList<>();
        for (int i = 1; i <= in.steps(); i++) {
          int step = i;
          committed.add(ctx.checkpointCompute("s" + step, String.class, () -> {
            // The side effect first: an owner killed during the sleep leaves its line, and the
            // new owner's execution of the step adds another.
            String nonce = ProcessHandle.current().pid() + "-" + System.nanoTime();
            append(Path.of(in.log()), ctx.workflowId() + " " + step + " " + nonce + "\n");
            Thread.sleep(in.stepMillis());
            return nonce;
          }));
        }
        return String.join(",", committed);
      });

  private static final Object IN_THIS_PROCESS = new Object();

  /** One whole line per call across processes (a file lock) and threads (a JVM refuses overlapping locks of its own). */
  private static void append(Path log, String line) {
    synchronized (IN_THIS_PROCESS) {
      try (FileChannel ch = FileChannel.open(log, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
          var lock = ch.lock()) {
        ch.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)));
        ch.force(false);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
