package io.raftoral.runtime;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.raftoral.state.WorkflowEntry;

/**
 * The spans of one workflow run on this node while it acts as owner: the run's span ({@code
 * workflow TYPE}), started at the first step this node takes as owner, and a child span per
 * checkpoint or compute step it decides ({@code checkpoint KEY}, {@code compute KEY}), from the
 * decision until the proposal commits. A replica that only replays committed values makes no
 * span; after a failover the new owner's run makes its own run span in the same trace. Used under
 * the run's call lock.
 */
final class RunTrace {
  static final AttributeKey<String> WORKFLOW_ID = AttributeKey.stringKey("raftoral.workflow.id");
  static final AttributeKey<String> WORKFLOW_TYPE = AttributeKey.stringKey("raftoral.workflow.type");
  static final AttributeKey<Long> WORKFLOW_VERSION = AttributeKey.longKey("raftoral.workflow.version");
  static final AttributeKey<Long> NODE = AttributeKey.longKey("raftoral.node");
  static final AttributeKey<String> KEY = AttributeKey.stringKey("raftoral.checkpoint.key");
  static final AttributeKey<Long> SEQ = AttributeKey.longKey("raftoral.checkpoint.seq");
  static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("raftoral.run.outcome");

  private final Tracer tracer;
  private final Context parent;
  private final Attributes identity;
  private final String name;
  private Span run;

  RunTrace(Tracer tracer, Context parent, WorkflowEntry entry, long node) {
    this.tracer = tracer;
    this.parent = parent;
    this.identity = Attributes.of(WORKFLOW_ID, entry.workflowId(), WORKFLOW_TYPE, entry.type(), WORKFLOW_VERSION,
        (long) entry.version(), NODE, node);
    this.name = "workflow " + entry.type();
  }

  /** The run's span, started now if this is the first step this node takes as owner. */
  private Span run() {
    if (run == null) {
      run = tracer.spanBuilder(name).setParent(parent).setSpanKind(SpanKind.INTERNAL).setAllAttributes(identity).startSpan();
    }
    return run;
  }

  /** A step this node decides as owner: {@code kind} is "checkpoint" or "compute". */
  Span step(String kind, String key, long seq) {
    return tracer.spanBuilder(kind + " " + key).setParent(Context.root().with(run())).setSpanKind(SpanKind.INTERNAL)
        .setAllAttributes(identity).setAttribute(KEY, key).setAttribute(SEQ, seq).startSpan();
  }

  /** The run proposes its end as owner. */
  void ending() {
    run();
  }

  /** The run ended on this node: {@code outcome} says how; {@code error} when the workflow failed. */
  void end(String outcome, Throwable error) {
    if (run == null) {
      return; // never acted as owner here
    }
    run.setAttribute(OUTCOME, outcome);
    if (error != null) {
      run.recordException(error);
      run.setStatus(StatusCode.ERROR, String.valueOf(error.getMessage()));
    }
    run.end();
  }
}
