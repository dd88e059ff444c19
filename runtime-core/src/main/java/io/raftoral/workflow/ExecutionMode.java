package io.raftoral.workflow;

/** How the members of an execution group run a workflow type (SPEC §3). */
public enum ExecutionMode {
  /**
   * Every member runs the function in parallel; only the owner proposes, the others consume
   * the committed values. A new owner continues from where its own run has got to.
   */
  HOT_STANDBY,
  /**
   * Only the owner runs the function. A new owner runs it again from the start, taking every
   * committed checkpoint from the log without running its side effect again.
   */
  OWNER_ONLY
}
