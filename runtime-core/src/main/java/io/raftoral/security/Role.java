package io.raftoral.security;

import io.raftoral.common.Errors;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What a caller may do, carried by a bearer token or a client certificate's OU. Workers are a
 * separate kind of caller, not a level: a worker's credential must not read or operate the
 * cluster, and an operator's must not pose as a worker.
 */
public enum Role {
  /** May read: describe, list, history, cluster status. */
  READER,
  /** May read and act: start, terminate, membership changes. */
  OPERATOR,
  /** May only speak the worker protocol. */
  WORKER;

  /** Whether a caller holding this role may do what needs {@code required}. */
  public boolean permits(Role required) {
    return switch (this) {
      case OPERATOR -> required == READER || required == OPERATOR;
      case READER -> required == READER;
      case WORKER -> required == WORKER;
    };
  }

  /** The lower-case name used in token files, certificate subjects and on the command line. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The role named {@code name}, in any case; a user's typo gets the list of valid names. */
  public static Role parse(String name) {
    if (name != null) {
      for (Role role : values()) {
        if (role.wireName().equalsIgnoreCase(name.strip())) {
          return role;
        }
      }
    }
    throw new Errors.InvalidArgumentException("unknown role '" + name + "': expected one of "
        + Arrays.stream(values()).map(Role::wireName).collect(Collectors.joining(", ")));
  }
}
