package io.raftoral.common;

/** A workflow type: a name and a version. Several versions of one name live side by side. */
public record WorkflowType(String name, int version) {
  public WorkflowType {
    if (name == null || name.isBlank()) {
      throw new Errors.InvalidArgumentException("workflow type name must not be empty");
    }
    Text.requireWellFormed("workflow type name", name);
    if (version < 1) {
      throw new Errors.InvalidArgumentException("workflow version must be >= 1, got " + version);
    }
  }

  @Override
  public String toString() {
    return name + "@v" + version;
  }
}
