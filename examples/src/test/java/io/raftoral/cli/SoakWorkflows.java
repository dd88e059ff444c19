package io.raftoral.cli;

import io.raftoral.workflow.WorkflowDefinition;
import io.raftoral.workflow.WorkflowProvider;
import io.raftoral.workflow.WorkflowRegistry;
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
 * Test workflows for node processes (loaded by {@code raftoral node} from the test classpath):
 * {@code soak_steps} runs n compute steps; each execution appends "id step nonce" to a log file
 * shared by all processes, and the committed value is that nonce, so a test can tell which
 * execution of a step was committed and how often each step ran.
 */
public final class SoakWorkflows implements WorkflowProvider {
  /** Input of {@code soak_steps}. */
  public record Input(int steps, long stepMillis, String log) {}

  @Override
  public void register(WorkflowRegistry registry) {
    registry.register(WorkflowDefinition.of("soak_steps", 1, Input.class, String.class, (ctx, in) -> {
      List<String> committed = new ArrayList<>();
      for (int i = 1; i <= in.steps(); i++) {
        int step = i;
        committed.add(ctx.checkpointCompute("s" + step, String.class, () -> {
          // The side effect first, then the work: an owner killed during the work leaves its
          // line, and the new owner's run of the step adds another.
          String nonce = ProcessHandle.current().pid() + "-" + System.nanoTime();
          append(Path.of(in.log()), ctx.workflowId() + " " + step + " " + nonce + "\n");
          Thread.sleep(in.stepMillis());
          return nonce;
        }));
      }
      return String.join(",", committed);
    }));
  }

  private static final Object IN_THIS_PROCESS = new Object();

  /**
   * One line per call, whole, even with several processes appending: a file lock between
   * processes, a monitor within one (a JVM refuses overlapping file locks of its own).
   */
  private static void append(Path log, String line) {
    synchronized (IN_THIS_PROCESS) {
      appendLocked(log, line);
    }
  }

  private static void appendLocked(Path log, String line) {
    try (FileChannel ch = FileChannel.open(log, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        var lock = ch.lock()) {
      ch.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)));
      ch.force(false);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
