package io.raftoral.conformance;

import io.raftoral.common.RaftoralException;

/**
 * The canonical error names of the suite: the C ABI's status names without their prefix
 * ({@code RAFTORAL_ERR_NOT_FOUND} is {@code NOT_FOUND}). Every entry point maps the errors of
 * its surface onto them; this is the Java surface's map.
 */
public final class Canonical {
  private Canonical() {}

  /** The canonical name of a Java API exception: its code's name. */
  public static String code(RaftoralException e) {
    return e.code().name();
  }
}
