package io.raftoral.bench;

import io.raftoral.workflow.WorkflowDefinition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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

  /** What {@link #check} found: the problems (none when every check passed) and the steps re-run in all. */
  public record Check(List<String> problems, long reruns) {}

  /** A {@code soak_steps} result (the JSON string "nonce1,nonce2,...") as its committed values in step order. */
  public static List<String> committedValues(byte[] result) {
    return List.of(new String(result, StandardCharsets.UTF_8).replace("\"", "").split(","));
  }

  /**
   * The soak's checks on its completed workflows, against the executions {@code log} records:
   * each committed {@code steps} values, each produced by one of that step's executions, and
   * re-ran no more steps than there were kills during its run (a committed step never runs again).
   *
   * @param committed each workflow's {@link #committedValues}
   * @param killsDuringRun each workflow's count of kills between its start and its end
   */
  public static Check check(Map<String, List<String>> committed, Map<String, Long> killsDuringRun, int steps, Path log)
      throws IOException {
    Map<String, List<String>> executions = new HashMap<>(); // "id step" -> nonces in log order
    for (String line : Files.readAllLines(log)) {
      String[] f = line.split(" ");
      executions.computeIfAbsent(f[0] + " " + f[1], k -> new ArrayList<>()).add(f[2]);
    }
    List<String> problems = new ArrayList<>();
    long reruns = 0;
    for (var e : committed.entrySet()) {
      String id = e.getKey();
      if (e.getValue().size() != steps) {
        problems.add(id + " committed " + e.getValue().size() + " steps, not " + steps);
        continue;
      }
      long workflowReruns = 0;
      for (int step = 1; step <= steps; step++) {
        List<String> ran = executions.getOrDefault(id + " " + step, List.of());
        if (!ran.contains(e.getValue().get(step - 1))) {
          problems.add(id + " step " + step + ": committed value " + e.getValue().get(step - 1) + " came from no execution " + ran);
        }
        workflowReruns += Math.max(0, ran.size() - 1);
      }
      if (workflowReruns > killsDuringRun.get(id)) {
        problems.add(id + " re-ran " + workflowReruns + " steps with " + killsDuringRun.get(id) + " kills during its run");
      }
      reruns += workflowReruns;
    }
    return new Check(List.copyOf(problems), reruns);
  }

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
