package io.raftoral.raft;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Raft group ids derived from names, so every node computes the same id without asking:
 * {@code raftoral/<cluster>/management} and {@code raftoral/<cluster>/execution/<index>}.
 */
public final class GroupIds {
  private GroupIds() {}

  public static GroupId management(String clusterId) {
    return GroupId.of(named(clusterId, "management"));
  }

  public static GroupId execution(String clusterId, int index) {
    return GroupId.of(named(clusterId, "execution/" + index));
  }

  /** The UUID of execution group {@code index}, as the management state records it. */
  public static String executionUuid(String clusterId, int index) {
    return named(clusterId, "execution/" + index).toString();
  }

  private static UUID named(String clusterId, String name) {
    return UUID.nameUUIDFromBytes(("raftoral/" + clusterId + "/" + name).getBytes(StandardCharsets.UTF_8));
  }
}
