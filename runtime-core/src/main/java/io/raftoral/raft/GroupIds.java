package io.raftoral.raft;

import java.nio.charset.StandardCharsets;
import java.util.UUID;
import org.apache.ratis.protocol.RaftGroupId;

/**
 * Raft group ids derived from names, so every node computes the same id without asking:
 * {@code raftoral/<cluster>/management} and {@code raftoral/<cluster>/execution/<index>}.
 */
public final class GroupIds {
  private GroupIds() {}

  public static RaftGroupId management(String clusterId) {
    return named(clusterId, "management");
  }

  public static RaftGroupId execution(String clusterId, int index) {
    return named(clusterId, "execution/" + index);
  }

  private static RaftGroupId named(String clusterId, String name) {
    return RaftGroupId.valueOf(UUID.nameUUIDFromBytes(("raftoral/" + clusterId + "/" + name).getBytes(StandardCharsets.UTF_8)));
  }
}
