package io.raftoral.runtime;

/**
 * Unwinds a local run whose workflow no longer needs it: it ended elsewhere, this node lost
 * ownership of an {@code OWNER_ONLY} workflow, or the node is closing. An {@link Error} so that
 * a workflow's {@code catch (Exception e)} cannot swallow it; stackless because it is control
 * flow, not a fault.
 */
final class WorkflowAbort extends Error {
  static final WorkflowAbort INSTANCE = new WorkflowAbort();

  private WorkflowAbort() {
    super("workflow run aborted", null, false, false);
  }
}
