package io.raftoral.common;

/** A workflow's status only moves forward from {@code RUNNING} to exactly one final status. */
public enum WorkflowStatus {
  RUNNING,
  COMPLETED,
  FAILED,
  TERMINATED;

  public boolean isFinal() {
    return this != RUNNING;
  }
}
