package io.raftoral.examples;

import io.raftoral.workflow.WorkflowContext;
import io.raftoral.workflow.WorkflowDefinition;
import java.time.Duration;
import java.time.Instant;

/**
 * A reminder: sleeps durably until it is due, then sends it once (here the "sending" is the
 * compute step's value). While it sleeps it holds no thread on any node, and a node that
 * crashes or restarts meanwhile does not move the time it is sent.
 * {@code raftoral start reminder --version 1 --input '{"to":"ann","text":"stand-up","afterSeconds":30}' --wait}.
 */
public final class Reminder {
  private Reminder() {}

  public record Request(String to, String text, long afterSeconds) {}

  /** What was sent, and when it was due. */
  public record Sent(String to, String text, Instant due, Instant sentAt) {}

  public static final WorkflowDefinition<Request, Sent> DEFINITION =
      WorkflowDefinition.of("reminder", 1, Request.class, Sent.class, Reminder::run);

  static Sent run(WorkflowContext ctx, Request r) {
    if (r == null || r.to() == null || r.text() == null || r.afterSeconds() < 0) {
      throw new IllegalArgumentException("a reminder needs to, text and afterSeconds >= 0, got " + r);
    }
    // The due time is decided once, by the owner, and committed: every replay reads it back.
    Instant due = Instant.ofEpochMilli(ctx.checkpointCompute("due", Long.class,
        () -> System.currentTimeMillis() + Duration.ofSeconds(r.afterSeconds()).toMillis()));
    ctx.sleepUntil(due);
    return ctx.checkpointCompute("sent", Sent.class, () -> new Sent(r.to(), r.text(), due, Instant.now()));
  }
}
