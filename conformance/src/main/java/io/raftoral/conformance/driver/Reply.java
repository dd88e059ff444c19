package io.raftoral.conformance.driver;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What one client call on a surface returned: a value ({@code ok}) or an error named
 * canonically ({@code code}, e.g. {@code NOT_FOUND}), with its message and, for
 * {@code WORKFLOW_FAILED}, the workflow's error type as {@code detail}.
 */
record Reply(JsonNode ok, String code, String message, String detail) {
  static Reply ok(JsonNode value) {
    return new Reply(value, null, null, null);
  }

  static Reply error(String code, String message, String detail) {
    return new Reply(null, code, message == null ? "" : message, detail);
  }

  boolean isOk() {
    return code == null;
  }

  @Override
  public String toString() {
    return isOk() ? "ok " + ok : code + (detail == null ? "" : " (" + detail + ")") + ": " + message;
  }
}
